"""Global ids, as Torc's: job, file, user data and result ids are unique across workflows.

Inside the coordinator a workflow keeps its jobs, files and user data densely, numbered from 1
in spec order (``wf.jobs[i - 1]``); the WAL and snapshots hold those local numbers. What a
client or worker sees is global: each workflow owns ranges of global ids, given out by one
counter per kind when the workflow is created (:func:`assign`, inside ``Store.apply``, so
replay gives the same ranges). The first workflow's ranges start at 1, so its global and local
numbers are the same. A workflow may own several ranges of one kind (jobs added after it was
created take the next free range), hence ranges, not one offset.

Results are numbered as they are recorded, from the same kind of counter; each result keeps
its number (``Results``), which only grows within a workflow.

:mod:`torc.server.rpc.global_ids` converts at the service's edge, in both directions.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sized
from typing import Any, Protocol

KINDS = ("jobs", "files", "user_data")


class Counters:
    """The last global id given out, per kind (and for results); one per store, shared by
    its workflows, in snapshots."""

    __slots__ = ("last", "results")

    def __init__(self, last: dict[str, int] | None = None) -> None:
        self.last = {k: 0 for k in KINDS}
        self.last.update({k: v for k, v in (last or {}).items() if k in KINDS})
        self.results = (last or {}).get("results", 0)  # an attribute: taken for every result

    def take(self, kind: str, count: int = 1) -> int:
        """Reserve ``count`` ids of ``kind`` (one of KINDS); returns the first."""
        first = self.last[kind] + 1
        self.last[kind] += count
        return first

    def take_result(self) -> int:
        """The next result's id."""
        self.results += 1
        return self.results

    def to_dict(self) -> dict[str, int]:
        """As snapshots hold them."""
        return {**self.last, "results": self.results}


class IdRanges:
    """The global ids one workflow owns of one kind, as (global_start, local_start, count)
    ranges. Each new range starts after the last (local numbers are appended, and the
    store's counter only grows), so they are in local and in global order at once."""

    __slots__ = ("ranges", "offset")

    def __init__(self, ranges: Any = ()) -> None:
        self.ranges: list[tuple[int, int, int]] = []
        # One range (almost every workflow): a constant offset, no search; None otherwise.
        self.offset: int | None = None
        for g, loc, n in ranges:
            self.add(g, loc, n)

    def add(self, global_start: int, local_start: int, count: int) -> None:
        """Own ``count`` more ids: local ``local_start...`` are ``global_start...``, both
        after every id the workflow owns already."""
        if self.ranges:
            g, loc, n = self.ranges[-1]
            assert global_start >= g + n and local_start == loc + n, "ranges out of order"
        self.ranges.append((global_start, local_start, count))
        self.offset = global_start - local_start if len(self.ranges) == 1 else None

    def to_global(self, local: int) -> int:
        """The global id of a local number the workflow has (the number itself while the
        workflow owns no range: one built alone, outside a store)."""
        if self.offset is not None:
            return local + self.offset
        if not self.ranges:
            return local
        for g, loc, n in self.ranges:
            if loc <= local < loc + n:
                return g + local - loc
        raise KeyError(local)

    def to_local(self, global_id: int) -> int:
        """The local number of a global id, or 0 when the workflow does not own it."""
        if not self.ranges:
            return 0
        if self.offset is not None:
            g, loc, n = self.ranges[0]
            return global_id - self.offset if g <= global_id < g + n else 0
        at = bisect_right(self.ranges, (global_id, float("inf"))) - 1
        if at >= 0:
            g, loc, n = self.ranges[at]
            if global_id < g + n:
                return loc + global_id - g
        return 0

    def to_list(self) -> list[list[int]]:
        """As snapshots hold them."""
        return [list(r) for r in self.ranges]


def fresh() -> dict[str, IdRanges]:
    """A workflow's ranges before it owns any."""
    return {k: IdRanges() for k in KINDS}


class Owner(Protocol):
    """What a workflow shows of itself here (:class:`Workflow` is one)."""

    counters: Counters

    @property
    def jobs(self) -> Sized: ...
    @property
    def extra(self) -> dict[str, Any]: ...
    @property
    def ids(self) -> dict[str, IdRanges]: ...


def sizes(wf: Owner) -> dict[str, int]:
    """How many jobs, files and user data entries a workflow holds."""
    return {"jobs": len(wf.jobs), "files": len(wf.extra.get("files") or ()),
            "user_data": len(wf.extra.get("user_data") or ())}


def assign(counters: Counters, wf: Owner) -> None:
    """Give a workflow global ids for whatever it holds that has none yet (at its creation;
    later for what is added to it)."""
    wf.counters = counters
    for kind, n in sizes(wf).items():
        owned = sum(r[2] for r in wf.ids[kind].ranges)
        if n > owned:
            wf.ids[kind].add(counters.take(kind, n - owned), owned + 1, n - owned)


LOCATABLE = {"job": "jobs", "file": "files", "user_data": "user_data"}


def locate(store: Any, kind: str, global_id: int) -> int:
    """The id of the workflow that owns ``global_id`` of ``kind`` (job, file, user_data,
    result, compute_node), or 0."""
    if kind == "compute_node":
        w = store.workers.get(global_id)
        return w.workflow_id if w is not None and w.workflow_id in store.workflows else 0
    for wf in store.workflows.values():
        if kind == "result":
            if wf.results.find(global_id) is not None:
                return wf.id
        elif wf.ids[LOCATABLE[kind]].to_local(global_id):
            return wf.id
    return 0
