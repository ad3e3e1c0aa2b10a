"""The store's Slurm allocation events (mixed into Store): an allocation a schedule_nodes
action (or a user) submitted, and the states Slurm reports for it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from torc.errors import InvalidArgument, NotFound
from torc.server.state import events as E

if TYPE_CHECKING:
    from torc.server.state.records import Worker
    from torc.server.state.workflow import Workflow


class AllocationEvents:
    """Expects Store's lookups (``workflow``, ``worker``) and ``_note`` on ``self``."""

    def workflow(self, wf_id: int) -> Workflow: ...  # provided by Store
    def worker(self, worker_id: int) -> Worker: ...  # provided by Store
    def _note(self, wf_id: int, ts: float, kind: str, message: str) -> None: ...

    def _allocation(self, ev: E.RecordAllocation) -> dict[str, Any]:
        """A schedule_nodes action submitted a Slurm job for the workflow."""
        wf = self.workflow(ev.workflow_id)
        # A fact, not a claim: sbatch accepted the job, so it is recorded (and will be
        # scancelled with the workflow) even when its submitter was declared lost meanwhile.
        w = self.worker(ev.worker_id)
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
        self._note(wf.id, ev.ts, "allocation", f"Slurm job {alloc['slurm_job_id']} submitted "
                   f"({alloc['scheduler']}, {alloc['num_nodes']} node(s))")
        return alloc

    def _allocation_state(self, ev: E.AllocationState) -> None:
        wf = self.workflow(ev.workflow_id)
        for alloc in wf.allocations:
            if alloc["slurm_job_id"] == ev.slurm_job_id:
                alloc["state"] = ev.state
                alloc["updated_at"] = ev.ts
                self._note(wf.id, ev.ts, "allocation",
                           f"Slurm job {alloc['slurm_job_id']} is {ev.state}")
                return
        raise NotFound(f"Slurm job {ev.slurm_job_id} is not an allocation of workflow {wf.id}")
