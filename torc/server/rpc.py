"""Answering a gRPC call with a TorcError: its status code and message (one place for every
servicer module)."""

from __future__ import annotations

from typing import NoReturn

import grpc

from torc.errors import TorcError


async def abort(context: grpc.aio.ServicerContext, e: TorcError) -> NoReturn:
    """End the call with ``e``'s gRPC status and message."""
    await context.abort(getattr(grpc.StatusCode, e.code, grpc.StatusCode.UNKNOWN), e.message)
    raise AssertionError("unreachable")  # context.abort raises
