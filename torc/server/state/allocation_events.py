"""The store's Slurm allocation events: an allocation a schedule_nodes action (or a user)
submitted, and the states Slurm reports for it. ``note`` adds to the workflow's event feed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from torc.errors import InvalidArgument, NotFound
from torc.server.state import events as E
from torc.server.state.records import Worker
from torc.server.state.workflow import Workflow

Note = Callable[[int, float, str, str], None]  # (workflow id, time, kind, message)


def record(wf: Workflow, w: Worker, ev: E.RecordAllocation, note: Note) -> dict[str, Any]:
    """A schedule_nodes action submitted a Slurm job for the workflow (``w``: its submitter).

    A fact, not a claim: sbatch accepted the job, so it is recorded (and will be scancelled
    with the workflow) even when its submitter was declared lost meanwhile."""
    if w.workflow_id != wf.id:
        raise InvalidArgument(f"worker {w.id} belongs to workflow {w.workflow_id}, "
                              f"not {wf.id}")
    if ev.action_id:  # 0: submitted by hand (torc slurm schedule-nodes)
        wf.actions.get(ev.action_id)
    if not ev.slurm_job_id:
        raise InvalidArgument("slurm_job_id must not be empty")
    for a in wf.allocations:
        if a["slurm_job_id"] == ev.slurm_job_id:
            return a  # a retried record
    alloc = {"slurm_job_id": ev.slurm_job_id, "scheduler": ev.scheduler,
             "action_id": ev.action_id, "num_nodes": ev.num_nodes,
             "state": "SUBMITTED", "submitted_at": ev.ts, "updated_at": ev.ts}
    wf.allocations.append(alloc)
    note(wf.id, ev.ts, "scheduler_node_created", f"Slurm job {alloc['slurm_job_id']} submitted "
         f"({alloc['scheduler']}, {alloc['num_nodes']} node(s))")
    return alloc


def set_state(wf: Workflow, ev: E.AllocationState, note: Note) -> None:
    """What Slurm says of one of the workflow's allocations."""
    for alloc in wf.allocations:
        if alloc["slurm_job_id"] == ev.slurm_job_id:
            alloc["state"] = ev.state
            alloc["updated_at"] = ev.ts
            note(wf.id, ev.ts, "allocation", f"Slurm job {alloc['slurm_job_id']} is {ev.state}")
            return
    raise NotFound(f"Slurm job {ev.slurm_job_id} is not an allocation of workflow {wf.id}")
