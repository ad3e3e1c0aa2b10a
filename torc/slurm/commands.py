"""Slurm's commands through the ``sh`` package: ``sbatch``, ``squeue``, ``scancel``, ``sinfo``.

Every failure becomes a SlurmError that includes what Slurm printed; a hung command times out.
``sh`` forks the process it runs in, and runs Python in the child before the exec: so it runs
in a helper process with one thread (:mod:`torc.slurm.helper`), never in a torc process that
runs gRPC's threads. Callers on an event loop run these in a thread.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

from torc.config import JOB_MARKER
from torc.errors import TorcError

TIMEOUT = 60.0
# States after which a Slurm job will never run again.
FINAL_STATES = frozenset({"COMPLETED", "CANCELLED", "FAILED", "TIMEOUT", "NODE_FAIL",
                          "PREEMPTED", "OUT_OF_MEMORY", "BOOT_FAIL", "DEADLINE", "GONE"})


class SlurmError(TorcError):
    """A Slurm command failed or timed out; the message includes its output."""

    code = "FAILED_PRECONDITION"


def _run(command: str, *args: str, timeout: float = TIMEOUT) -> str:
    """Run a Slurm command (in a helper process: see :mod:`torc.slurm.helper`); its output."""
    from torc.slurm.helper import POOL, HelperError

    # A Slurm job inherits the submitter's environment: it must not carry a worker's job
    # marker, or that worker's watchdog would kill the new allocation when the worker ends.
    env = {k: v for k, v in os.environ.items() if k != JOB_MARKER}
    try:
        answer = POOL.run(command, list(args), timeout, env)
    except HelperError as e:
        raise SlurmError(e.message) from None
    if "error" in answer:
        raise SlurmError(answer["error"])
    return answer["out"]


def sbatch(script: Path, timeout: float = TIMEOUT) -> str:
    """Submit a batch script; returns the Slurm job id."""
    out = _run("sbatch", "--parsable", str(script), timeout=timeout).strip()
    job_id = out.split(";")[0].strip()
    if not job_id.isdigit():
        raise SlurmError(f"sbatch printed no job id: {out!r}")
    return job_id


@dataclass(slots=True)
class JobInfo:
    """What squeue says of one job."""

    job_id: str
    state: str
    end_time: float | None
    nodes: str


def _parse_time(text: str) -> float | None:
    text = text.strip()
    if not text or text in ("N/A", "Unknown", "NONE"):
        return None
    try:
        return time.mktime(time.strptime(text, "%Y-%m-%dT%H:%M:%S"))
    except ValueError:
        return None


def squeue(job_ids: Iterable[str], timeout: float = TIMEOUT) -> dict[str, JobInfo]:
    """State of the given jobs; a job Slurm no longer knows is reported as ``GONE``."""
    ids = [j for j in job_ids if j]
    if not ids:
        return {}
    try:
        out = _run("squeue", "-h", "--states=all", "-j", ",".join(ids), "-o", "%i|%T|%e|%N",
                   timeout=timeout)
    except SlurmError as e:
        if "Invalid job id" not in e.message:
            raise
        out = ""  # every id is unknown (with one id, squeue fails instead of printing nothing)
    found: dict[str, JobInfo] = {}
    for line in out.splitlines():
        parts = line.strip().split("|")
        if len(parts) == 4:
            found[parts[0]] = JobInfo(parts[0], parts[1], _parse_time(parts[2]), parts[3])
    for j in ids:
        found.setdefault(j, JobInfo(j, "GONE", None, ""))
    return found


def scancel(job_ids: Iterable[str], timeout: float = TIMEOUT) -> None:
    """Cancel jobs (already finished ones are ignored by Slurm)."""
    ids = [j for j in job_ids if j]
    if ids:
        _run("scancel", *ids, timeout=timeout)


def sinfo(timeout: float = TIMEOUT) -> dict[str, str]:
    """Node name to state."""
    out = _run("sinfo", "-h", "-N", "-o", "%N|%T", timeout=timeout)
    nodes = {}
    for line in out.splitlines():
        name, _, state = line.strip().partition("|")
        if name:
            nodes[name] = state
    return nodes


def job_end_time(job_id: str) -> float | None:
    """When a running allocation ends (``squeue -o %e``), or None if unknown."""
    try:
        return squeue([job_id]).get(job_id, JobInfo(job_id, "GONE", None, "")).end_time
    except SlurmError:
        return None
