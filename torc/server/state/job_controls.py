"""Single jobs canceled, terminated or retried while the rest of the workflow runs (the
TUI's ``c``, ``t`` and ``y``; Torc's job cancel, terminate and retry): pure logic on a
workflow and its workers.

A job not yet running becomes canceled. A claimed or running one does too (``terminate``:
a running one ends terminated), and it leaves its worker's holding at once: the worker is
told at its next heartbeat to kill it (the heartbeat answer names the jobs a worker runs
that are no longer its to run), and its report of the end is then only acknowledged. What
depends on a canceled job is canceled in turn (or unblocked, with
``cancel_on_blocking_job_failure: false``), as for a failure.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from torc import states as S
from torc.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from torc.server.state.events import ReportRow
    from torc.server.state.job import Job
    from torc.server.state.records import Worker
    from torc.server.state.workflow import Workflow


def cancel_jobs(wf: Workflow, workers: Iterable[Worker], job_ids: tuple[int, ...],
                terminate: bool = False) -> list[Job]:
    """Cancel the jobs (all of them or, raising, none); returns the jobs canceled, those
    canceled because they depended on them included."""
    if not job_ids:
        raise InvalidArgument(f"workflow {wf.id}: no job ids to cancel")
    jobs = [wf.job(j) for j in dict.fromkeys(job_ids)]
    for job in jobs:
        if job.status in S.DONE:
            raise FailedPrecondition(f"job {wf.gid(job.id)} ({job.name}) is "
                                     f"{S.name(job.status)}: there is nothing to cancel")
        if job.status == S.PENDING_FAILED:
            raise FailedPrecondition(f"job {wf.gid(job.id)} ({job.name}) is pending_failed: "
                                     f"`torc recover {wf.id}` or a reset decides what it "
                                     "becomes")
    holders = {w.id: w for w in workers if w.workflow_id == wf.id}
    before = {j.id for j in wf.jobs if j.status == S.CANCELED}
    for job in jobs:
        if job.status in S.ACTIVE:
            w = holders.get(job.worker_id)
            if w is not None:
                w.jobs.discard(job.id)  # no longer its to run: the heartbeat says kill
        # A ready job's place in the ready queue goes stale: claims skip what is not ready.
        wf.set_status(job, S.TERMINATED if terminate and job.status == S.RUNNING
                      else S.CANCELED)
        job.return_code = None
    wf.propagate(jobs)
    wf.after_change()
    return jobs + [j for j in wf.jobs if j.status == S.CANCELED and j.id not in before
                   and j not in jobs]


def job_killed(wf: Workflow, w: Worker, job: Job, row: ReportRow) -> bool:
    """A worker's report of the end of an attempt that was canceled on its own while it
    ran: its result is recorded (the job keeps its state; its dependents were dealt with
    when it was canceled). False when the report is not about such a job."""
    if (job.status not in (S.CANCELED, S.TERMINATED) or job.return_code is not None
            or job.id in w.jobs):
        return False
    metrics = tuple(row.metrics) if row.metrics else ()
    wf.results.record(job.id, job.run_id, job.attempt_id, row.return_code, job.status,
                      row.start_time, row.end_time, w.id, row.message or "killed: the job "
                      f"was {S.name(job.status)} by a user", *metrics,
                      rid=wf.counters.take_result())
    job.return_code = row.return_code
    return True


def retry_jobs(wf: Workflow, job_ids: tuple[int, ...]) -> int:
    """Run the jobs again in the current run, each as a new attempt, with what was canceled
    below them; the rest of the workflow is left as it is (running jobs run on). Returns
    how many jobs were put back; raises, changing nothing, for a job that did not end
    unsuccessfully."""
    if not job_ids:
        raise InvalidArgument(f"workflow {wf.id}: no job ids to retry")
    if not wf.initialized or wf.canceled:
        state = "canceled" if wf.canceled else "not initialized"
        raise FailedPrecondition(f"workflow {wf.id} is {state}: reset-status (or initialize) "
                                 "it instead")
    jobs = [wf.job(j) for j in dict.fromkeys(job_ids)]
    for job in jobs:
        if job.status not in S.UNSUCCESSFUL and job.status != S.PENDING_FAILED:
            raise FailedPrecondition(f"job {wf.gid(job.id)} ({job.name}) is "
                                     f"{S.name(job.status)}: only failed, canceled, "
                                     "terminated and pending_failed jobs are retried")
    retried = {j.id for j in jobs}
    below = [d for d in wf.downstream(sorted(retried))
             if d.id not in retried and d.status == S.CANCELED]
    attempts = {j.id: j.attempt_id for j in jobs}
    # A pending_failed job was never counted done by its dependents (they were held, not
    # told): only jobs that ended count as not done again below.
    ended = [j for j in (*jobs, *below) if j.status != S.PENDING_FAILED]
    for job in (*jobs, *below):
        wf.set_status(job, S.UNINITIALIZED)
        job.return_code = None
        job.worker_id = 0
    # Dependents still waiting (the tolerant ones) count these jobs as not done again.
    again = retried | {d.id for d in below}
    for job in ended:
        for d_id in job.dependents:
            d = wf.jobs[d_id - 1]
            if d.status == S.BLOCKED and d_id not in again:
                d.waiting += 1
    wf.init_uninitialized()
    for job in jobs:
        job.attempt_id = attempts[job.id] + 1  # its files and result beside the last one
    return len(jobs) + len(below)


def fail_pending(wf: Workflow, job_ids: tuple[int, ...]) -> list[Job]:
    """Jobs held in pending_failed judged permanent failures: they fail and what depends on
    them is canceled (or unblocked when it tolerates failures). All or nothing."""
    jobs = [wf.job(i) for i in dict.fromkeys(job_ids)]
    for j in jobs:
        if j.status != S.PENDING_FAILED:
            raise FailedPrecondition(f"job {wf.gid(j.id)} ({j.name}) is "
                                     f"{S.name(j.status)}, not pending_failed")
    for j in jobs:
        wf.set_status(j, S.FAILED)
    wf.propagate(jobs)
    wf.after_change()
    return jobs
