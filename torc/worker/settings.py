"""How one worker runs: where its coordinator and output are, what it may use, its limits."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from torc.worker.actions import ScheduleNodes
from torc.worker.resources import Placement, Resources


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
