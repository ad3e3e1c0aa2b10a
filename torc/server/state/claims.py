"""Ready queue and claim packing: which ready jobs a worker gets for the resources it offers.

Ready jobs are bucketed by priority, then by (resource requirements, Slurm scheduler). A claim
walks priorities from high to low and, in each, takes jobs from every bucket whose requirements
still fit and whose scheduler is the worker's (or none), so its cost is the number of buckets
plus the number of jobs handed out, whatever the workflow's size.
Entries are removed lazily: a popped id whose job is no longer ready is skipped.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
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

    def pick(
        self,
        offer: Offer,
        rrs: list[dict],
        is_ready: Callable[[int], bool],
        max_jobs: int,
        sort_key: Callable[[dict], tuple] | None = None,
        scheduler: str = "",
    ) -> list[int]:
        """Pop up to ``max_jobs`` ready ids that fit ``offer`` (which is reduced as jobs fit).

        Within a priority, requirement buckets are taken in ``sort_key`` order of their
        requirements (Torc's jobs_sort_method), else in the order they first became ready. A
        worker started for ``scheduler`` takes only jobs for it or for none (Torc's
        strict_scheduler_match); one without takes any.
        """
        out: list[int] = []
        for priority in self._priorities:
            by_rr = self._buckets[priority]
            buckets = by_rr.items() if sort_key is None else \
                sorted(by_rr.items(), key=lambda kv: sort_key(rrs[kv[0][0]]))
            for (rr_index, sched), q in buckets:
                if scheduler and sched and sched != scheduler:
                    continue
                rr = rrs[rr_index]
                while q and len(out) < max_jobs and offer.fits(rr):
                    job_id = q.popleft()
                    if not is_ready(job_id):
                        continue
                    out.append(job_id)
                    offer.take(rr)
                if len(out) >= max_jobs:
                    return out
        self._drop_empty()
        return out

    def _drop_empty(self) -> None:
        for priority in list(self._priorities):
            by_rr = self._buckets[priority]
            for key in [k for k, q in by_rr.items() if not q]:
                del by_rr[key]
            if not by_rr:
                del self._buckets[priority]
                self._priorities.remove(priority)
