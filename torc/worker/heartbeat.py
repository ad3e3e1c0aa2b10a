"""The worker's heartbeat stream: tells the coordinator it lives and what runs, and hears
back which jobs (or whether the whole workflow) were canceled.

The stream is re-opened after any error (a coordinator restart) without delay beyond a
second: a worker silent for three intervals is declared lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import grpc

from torc.proto import torc_pb2 as pb
from torc.worker.connection import Connection

log = logging.getLogger("torc.worker")


class Heartbeat:
    """One worker's heartbeats."""

    def __init__(self, conn: Connection, worker_id: int, interval: float,
                 running: Callable[[], list[int]],
                 on_cancel: Callable[[list[int], bool], None]) -> None:
        self.conn = conn
        self.worker_id = worker_id
        self.interval = interval
        self._running = running
        self._on_cancel = on_cancel

    async def run(self) -> None:
        """Beat until cancelled."""
        while True:
            try:
                call = self.conn.stub.Heartbeat(self._beats(), metadata=self.conn.metadata)
                async for resp in call:
                    if resp.cancel_job_ids or resp.shutdown:
                        self._on_cancel(list(resp.cancel_job_ids), resp.shutdown)
            except grpc.aio.AioRpcError as e:
                log.debug("heartbeat stream: %s", e.code().name)
            await asyncio.sleep(min(self.interval, 1.0))

    async def _beats(self) -> AsyncIterator[pb.HeartbeatRequest]:
        while True:
            yield pb.HeartbeatRequest(worker_id=self.worker_id, running_job_ids=self._running())
            await asyncio.sleep(self.interval)
