"""Ready queue and claim packing: which ready jobs a worker gets for the resources it offers.

Ready jobs are bucketed by priority, then by (resource requirements, Slurm scheduler). A claim
walks priorities from high to low and, in each, takes jobs from every bucket whose requirements
still fit and whose scheduler is the worker's (or none), so its cost is the number of buckets
plus the number of jobs handed out, whatever the workflow's size.
Entries are removed lazily: a popped id whose job is no longer ready is skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass


@dataclass(slots=True)
class Offer:
    """What a worker has free right now."""

    num_cpus: int
    memory: int
    num_gpus: int
    num_nodes: int = 1
    time_left: float = 0.0  # seconds; 0 means unlimited

    def fits(self, rr: dict) -> bool:
        """True when a job with requirements ``rr`` can start within this offer."""
        return (
            rr["num_cpus"] <= self.num_cpus
            and rr["memory"] <= self.memory
            and rr["num_gpus"] <= self.num_gpus
            and rr["num_nodes"] <= self.num_nodes
            and (self.time_left <= 0 or rr["runtime"] <= self.time_left)
        )

    def take(self, rr: dict) -> None:
        """Subtract a claimed job's consumable resources (nodes and time are not consumed)."""
        self.num_cpus -= rr["num_cpus"]
        self.memory -= rr["memory"]
        self.num_gpus -= rr["num_gpus"]


class ReadyQueue:
    """Ready job ids bucketed by priority and resource requirements, FIFO within a bucket."""

    __slots__ = ("_buckets", "_priorities")

    def __init__(self) -> None:
        self._buckets: dict[int, dict[tuple[int, str | None], deque[int]]] = {}
        self._priorities: list[int] = []  # descending

    def push(self, job_id: int, priority: int, rr: int, scheduler: str | None = None) -> None:
        """Add a job that just became ready."""
        by_rr = self._buckets.get(priority)
        if by_rr is None:
            by_rr = self._buckets[priority] = {}
            self._priorities.append(priority)
            self._priorities.sort(reverse=True)
        key = (rr, scheduler)
        q = by_rr.get(key)
        if q is None:
            q = by_rr[key] = deque()
        q.append(job_id)

    def ids(self) -> set[int]:
        """Every queued id (for invariant checks)."""
        return {i for by_rr in self._buckets.values() for q in by_rr.values() for i in q}

    def clear(self) -> None:
        """Forget every entry (before a rebuild)."""
        self._buckets.clear()
        self._priorities.clear()

    def picker(self, rrs: list[dict], is_ready: Callable[[int], bool],
               sort_key: Callable[[dict], tuple] | None = None,
               scheduler: str = "") -> Picker:
        """A claim decision over the queue as it is now (see :class:`Picker`)."""
        return Picker(self, rrs, is_ready, sort_key, scheduler)

    def prune(self, priority: int, rr: int, scheduler: str | None,
              is_ready: Callable[[int], bool]) -> None:
        """Drop the entries at the head of a bucket that are no longer ready (claimed, started
        as hand-offs): what :meth:`pick` chose from it, once the claim is applied."""
        by_rr = self._buckets.get(priority)
        if by_rr is None:
            return
        key = (rr, scheduler)
        q = by_rr.get(key)
        if q is None:
            return
        while q and not is_ready(q[0]):
            q.popleft()
        if not q:
            del by_rr[key]
            if not by_rr:
                del self._buckets[priority]
                self._priorities.remove(priority)


class Picker:
    """One claim's choice of ready jobs, made without changing the queue: the claim that
    takes them is an event, and applying it removes them (:meth:`ReadyQueue.prune`).

    Each :meth:`take` is one load (the offer is the worker's, reduced as jobs fit); loads of
    one picker never choose a job twice. Within a priority, requirement buckets are taken in
    ``sort_key`` order of their requirements (Torc's jobs_sort_method), else in the order they
    first became ready. A worker started for ``scheduler`` takes only jobs for it or for none
    (Torc's strict_scheduler_match); one without takes any. The queue must not change while a
    picker is in use (it reads the queue's buckets through iterators).
    """

    __slots__ = ("_ready", "_rrs", "_is_ready", "_sort_key", "_scheduler", "_at")

    def __init__(self, ready: ReadyQueue, rrs: list[dict], is_ready: Callable[[int], bool],
                 sort_key: Callable[[dict], tuple] | None, scheduler: str) -> None:
        self._ready, self._rrs, self._is_ready = ready, rrs, is_ready
        self._sort_key, self._scheduler = sort_key, scheduler
        self._at: dict[tuple[int, int, str | None], Iterator[int]] = {}  # where each bucket is

    def take(self, offer: Offer, max_jobs: int) -> list[int]:
        """Up to ``max_jobs`` ready ids that fit ``offer`` (reduced as jobs fit)."""
        out: list[int] = []
        ready, rrs, is_ready, sort_key = self._ready, self._rrs, self._is_ready, self._sort_key
        for priority in ready._priorities:
            by_rr = ready._buckets[priority]
            buckets = by_rr.items() if sort_key is None else \
                sorted(by_rr.items(), key=lambda kv: sort_key(rrs[kv[0][0]]))
            for (rr_index, sched), q in buckets:
                if self._scheduler and sched and sched != self._scheduler:
                    continue
                rr = rrs[rr_index]
                if not offer.fits(rr):
                    continue
                key = (priority, rr_index, sched)
                it = self._at.get(key)
                if it is None:
                    it = self._at[key] = iter(q)
                for job_id in it:
                    if not is_ready(job_id):
                        continue
                    out.append(job_id)
                    offer.take(rr)
                    if len(out) >= max_jobs or not offer.fits(rr):
                        break
                if len(out) >= max_jobs:
                    return out
        return out
