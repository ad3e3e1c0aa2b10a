"""How one worker runs: where its coordinator and output are, what it may use, its limits,
and the workflow's settings it learns when it registers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from torc.proto import torc_pb2 as pb
from torc.worker.action_runner import ScheduleNodes
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
    # None: the workflow's compute_node_wait_for_new_jobs_seconds (Torc's 90); 0: never.
    idle_timeout: float | None = None
    # None: the workflow's compute_node_expiration_buffer_seconds (Torc's 60).
    end_buffer: float | None = None
    scheduler: str = ""  # the Slurm scheduler that started it: only jobs for it (or none)
    gpu_ids: list[str] = field(default_factory=list)  # its GPU devices
    claim_wait: float = 20.0
    termination_grace: float = 30.0  # SIGTERM -> SIGKILL for jobs that support termination
    schedule_nodes: ScheduleNodes | None = None


def registration(o: WorkerOptions, instance_id: str) -> pb.RegisterWorkerRequest:
    """What the worker tells the coordinator about itself when it registers."""
    p, r = o.placement, o.resources
    return pb.RegisterWorkerRequest(
        workflow_id=o.workflow_id, hostname=p.hostname, slurm_job_id=p.slurm_job_id,
        node_name=p.node_name, pid=os.getpid(), instance_id=instance_id, scheduler=o.scheduler,
        output_dir=str(o.output_dir),
        resources=pb.Resources(num_cpus=r.num_cpus, memory_bytes=r.memory, num_gpus=r.num_gpus,
                               num_nodes=p.num_nodes,
                               time_left_seconds=time_left(p.end_time, o.end_buffer or 60.0)))


@dataclass
class WorkflowSettings:
    """What the workflow says about running its jobs (RegisterWorkerResponse.settings_json)."""

    idle_wait: float = 90.0
    end_buffer: float = 60.0
    ignore_completion: bool = False
    healthy_wait: float = 20 * 60.0  # how long the coordinator may be unreachable
    execution: dict[str, Any] = field(default_factory=dict)
    monitor: dict[str, Any] = field(default_factory=dict)

    @property
    def limit_resources(self) -> bool:
        """Kill jobs that use more memory or time than they asked for."""
        return bool(self.execution.get("limit_resources"))

    @property
    def monitoring(self) -> bool:
        """Sample each job's CPU and memory."""
        return bool(self.monitor.get("enabled"))


def workflow_settings(o: WorkerOptions, settings_json: str) -> WorkflowSettings:
    """The workflow's settings under the worker's own options (flags win)."""
    d = json.loads(settings_json) if settings_json else {}
    idle = d.get("compute_node_wait_for_new_jobs_seconds", 90)
    buffer = d.get("compute_node_expiration_buffer_seconds", 60)
    return WorkflowSettings(
        idle_wait=float(idle if o.idle_timeout is None else o.idle_timeout),
        end_buffer=float(buffer if o.end_buffer is None else o.end_buffer),
        ignore_completion=bool(d.get("compute_node_ignore_workflow_completion", False)),
        healthy_wait=60.0 * d.get("compute_node_wait_for_healthy_database_minutes", 20),
        execution=d.get("execution_config") or {}, monitor=d.get("resource_monitor") or {})
