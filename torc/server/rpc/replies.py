"""Helpers every servicer module shares: answering a call with a TorcError (its status code
and message), and paging a listing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import NoReturn, TypeVar

import grpc

from torc.errors import TorcError


async def abort(context: grpc.aio.ServicerContext, e: TorcError) -> NoReturn:
    """End the call with ``e``'s gRPC status and message."""
    await context.abort(getattr(grpc.StatusCode, e.code, grpc.StatusCode.UNKNOWN), e.message)
    raise AssertionError("unreachable")  # context.abort raises


MAX_PAGE = 100_000
T = TypeVar("T")


def paged(items: Sequence[T], offset: int, limit: int) -> Sequence[T]:
    """One page: from ``offset``, at most ``limit`` (0: as many as allowed) and MAX_PAGE."""
    offset = max(offset, 0)
    limit = min(limit, MAX_PAGE) if limit > 0 else MAX_PAGE
    return items[offset:offset + limit]
