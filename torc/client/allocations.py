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
                 per_node: bool, output_dir: Path) -> list[str]:
    """Submit ``count`` allocations of ``scheduler``; their Slurm job ids."""
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
                                  "start_one_worker_per_node": per_node},
                       client.url, output_dir, record)
    finally:
        client.call("UnregisterWorker", pb.UnregisterWorkerRequest(worker_id=reg.worker_id))
    return submitted
