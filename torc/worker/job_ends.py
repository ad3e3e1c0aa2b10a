"""How the worker sees a job to its end, mixed into WorkerRunner: its exit is noticed by a
callback (no task for each job: a busy worker's time per job is what bounds short jobs), then
the attempt's outcome is worked out and reported, the hand-off armed on it started, and what it
held freed for the next job. Ends that mean waiting (a SIGTERM that may be Slurm's, samples to
store, a recovery script) and processes whose exit cannot be watched go through a task."""

from __future__ import annotations

import asyncio
import functools
import signal
from typing import Any

from torc.proto import torc_pb2 as pb
from torc.worker.execution import Outcome
from torc.worker.jobs import RunningJob


class JobEnds:
    """Expects WorkerRunner's state (running, execution, used, gpus, reports...) on ``self``."""

    running: dict[int, RunningJob]
    execution: Any

    def _follow(self, rj: RunningJob, started: bool = True) -> None:
        """See the job to its end: from a callback when its exit can be watched (no task
        for each job), else from a task."""
        proc = rj.process
        if started and proc is not None and proc.on_exit(functools.partial(self._exited, rj)):
            return
        rj.task = asyncio.get_running_loop().create_task(self._run_job(rj, started))

    async def _run_job(self, rj: RunningJob, started: bool = True) -> None:
        """A job whose exit cannot be watched: wait for it, then finish it."""
        try:
            if started:
                assert rj.process is not None
                await self._finish(rj, await rj.process.wait())
        finally:
            self._release(rj)

    def _exited(self, rj: RunningJob) -> None:
        """A job's process exited: finish it now, or in a task when finishing it means
        waiting (a SIGTERM that may be Slurm's, samples to store, a recovery script)."""
        later = False
        try:
            assert rj.process is not None
            rc = rj.process.reap()
            outcome = None if self._maybe_slurms(rj, rc) else self._outcome(rj, rc)
            if outcome is None or self.execution.needs_completion(outcome):
                later = True
                rj.task = asyncio.get_running_loop().create_task(
                    self._finish_later(rj, rc, outcome))
                return
            self._finished(rj, rc, outcome)
        finally:
            if not later:
                self._release(rj)

    @staticmethod
    def _maybe_slurms(rj: RunningJob, rc: int) -> bool:
        """Killed by a SIGTERM the worker did not send: Slurm signals the whole allocation
        at once (scancel, walltime, node failure), and the worker's own may follow."""
        return rc == -signal.SIGTERM and not rj.final_status

    async def _finish_later(self, rj: RunningJob, rc: int,
                            outcome: Outcome | None = None) -> None:
        try:
            await self._finish(rj, rc, outcome)
        finally:
            self._release(rj)

    async def _finish(self, rj: RunningJob, rc: int, outcome: Outcome | None = None) -> None:
        """Work out and report how the attempt ended (``outcome``: as far as known)."""
        if outcome is None:
            if self._maybe_slurms(rj, rc):
                # If the worker's own SIGTERM follows, the job was terminated, not failed.
                try:
                    await asyncio.wait_for(self._stop_event.wait(), 0.5)
                except TimeoutError:
                    pass
                if self.stopping:
                    rj.final_status = pb.TERMINATED
            outcome = self._outcome(rj, rc)
        await self.execution.complete(rj, outcome)
        self._finished(rj, rc, outcome)

    def _outcome(self, rj: RunningJob, rc: int) -> Outcome:
        assert rj.process is not None
        self.jobs_run += 1
        took = rj.process.end_time - rj.process.start_time
        self._mean_seconds = took if self._mean_seconds is None else \
            0.8 * self._mean_seconds + 0.2 * took
        return self.execution.outcome(rj, rc)

    def _finished(self, rj: RunningJob, rc: int, outcome: Outcome) -> None:
        """Report the end (and start the hand-off armed on it)."""
        if rj.refused:
            return  # a hand-off the coordinator refused: it was never this worker's
        proc = rj.process
        assert proc is not None
        nxt = self._hand_off(rj, outcome)
        self._report(rj.job, pb.FINISHED, rc, rj.final_status, proc.start_time, proc.end_time,
                     outcome)
        if nxt is not None:
            self._report_hand_off(nxt, rj.job.id)

    def _release(self, rj: RunningJob) -> None:
        """The job is over here: free what it held, start what now fits."""
        job_id = rj.job.id
        del self.running[job_id]
        self._disarm(job_id)
        self.gpus.give_back(job_id)
        self.used = self.used - rj.needs
        self._drain()
        self._changed.set()

