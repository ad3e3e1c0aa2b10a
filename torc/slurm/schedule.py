"""Executing a ``schedule_nodes`` action: write the batch script, ``sbatch`` it
``num_allocations`` times, and record each Slurm job with the workflow.

Used by workers (for actions that become pending while they run) and by ``torc submit`` on the
login node. Blocking: callers on an event loop run it in a thread.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from torc.slurm import batch, commands

# Records one submitted Slurm job id with the coordinator.
Record = Callable[[str, dict[str, Any]], None]


def worker_args(config: dict[str, Any]) -> list[str]:
    """Options for the workers an action's allocations start (its ``max_parallel_jobs``)."""
    limit = int(config.get("max_parallel_jobs") or 0)
    return ["--max-parallel-jobs", str(limit)] if limit > 0 else []


def schedule_nodes(workflow_id: int, action_id: int, config: dict[str, Any], url: str,
                   output_dir: Path, record: Record) -> str:
    """Submit the allocations of one action; returns a one-line summary."""
    scheduler = config.get("scheduler_config") or {"name": config.get("scheduler", "slurm")}
    count = int(config.get("num_allocations", 1))
    per_node = bool(config.get("start_one_worker_per_node", False))
    output_dir.mkdir(parents=True, exist_ok=True)
    script = batch.batch_script(workflow_id, scheduler, url, output_dir, sys.executable,
                                per_node, worker_args(config),
                                strict=not config.get("any_job", False),
                                job_prefix=str(config.get("job_prefix") or ""))
    scripts = output_dir / "slurm_scripts"
    scripts.mkdir(exist_ok=True)
    path = scripts / f"wf{workflow_id}_action{action_id}_{time.time_ns()}.sh"
    path.write_text(script)
    submitted = []
    for _ in range(count):
        job_id = commands.sbatch(path)
        record(job_id, scheduler)
        submitted.append(job_id)
    return (f"submitted {len(submitted)} allocation(s) to scheduler "
            f"{scheduler.get('name')!r}: Slurm job(s) {', '.join(submitted)}")
