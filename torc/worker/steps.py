"""Jobs as Slurm steps (``execution_config.mode: slurm``, or ``auto`` inside an allocation):
each job runs under ``srun`` in the worker's allocation, so Slurm enforces its CPUs and memory,
signals it before its time ends, and accounts it (``sacct`` shows the step by its name,
``wf<W>_j<J>_r<R>_a<A>``).

Timing, as Torc's: a step's ``--time`` is the job's runtime, capped by what is left of the
allocation minus ``sigkill_headroom_seconds``; ``--signal`` sends ``termination_signal``
``sigterm_lead_seconds`` before that limit.
"""

from __future__ import annotations

import math
import re
import time
from pathlib import Path
from typing import Any

from torc.proto import torc_pb2 as pb

# srun's (or slurmstepd's) words for a step Slurm killed for its memory.
_OOM = re.compile(r"exceeded (job )?memory limit|oom[-_ ]kill|out of memory", re.IGNORECASE)
_TIMEOUT = re.compile(r"DUE TO TIME LIMIT|time limit", re.IGNORECASE)


def uses_steps(mode: str, slurm_job_id: str) -> bool:
    """Whether jobs run as steps: mode slurm, or auto inside an allocation (mode slurm
    outside any allocation has none to step into, and runs jobs directly)."""
    return bool(slurm_job_id) and mode in ("slurm", "auto")


def step_name(workflow_id: int, cj: pb.ClaimedJob) -> str:
    """The step's name: how sacct and ``torc slurm sacct`` find the job."""
    return f"wf{workflow_id}_j{cj.id}_r{cj.run_id}_a{cj.attempt_id}"


def step_seconds(cj: pb.ClaimedJob, end_time: float | None, headroom: float) -> int:
    """The step's time limit: its runtime, capped by the allocation's end less headroom."""
    limit = cj.runtime_seconds if cj.runtime_seconds > 0 else 365 * 86400.0
    if end_time is not None:
        limit = min(limit, end_time - headroom - time.time())
    return max(int(math.ceil(limit)), 60)


def srun_argv(workflow_id: int, cj: pb.ClaimedJob, slurm_job_id: str, node_name: str,
              execution: dict[str, Any], end_time: float | None,
              command: list[str]) -> list[str]:
    """``srun ... <command>`` for one job in the worker's allocation."""
    secs = step_seconds(cj, end_time, float(execution.get("sigkill_headroom_seconds", 60)))
    signal = str(execution.get("termination_signal", "SIGTERM")).removeprefix("SIG")
    lead = int(execution.get("sigterm_lead_seconds", 30))
    argv = ["srun", f"--jobid={slurm_job_id}", "--exact", "--ntasks=1",
            f"--nodes={max(cj.num_nodes, 1)}", f"--cpus-per-task={max(cj.num_cpus, 1)}",
            f"--mem={max(math.ceil(cj.memory_bytes / 2**20), 1)}M",
            f"--time={secs // 60}:{secs % 60:02d}", f"--signal={signal}@{lead}",
            f"--job-name={step_name(workflow_id, cj)}", "--kill-on-bad-exit=1"]
    if cj.num_gpus:
        argv.append(f"--gpus={cj.num_gpus}")
    if node_name and cj.num_nodes <= 1:
        argv.append(f"--nodelist={node_name}")  # this worker's node, not a neighbour's
    return [*argv, *command]


def time_limit(argv: list[str]) -> int:
    """The ``--time`` of an srun argv, in seconds."""
    value = next(a for a in argv if a.startswith("--time=")).split("=", 1)[1]
    minutes, seconds = value.split(":")
    return int(minutes) * 60 + int(seconds)


def why_killed(stderr: str | Path | None, took: float, limit: float) -> str:
    """``oom`` or ``timeout`` when Slurm ended the step for that (from srun's words in the
    job's stderr, or from how long it ran), else ""."""
    tail = ""
    if stderr is not None:
        try:
            with open(stderr, "rb") as f:
                f.seek(0, 2)
                f.seek(max(f.tell() - 8192, 0))
                tail = f.read().decode(errors="replace")
        except OSError:
            pass
    if _OOM.search(tail):
        return "oom"
    if _TIMEOUT.search(tail) or (limit and took >= limit):
        return "timeout"
    return ""
