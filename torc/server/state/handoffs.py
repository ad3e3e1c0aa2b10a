"""Hand-offs: a job's dependent started by the same worker the moment the job succeeds.

In a chain each link used to cost a round trip after its parent ended: the end report, then the
answer to a claim. A hand-off removes it. With a job it holds, a worker is told which job waits
on that one alone (:func:`next_jobs`); when the job exits with success, the worker starts the
dependent in its place at once and reports the end and the start in one request. Applying the
end unblocks the dependent, and the start that follows in the same event claims it for the
worker (:func:`start_after`), so no other worker can take it in between.

A hand-off is only a hint: nothing about it is logged or kept. The claim happens when the start
is applied, under the same checks as any change (the job must be ready, its parent completed
by this worker, the attempt current), and a start that fails them is refused, which the worker
answers by stopping the job. Pure logic, like the workflow it reads.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from torc import states as S
from torc.errors import FailedPrecondition
from torc.server.state.claims import Offer
from torc.server.state.job import Job
from torc.server.state.workflow import Workflow

DEPTH = 4  # links handed ahead


def _place_of(parent: dict[str, Any]) -> Offer:
    """What a dependent taking its parent's place may use: what the parent held, but no GPUs
    (devices are given per job, and a hand-off must not wait for them)."""
    return Offer(parent["num_cpus"], parent["memory"], 0, parent["num_nodes"])


def _successor(wf: Workflow, parent: Job, scheduler: str) -> Job | None:
    """The first dependent that waits on ``parent`` alone and can take its place."""
    for d_id in parent.dependents:
        d = wf.jobs[d_id - 1]
        if (d.status == S.BLOCKED and d.waiting == 1
                and not (scheduler and d.scheduler and d.scheduler != scheduler)
                and _place_of(wf.rrs[parent.rr]).fits(wf.rrs[d.rr])):
            return d
    return None


def next_jobs(wf: Workflow, scheduler: str, held: Iterable[int]) -> list[tuple[Job, int]]:
    """Hand-offs for jobs a worker just claimed or started: (dependent, parent id) pairs,
    up to DEPTH links down from each.

    Only while no job is ready: a hand-off must never run ahead of a job that could start
    now (Torc's priorities decide those), and a workflow with ``on_jobs_ready`` actions gets
    none, since such an action may have to run between a job becoming ready and its start.
    """
    if (wf.canceled or not wf.initialized or wf.counts[S.READY]
            or any(a.trigger == "on_jobs_ready" for a in wf.actions.actions)):
        return []
    out: list[tuple[Job, int]] = []
    for job_id in held:
        parent = wf.jobs[job_id - 1]
        for _ in range(DEPTH):
            nxt = _successor(wf, parent, scheduler)
            if nxt is None:
                break
            out.append((nxt, parent.id))
            parent = nxt
    return out


def start_after(wf: Workflow, worker_id: int, job_id: int, after: int, run_id: int,
                attempt_id: int) -> None:
    """A worker started ``job_id`` the moment ``after`` succeeded on it: claim it for the
    worker, running. FailedPrecondition (the start is refused) unless the job is ready now,
    depends on ``after``, which this worker completed, and the attempt is the current one."""
    job = wf.job(job_id)
    parent = wf.job(after) if 1 <= after <= len(wf.jobs) else None
    why = ""
    if wf.canceled:
        why = f"workflow {wf.id} is canceled"
    elif job.status != S.READY:
        why = f"it is {S.name(job.status)}, not ready"
    elif parent is None or after not in job.deps:
        why = f"it does not depend on job {wf.gid(after)}"
    elif parent.status != S.COMPLETED or parent.worker_id != worker_id:
        why = f"job {wf.gid(after)} was not completed by worker {worker_id}"
    elif (run_id, attempt_id) != (job.run_id, job.attempt_id):
        why = (f"run {run_id} attempt {attempt_id} is stale (current run {job.run_id} "
               f"attempt {job.attempt_id})")
    if why:
        # Global ids in words (worked out only here: a hand-off start is on the hot path).
        raise FailedPrecondition(f"job {wf.gid(job_id)} ({job.name}) cannot start after job "
                                 f"{wf.gid(after)}: {why}")
    wf.transitions.start_ready(worker_id, job)
