"""The worker's gRPC connection: async calls that ride out a coordinator restart.

Calls that fail with UNAVAILABLE (coordinator down or restarting) are retried with exponential
backoff. That is safe because the coordinator treats a re-sent report as already applied.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from typing import Any

import grpc

from torc import auth
from torc.config import MAX_MESSAGE_BYTES
from torc.errors import TorcError
from torc.proto import torc_pb2_grpc as pb_grpc

log = logging.getLogger(__name__)

_RETRYABLE = {grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
              grpc.StatusCode.CANCELLED}


class CallFailed(TorcError):
    """A call that failed for good: the coordinator refused it, or it stayed unreachable
    (UNAVAILABLE and the like) for longer than ``give_up_after``."""


class Connection:
    """Async stub with retries."""

    def __init__(self, url: str, give_up_after: float = 600.0) -> None:
        self.url = url
        self.give_up_after = give_up_after
        self.channel = auth.aio_channel(url, [
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 2000),
        ])
        self.stub = pb_grpc.TorcStub(self.channel)
        self.metadata = auth.metadata(auth.client_token())

    async def call(self, method: str, request: Any, timeout: float = 30.0) -> Any:
        """Invoke ``method``; retry transient failures for up to ``give_up_after`` seconds."""
        start = time.monotonic()
        delay = 0.05
        while True:
            try:
                return await getattr(self.stub, method)(request, timeout=timeout,
                                                        metadata=self.metadata)
            except grpc.aio.AioRpcError as e:
                # give_up_after is read on every retry: a worker that is stopping shortens it.
                if e.code() not in _RETRYABLE or time.monotonic() - start > self.give_up_after:
                    raise CallFailed(f"{method}: {e.details()}", e.code().name) from None
                log.info("%s: %s; retrying in %.2fs", method, e.code().name, delay)
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, 2.0)

    async def close(self) -> None:
        """Close the channel."""
        await self.channel.close()
