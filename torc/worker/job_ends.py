"""How the worker sees a job's process to its end and tells the state.

A job's exit is noticed by a callback (no task for each job: a busy worker's time per job is
what bounds short jobs); the state says whether to assess it now or after waiting for a stop
(:class:`~torc.worker.stimuli.AwaitStop`); assessing it (:class:`Execution.outcome`) builds
its report, and attempts with samples to store or a recovery script to run finish in a task.
Whatever goes wrong on the way, the state is told the job is over here, so its slot is freed.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Callable

from torc.worker.execution import Execution, Outcome
from torc.worker.jobs import RunningJob
from torc.worker.stimuli import Event, JobEnded, JobExited


class JobEnds:
    """Follows processes to their end; ``feed`` hands the state what happened."""

    def __init__(self, execution: Execution, feed: Callable[[Event], None],
                 stopped: asyncio.Event) -> None:
        self.execution = execution
        self._feed = feed
        self._stopped = stopped
        self.procs: dict[int, RunningJob] = {}  # the jobs whose processes run, by id

    def follow(self, rj: RunningJob) -> None:
        """Watch a started job: from a callback when its exit can be watched, else a task."""
        proc = rj.process
        assert proc is not None
        self.procs[rj.job.id] = rj
        if not proc.on_exit(functools.partial(self._exited, rj)):
            rj.task = asyncio.get_running_loop().create_task(self._wait(rj))

    def _exited(self, rj: RunningJob) -> None:
        assert rj.process is not None
        try:
            rc = rj.process.reap()
        except BaseException:
            self._over(rj)
            raise
        self._feed(JobExited(rj.job.id, rc))

    async def _wait(self, rj: RunningJob) -> None:
        assert rj.process is not None
        try:
            rc = await rj.process.wait()
        except BaseException:
            self._over(rj)
            raise
        self._feed(JobExited(rj.job.id, rc))

    def await_stop(self, job_id: int, rc: int, seconds: float) -> None:
        """Wait up to ``seconds`` for the worker's stop, then tell the state again."""
        async def pause() -> None:
            try:
                await asyncio.wait_for(self._stopped.wait(), seconds)
            except TimeoutError:
                pass
            self._feed(JobExited(job_id, rc, waited=True))

        rj = self.procs[job_id]
        rj.task = asyncio.get_running_loop().create_task(pause())

    def assess(self, job_id: int, rc: int, final_status: int) -> None:
        """Work out the attempt's outcome; finish it now, or in a task when that means
        waiting (samples to store, a recovery script)."""
        rj = self.procs[job_id]
        rj.final_status = final_status
        try:
            outcome = self.execution.outcome(rj, rc)
        except BaseException:
            self._over(rj)
            raise
        if self.execution.needs_completion(outcome):
            rj.task = asyncio.get_running_loop().create_task(self._complete(rj, outcome))
        else:
            self._ended(rj, outcome)

    async def _complete(self, rj: RunningJob, outcome: Outcome) -> None:
        try:
            await self.execution.complete(rj, outcome)
        except BaseException:
            self._over(rj)
            raise
        self._ended(rj, outcome)

    def _ended(self, rj: RunningJob, outcome: Outcome) -> None:
        proc = rj.process
        assert proc is not None
        del self.procs[rj.job.id]
        self._feed(JobEnded(rj.job.id, outcome.return_code == 0 and not outcome.status,
                            outcome.report(rj.job, proc.start_time, proc.end_time),
                            proc.end_time - proc.start_time, time.monotonic()))

    def _over(self, rj: RunningJob) -> None:
        """Something failed on the way: the job is over here, with nothing to report."""
        if self.procs.pop(rj.job.id, None) is not None:
            self._feed(JobEnded(rj.job.id, False, None, 0.0, time.monotonic()))
