"""The heartbeat stream of the gRPC service: a worker's beats keep it alive, and each answer
says which of its jobs (or whether the whole workflow) were canceled. A deletion or a cancel
between beats is said at once, so a busy worker stops its jobs now rather than at its next
beat, which may be minutes away."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from torc import states as S
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb
from torc.server.rpc.replies import abort
from torc.server.rpc.service_core import ServiceCore
from torc.server.state.records import Worker


class HeartbeatRpcs:
    """``Heartbeat``: workers' liveness, and cancellations told back."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store = core.store

    async def Heartbeat(self, request_iterator: AsyncIterator[pb.HeartbeatRequest],
                        context: grpc.aio.ServicerContext) -> AsyncIterator[pb.HeartbeatResponse]:
        """Answer each beat with the jobs (or the whole workflow) canceled since; and when the
        workflow is deleted or canceled between beats, say so at once."""
        beats = aiter(request_iterator)
        next_beat: asyncio.Future[Any] | None = None
        stopped: asyncio.Future[bool] | None = None
        running: list[int] = []
        w = None
        try:
            while True:
                if next_beat is None:
                    next_beat = asyncio.ensure_future(anext(beats))
                waiting: set[asyncio.Future[Any]] = {next_beat}
                if w is not None:
                    if stopped is None or stopped.done():
                        stopped = asyncio.get_running_loop().create_future()
                        self.core.stop_waiters.setdefault(w.workflow_id, []).append(stopped)
                    waiting.add(stopped)
                await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
                if next_beat.done():
                    try:
                        hb = next_beat.result()
                    except StopAsyncIteration:
                        return
                    next_beat = None
                    w = self.store.workers.get(hb.worker_id)
                    if w is None or w.lost or not w.active:
                        yield pb.HeartbeatResponse(shutdown=True)
                        return
                    if w.workflow_id in self.store.workflows:
                        try:
                            self.core.writable(context, w.workflow_id)
                        except TorcError as e:
                            await abort(context, e)
                    w.last_heartbeat = time.time()
                    running = list(hb.running_job_ids)
                    answer = self._heartbeat_answer(w, running)
                else:
                    assert w is not None  # a stop is awaited only once a beat named the worker
                    # Said at once: the workflow is gone or canceled, or a job the worker ran
                    # at its last beat was canceled on its own; any other wake waits.
                    answer = self._heartbeat_answer(w, running)
                    if not (answer.shutdown or answer.cancel_job_ids):
                        continue
                yield answer
                if answer.shutdown and w.workflow_id not in self.store.workflows:
                    return
        finally:
            for fut in (next_beat, stopped):
                if fut is None:
                    continue
                if not fut.done():
                    fut.cancel()
                elif not fut.cancelled():
                    fut.exception()  # the stream's end (StopAsyncIteration): seen, not lost
            if w is not None and stopped is not None:
                waiting_stops = self.core.stop_waiters.get(w.workflow_id, [])
                if stopped in waiting_stops:
                    waiting_stops.remove(stopped)

    def _heartbeat_answer(self, w: Worker, running: list[int]) -> pb.HeartbeatResponse:
        wf = self.store.workflows.get(w.workflow_id)
        if wf is None:
            return pb.HeartbeatResponse(shutdown=True)
        cancel = []  # the worker's ids are global; the workflow's own numbers index its jobs
        to_local = wf.ids["jobs"].to_local
        for g in running:
            j = to_local(g)
            if j and (wf.jobs[j - 1].worker_id != w.id or wf.canceled
                      or wf.jobs[j - 1].status in (S.CANCELED, S.TERMINATED)):
                cancel.append(g)
        return pb.HeartbeatResponse(cancel_job_ids=cancel, shutdown=wf.canceled)
