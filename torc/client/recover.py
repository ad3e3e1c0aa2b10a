"""``torc recover`` and ``torc workflows correct-resources``: act on what results say. Raise
memory for jobs that ran out of it and runtime for jobs that timed out, reset them with what
was canceled downstream of them, and run them again. The plan is pure; applying it goes through
the same RPCs as ``torc jobs update`` and ``torc jobs reset-status``."""

from __future__ import annotations

import math
from typing import Any

from torc import states as S
from torc.client import reports
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb

MIB = 1024 * 1024


def _round_memory(n: float) -> int:
    """Up to a whole MiB, as people write memory."""
    return int(math.ceil(n / MIB)) * MIB


def recovery_plan(jobs: list[pb.Job], results: list[pb.JobResult], memory_multiplier: float,
                  runtime_multiplier: float, retry_unknown: bool) -> list[dict[str, Any]]:
    """Failed jobs to run again, and with what: more memory after an OOM, more runtime after
    a timeout, unchanged (with ``retry_unknown``) after any other failure."""
    latest = reports.latest_results(results)
    plan = []
    for j in jobs:
        r = latest.get(j.id)
        if j.status not in (S.FAILED, S.TERMINATED, S.PENDING_FAILED) or r is None:
            continue
        entry: dict[str, Any] = {"job_id": j.id, "job_name": j.name,
                                 "return_code": r.return_code}
        if reports.is_oom(r):
            entry.update(reason="out of memory", memory_bytes=j.memory_bytes,
                         new_memory_bytes=_round_memory(j.memory_bytes * memory_multiplier))
        elif reports.is_timeout(r, j):
            entry.update(reason="timeout", runtime_seconds=j.runtime_seconds,
                         new_runtime_seconds=math.ceil(j.runtime_seconds * runtime_multiplier))
        elif retry_unknown:
            entry["reason"] = "unknown (retried as it is)"
        else:
            continue
        plan.append(entry)
    return plan


def correction_plan(jobs: list[pb.Job], results: list[pb.JobResult], memory_multiplier: float,
                    runtime_multiplier: float, job_ids: set[int] | None) -> list[dict[str, Any]]:
    """Right-size requirements from what jobs used (Torc's correct-resources): memory to the
    observed peak times the multiplier where it went over, runtime likewise."""
    latest = reports.latest_results(results)
    plan = []
    for j in jobs:
        r = latest.get(j.id)
        if r is None or (job_ids and j.id not in job_ids):
            continue
        change: dict[str, Any] = {}
        if r.HasField("peak_memory_bytes") and r.peak_memory_bytes > j.memory_bytes:
            change["new_memory_bytes"] = _round_memory(r.peak_memory_bytes * memory_multiplier)
        elif reports.is_oom(r):
            change["new_memory_bytes"] = _round_memory(j.memory_bytes * memory_multiplier)
        took = r.end_time - r.start_time
        if j.runtime_seconds and (took > j.runtime_seconds or reports.is_timeout(r, j)):
            change["new_runtime_seconds"] = math.ceil(max(took, j.runtime_seconds)
                                                      * runtime_multiplier)
        if change:
            plan.append({"job_id": j.id, "job_name": j.name, "memory_bytes": j.memory_bytes,
                         "runtime_seconds": j.runtime_seconds, **change})
    return plan


def apply_changes(client: TorcClient, wf_id: int, plan: list[dict[str, Any]]) -> None:
    """Update each planned job's requirements."""
    for p in plan:
        changes = {}
        if "new_memory_bytes" in p:
            changes["memory_bytes"] = p["new_memory_bytes"]
        if "new_runtime_seconds" in p:
            changes["runtime_seconds"] = float(p["new_runtime_seconds"])
        if changes:
            client.update_job(wf_id, p["job_id"], **changes)


def reset_for_recovery(client: TorcClient, wf_id: int, plan: list[dict[str, Any]]) -> None:
    """Reset the planned jobs and what is downstream of them, and start a new run."""
    if any(j.status in (S.PENDING, S.RUNNING) for j in client.list_jobs(wf_id)):
        raise TorcError(f"workflow {wf_id} still has running jobs; recover it once they end")
    client.reset_status(wf_id, job_ids=[p["job_id"] for p in plan], reinitialize=True)
