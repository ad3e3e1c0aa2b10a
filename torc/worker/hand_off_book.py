"""The worker's side of hand-offs (see ``torc/server/state/handoffs.py``), as pure bookkeeping.

The coordinator names, with a job the worker holds, the dependent that waits on it alone. The
worker keeps it armed; when the job ends with success, the dependent starts in its place at
once and its start (``after_job_id``) goes right behind the parent's end, which is what lets
the coordinator claim it for this worker. Until the coordinator has answered, the dependent is
not listed in heartbeats (it is not this worker's yet); a refused one is killed and never
reported. :class:`~torc.worker.state.WorkerState` decides when one starts.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence

from torc.proto import torc_pb2 as pb


class HandOffs:
    """Hand-offs armed on jobs the worker holds, and those started but not yet answered."""

    def __init__(self) -> None:
        self.armed: dict[int, pb.ClaimedJob] = {}  # job id -> the hand-off to start after it
        self.unconfirmed: set[int] = set()  # started, their start not yet answered

    def arm(self, next_jobs: Iterable[pb.ClaimedJob], running: Collection[int]) -> None:
        """Keep the hand-offs of an answer (the first for each job; repeats are ignored)."""
        for cj in next_jobs:
            if cj.after_job_id not in self.armed and cj.id not in running:
                self.armed[cj.after_job_id] = cj

    def disarm(self, job_id: int) -> None:
        """``job_id`` will not succeed here: drop its hand-off, and theirs in turn."""
        while (cj := self.armed.pop(job_id, None)) is not None:
            job_id = cj.id

    def take(self, job_id: int) -> pb.ClaimedJob | None:
        """The hand-off armed on ``job_id`` (no longer armed), if any."""
        return self.armed.pop(job_id, None) if self.armed else None

    def answered(self, batch: Sequence[pb.JobReport], refused: Collection[int]) -> list[int]:
        """The coordinator answered the hand-off starts in ``batch``: they are confirmed or
        refused; returns the refused ones."""
        out = []
        for r in batch:
            if r.kind == pb.STARTED and r.after_job_id and r.job_id in self.unconfirmed:
                self.unconfirmed.discard(r.job_id)
                if r.job_id in refused:
                    out.append(r.job_id)
        return out
