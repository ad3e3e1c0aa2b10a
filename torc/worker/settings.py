"""How one worker runs: where its coordinator and output are, what it may use, its limits."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from torc.proto import torc_pb2 as pb
from torc.worker.actions import ScheduleNodes
from torc.worker.resources import Placement, Resources, time_left


@dataclass
class WorkerOptions:
    """How the worker runs."""

    url: str
    workflow_id: int
    output_dir: Path
    resources: Resources
    placement: Placement
    max_parallel_jobs: int = 0  # 0: limited by resources only
    idle_timeout: float = 0.0  # 0: wait until the workflow is done
    end_buffer: float = 60.0  # stop this long before the allocation ends
    claim_wait: float = 20.0
    termination_grace: float = 30.0  # SIGTERM -> SIGKILL for jobs that support termination
    schedule_nodes: ScheduleNodes | None = None


def registration(o: WorkerOptions, instance_id: str) -> pb.RegisterWorkerRequest:
    """What the worker tells the coordinator about itself when it registers."""
    p, r = o.placement, o.resources
    return pb.RegisterWorkerRequest(
        workflow_id=o.workflow_id, hostname=p.hostname, slurm_job_id=p.slurm_job_id,
        node_name=p.node_name, pid=os.getpid(), instance_id=instance_id,
        resources=pb.Resources(num_cpus=r.num_cpus, memory_bytes=r.memory, num_gpus=r.num_gpus,
                               num_nodes=p.num_nodes,
                               time_left_seconds=time_left(p.end_time, o.end_buffer)))
