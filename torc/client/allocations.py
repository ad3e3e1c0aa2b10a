"""Submitting allocations by hand (``torc slurm schedule-nodes``): a workflow's scheduler,
``sbatch``-ed now, each Slurm job recorded with the workflow like an action's."""

from __future__ import annotations

import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any

from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb
from torc.slurm import schedule_nodes


def scheduler_configs(client: TorcClient, wf_id: int) -> dict[str, dict[str, Any]]:
    """The workflow's Slurm schedulers (with its slurm_defaults under them), by name."""
    wf = client.get_workflow(wf_id)
    return {s["name"]: s for s in json.loads(wf.slurm_schedulers_json or "[]")}


def schedule_now(client: TorcClient, wf_id: int, scheduler: str, count: int,
                 per_node: bool, output_dir: Path, **options: Any) -> list[str]:
    """Submit ``count`` allocations of ``scheduler``; their Slurm job ids. ``options``: the
    action keys ``max_parallel_jobs`` and ``job_prefix``."""
    configs = scheduler_configs(client, wf_id)
    if scheduler not in configs:
        raise TorcError(f"workflow {wf_id} has no scheduler {scheduler!r}"
                        + (f"; it has {', '.join(configs)}" if configs else ""))
    if count < 1:
        raise TorcError("--num-allocations must be at least 1")
    reg = client.call("RegisterWorker", pb.RegisterWorkerRequest(
        workflow_id=wf_id, hostname=socket.gethostname(), pid=os.getpid(), role="submitter",
        instance_id=uuid.uuid4().hex))
    submitted: list[str] = []

    def record(job_id: str, config: dict[str, Any]) -> None:
        submitted.append(job_id)
        client.call("RecordAllocation", pb.RecordAllocationRequest(
            workflow_id=wf_id, worker_id=reg.worker_id, action_id=0, slurm_job_id=job_id,
            scheduler=scheduler, num_nodes=int(config.get("nodes", 1))))

    try:
        schedule_nodes(wf_id, 0, {"scheduler_config": configs[scheduler],
                                  "num_allocations": count,
                                  "start_one_worker_per_node": per_node, **options},
                       client.url, output_dir, record)
    finally:
        client.call("UnregisterWorker", pb.UnregisterWorkerRequest(worker_id=reg.worker_id))
    return submitted


def regeneration_plan(client: TorcClient, wf_id: int, profile: Any, opts: Any,
                      include: set[int] | None = None) -> Any:
    """A scheduler plan for the jobs not yet done (``torc slurm regenerate``), e.g. after
    ``torc recover``: planned like ``slurm generate`` from the workflow's own jobs, and the
    jobs of ``include`` whatever their status (Torc's ``--include-job-ids``)."""
    from torc import states as S
    from torc.slurm import plan as planner

    todo = [j for j in client.list_jobs(wf_id)
            if j.status in (S.UNINITIALIZED, S.BLOCKED, S.READY) or j.id in (include or ())]
    ids = {j.id for j in todo}
    rrs: list[dict[str, Any]] = []
    index: dict[tuple, int] = {}
    jobs = []
    for j in todo:
        key = (j.resource_requirements, j.num_cpus, j.memory_bytes, j.num_gpus, j.num_nodes,
               j.runtime_seconds)
        if key not in index:
            index[key] = len(rrs)
            rrs.append({"name": j.resource_requirements, "num_cpus": j.num_cpus,
                        "memory": j.memory_bytes, "num_gpus": j.num_gpus,
                        "num_nodes": j.num_nodes, "runtime": j.runtime_seconds})
        # Waiting only counts for upstream jobs that are not done yet.
        jobs.append({"name": j.name, "rr": index[key],
                     "deps": [d for d in j.depends_on if d in ids], "ready":
                     j.status == S.READY})
    plan = planner.make_plan({"resource_requirements": rrs, "jobs": jobs}, profile, opts)
    return plan, {j["name"]: j["ready"] for j in jobs}


def submit_regenerated(client: TorcClient, wf_id: int, plan: Any, ready: dict[str, bool],
                       output_dir: Path) -> list[dict[str, Any]]:
    """Submit the allocations of the plan's groups whose jobs can start now; their workers
    take any job (the jobs keep the schedulers of their spec)."""
    reg = client.call("RegisterWorker", pb.RegisterWorkerRequest(
        workflow_id=wf_id, hostname=socket.gethostname(), pid=os.getpid(), role="submitter",
        instance_id=uuid.uuid4().hex))
    done: list[dict[str, Any]] = []
    try:
        for sched in plan.schedulers:
            jobs = [n for n, s in plan.assignments.items() if s == sched["name"]]
            action = next(a for a in plan.actions if a["scheduler"] == sched["name"])
            if not any(ready[n] for n in jobs):
                done.append({"scheduler": sched["name"], "slurm_job_id": None,
                             "note": "its jobs are blocked: regenerate again once they are "
                                     "ready"})
                continue

            def record(job_id: str, config: dict[str, Any], name: str = sched["name"]) -> None:
                client.call("RecordAllocation", pb.RecordAllocationRequest(
                    workflow_id=wf_id, worker_id=reg.worker_id, action_id=0,
                    slurm_job_id=job_id, scheduler=name, num_nodes=int(config.get("nodes", 1))))
                done.append({"scheduler": name, "slurm_job_id": job_id, "note": ""})

            schedule_nodes(wf_id, 0, {"scheduler_config": sched, "any_job": True,
                                      "num_allocations": action["num_allocations"],
                                      "start_one_worker_per_node":
                                          action["start_one_worker_per_node"]},
                           client.url, output_dir, record)
    finally:
        client.call("UnregisterWorker", pb.UnregisterWorkerRequest(worker_id=reg.worker_id))
    return done
