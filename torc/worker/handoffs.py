"""The worker's side of hand-offs (see ``torc/server/handoffs.py``), mixed into WorkerRunner.

The coordinator names, with a job the worker holds, the dependent that waits on it alone. The
worker keeps it armed; when the job ends with success, the dependent starts in its place at
once, before the end is reported, and its start (with ``after_job_id``) goes in the same
report as the end, which is what lets the coordinator claim it for this worker. Until the
coordinator has answered, the worker does not list the dependent in heartbeats (it is not this
worker's yet there); a refused one is killed and never reported again.
"""

from __future__ import annotations

import logging
import signal
from typing import TYPE_CHECKING, Any

from torc.proto import torc_pb2 as pb
from torc.worker.jobs import RunningJob
from torc.worker.resources import Resources

if TYPE_CHECKING:
    from torc.worker.execution import Outcome

log = logging.getLogger("torc.worker")


class HandOffs:
    """Expects WorkerRunner's state (running, used, execution, reporter...) on ``self``."""

    armed: dict[int, pb.ClaimedJob]  # job id -> the hand-off to start when it succeeds
    unconfirmed: set[int]  # hand-offs started, their start not yet answered
    running: dict[int, Any]

    def _arm(self, next_jobs: Any) -> None:
        """Keep the hand-offs of an answer (the first for each job; repeats are ignored)."""
        if self.stopping or self.canceled:
            return
        for cj in next_jobs:
            if cj.after_job_id not in self.armed and cj.id not in self.running:
                self.armed[cj.after_job_id] = cj

    def _disarm(self, job_id: int) -> None:
        """``job_id`` will not succeed here: drop its hand-off, and theirs in turn."""
        while (cj := self.armed.pop(job_id, None)) is not None:
            job_id = cj.id

    def _hand_off(self, rj: RunningJob, outcome: Outcome) -> RunningJob | None:
        """Start the hand-off armed on ``rj``'s job if it succeeded; the started job (its
        start not yet reported) or None."""
        if not self.armed:
            return None
        cj = self.armed.pop(rj.job.id, None)
        if cj is None:
            return None
        ok = (outcome.return_code == 0 and not outcome.status and not rj.final_status
              and not self.stopping and not self.canceled and not cj.num_gpus
              and Resources.of(rj.job).fits(Resources.of(cj)))
        if not ok:
            self._disarm(cj.id)
            return None
        nxt = RunningJob(cj, Resources.of(cj))
        if self._launch(nxt) is None:  # before the parent's end is reported, in the same step
            # Not claimed: it becomes ready, and whoever claims it sees the same error.
            self._disarm(cj.id)
            return None
        self.running[cj.id] = nxt
        self.used = self.used + nxt.needs
        self.unconfirmed.add(cj.id)
        return nxt

    def _report_hand_off(self, nxt: RunningJob, after: int) -> None:
        """The hand-off's start, right behind its parent's end in the same report; then its
        own life, as any job's."""
        cj = nxt.job
        assert nxt.process is not None
        log.debug("job %d (%s) started after job %d (hand-off)", cj.id, cj.name, after)
        self.reporter.add(pb.JobReport(
            job_id=cj.id, kind=pb.STARTED, run_id=cj.run_id, attempt_id=cj.attempt_id,
            start_time=nxt.process.start_time, after_job_id=after))
        self._follow(nxt)

    def _hand_offs_answered(self, batch: list[pb.JobReport], resp: Any) -> None:
        """What the coordinator said about the hand-offs this batch started."""
        if not self.unconfirmed:  # no hand-off started: nothing in the batch to look at
            self._arm(resp.next_jobs)
            return
        refused = set(resp.refused_job_ids)
        for r in batch:
            if r.kind == pb.STARTED and r.after_job_id:
                self.unconfirmed.discard(r.job_id)
                rj = self.running.get(r.job_id)
                if r.job_id in refused and rj is not None and rj.process is not None:
                    log.warning("coordinator refused hand-off job %d (%s): stopped",
                                r.job_id, rj.job.name)
                    rj.refused = True
                    rj.process.kill(signal.SIGKILL)
        self._arm(resp.next_jobs)
