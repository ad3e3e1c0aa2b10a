"""The coordinator's heap and CPython's cyclic garbage collector.

A million-job store is several million tracked objects (jobs, their tuples and strings' holders)
that live until their workflow is deleted and never form garbage cycles of their own. The cyclic
collector does not know that: while a big spec is decoded, validated and stored, every 700
allocations start a young-generation pass and, now and then, a pass over everything, so
building a large workflow spends much of its time in the collector (the benchmarks page has
the measurement). Later, one full pass over the store is a long pause in the middle of
serving claims.

So bulk work runs with the collector paused (``bulk()``), and what it built is then moved to
the permanent generation (``gc.freeze()``), which the collector never scans; so is whatever
survives a full collection (``install()``). Objects there are
still freed by reference counting the moment nothing refers to them; only a garbage *cycle*
among them would wait, so a deleted workflow returns them to the collector
(``released()``), where the next full pass finds any.
"""

from __future__ import annotations

import ctypes
import gc
from collections.abc import Iterator
from contextlib import contextmanager


def _glibc() -> ctypes.CDLL | None:
    try:
        # The symbols this process already has, libc's among them: ctypes.util.find_library
        # would run ``ldconfig -p`` in a child process at every start.
        libc = ctypes.CDLL(None)
        libc.malloc_trim  # noqa: B018  (glibc only: musl and others have no malloc_trim)
        return libc
    except (OSError, AttributeError):
        return None


_libc = _glibc()

_depth = 0  # bulk() nests (two creates may interleave at their awaits)
# Frozen only after this many objects were built: a small create leaves its few objects (and
# any cycle an error made, such as a traceback) to the collector, as usual.
FREEZE_AFTER = 100_000


@contextmanager
def bulk() -> Iterator[None]:
    """Pause the cyclic collector for a bulk build; when the last one ends, freeze what was
    built if it was big. Reference counting, which frees almost everything, is not affected."""
    global _depth
    if _depth == 0:
        gc.disable()
    _depth += 1
    try:
        yield
    finally:
        _depth -= 1
        if _depth == 0:
            # While paused, the young generation's count is the objects built since.
            if gc.get_count()[0] >= FREEZE_AFTER:
                gc.freeze()
                _trim()
            gc.enable()


def _trim() -> None:
    """Give memory freed by the build (the request, the parsed spec: several times the size of
    what is kept) back to the system: glibc keeps freed blocks in its heap otherwise, and the
    coordinator's resident size would stay at the build's high-water mark."""
    if _libc is not None:
        _libc.malloc_trim(0)


def install() -> None:
    """Freeze whatever survives each full collection, for the coordinator's whole life.

    State that only grows (a result per job run: a million named tuples, which the collector
    never stops tracking) would otherwise be scanned again by every full collection: under
    load those pauses grow with the results and become the claim p99 (see the benchmarks
    page). Right after a full collection, every generation is empty but the oldest, and
    all it holds is reachable, so freezing it holds back no garbage; the next full collection
    scans only what is newer. What is in flight then (a request being served) is frozen too:
    should part of it later become a garbage *cycle* (most of it is freed by reference
    counting), that cycle waits for the next ``released()``, a workflow's deletion.
    """
    if _after_full not in gc.callbacks:
        gc.callbacks.append(_after_full)


def _after_full(phase: str, info: dict) -> None:
    if phase == "stop" and info["generation"] == 2:
        gc.freeze()


def released() -> None:
    """A workflow was deleted: hand frozen objects back to the collector, so any cycle among
    what the workflow held is found by its next full pass instead of living on."""
    gc.unfreeze()
