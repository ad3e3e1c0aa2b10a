"""Changing one job between runs (``torc jobs update``): its priority, its resource
requirements (a named one of the workflow, or values of its own) or its command. Pure logic on
a workflow; a job held by a worker is never changed under it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torc import states as S
from torc.errors import FailedPrecondition, InvalidArgument

if TYPE_CHECKING:
    from torc.server.state.job import Job
    from torc.server.state.workflow import Workflow

RESOURCE_KEYS = ("num_cpus", "memory", "num_gpus", "num_nodes", "runtime")


def update_job(wf: Workflow, job_id: int, priority: int | None = None, rr_name: str = "",
               resources: dict[str, Any] | None = None, command: str | None = None) -> Job:
    """Apply the changes, or raise (nothing changed) when the job is pending or running or a
    value is invalid."""
    job = wf.job(job_id)
    g = wf.gid(job_id)
    if job.status in S.ACTIVE:
        raise FailedPrecondition(f"job {g} ({job.name}) is {S.name(job.status)}; it "
                                 "cannot be updated until it ends")
    resources = resources or {}
    bad = [k for k in resources if k not in RESOURCE_KEYS]
    if bad:
        raise InvalidArgument(f"job {g}: unknown resource {bad[0]!r}")
    if any(not isinstance(v, (int, float)) or isinstance(v, bool) or v < 0
           for v in resources.values()):
        raise InvalidArgument(f"job {g}: resource values must be non-negative numbers")
    if resources.get("num_nodes", 1) < 1:
        raise InvalidArgument(f"job {g}: num_nodes must be at least 1")
    rr = job.rr
    if rr_name:
        names = [r["name"] for r in wf.rrs]
        if rr_name not in names:
            raise InvalidArgument(f"workflow {wf.id} has no resource requirements named "
                                  f"{rr_name!r}; it has {', '.join(names)}")
        rr = names.index(rr_name)
    if resources:
        own = {**wf.rrs[rr], **resources, "name": f"{job.name} (updated)"}
        existing = [i for i, r in enumerate(wf.rrs) if r == own]
        if existing:
            rr = existing[0]
        else:
            rr = len(wf.rrs)
            wf.rrs.append(own)
    if command is not None and not command.strip():
        raise InvalidArgument(f"job {g}: the command must not be empty")
    job.rr = rr
    wf.specs_part = None  # the snapshot part with the old specs no longer holds them
    if priority is not None:
        job.priority = priority
    if command is not None:
        job.command = command
    if job.status == S.READY:
        # The ready queue buckets jobs by priority and requirements: rebuild it.
        wf.recount()
    return job
