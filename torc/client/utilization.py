"""``torc reports check-resource-utilization``, as Torc reports it: for each job's result
(completed ones; with ``include_failed`` failed and terminated ones too), memory, CPU and
runtime against what the job asked for; rows over by at least ``min_over`` percent are
violations (``show_all``: every row); failed jobs get Torc's likely-OOM and likely-timeout
diagnosis. A pure function of the listings, in Torc's JSON shape."""

from __future__ import annotations

from typing import Any

from torc import states as S
from torc.client import output
from torc.proto import torc_pb2 as pb

SIGKILL_CODE, SIGXCPU_CODE = 137, 152


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}h {m}m {s}s" if h else f"{m}m {s}s" if m else f"{s}s"


def _chosen(results: list[pb.JobResult], run_id: int | None,
            include_failed: bool) -> list[pb.JobResult]:
    """Each job's last result (in ``run_id`` when given) whose status is looked at."""
    wanted = {S.COMPLETED} | ({S.FAILED, S.TERMINATED} if include_failed else set())
    latest: dict[int, pb.JobResult] = {}
    for r in results:  # in the order recorded: a later attempt replaces an earlier one
        if run_id is None or r.run_id == run_id:
            latest[r.job_id] = r
    return [r for r in latest.values() if r.status in wanted]


def _failed_info(r: pb.JobResult, job: pb.Job, took: float) -> dict[str, Any]:
    """Torc's diagnosis of a failed or terminated attempt."""
    peak = r.peak_memory_bytes if r.HasField("peak_memory_bytes") else None
    cpu = r.peak_cpu_percent if r.HasField("peak_cpu_percent") else None
    info: dict[str, Any] = {
        "job_id": job.id, "job_name": job.name, "return_code": r.return_code,
        "exec_time_minutes": round(took / 60, 4),
        "configured_memory": output.human_bytes(job.memory_bytes),
        "configured_runtime": f"PT{job.runtime_seconds:g}S" if job.runtime_seconds else None,
        "configured_cpus": job.num_cpus, "peak_memory_bytes": peak,
        "peak_memory_formatted": output.human_bytes(peak) if peak is not None else None,
        "likely_oom": False, "oom_reason": None, "memory_over_utilization": None,
        "likely_timeout": False, "timeout_reason": None, "runtime_utilization": None,
        "likely_cpu_violation": cpu is not None and cpu > 100 * job.num_cpus,
        "peak_cpu_percent": cpu, "likely_runtime_violation": False}
    if peak is not None and job.memory_bytes and peak > job.memory_bytes:
        info.update(likely_oom=True, oom_reason="memory_exceeded",
                    memory_over_utilization=f"+{(peak / job.memory_bytes - 1) * 100:.1f}%")
    if r.message.startswith("out of memory") and not info["likely_oom"]:
        info.update(likely_oom=True, oom_reason="memory_exceeded")  # the worker killed it
    share = took / job.runtime_seconds if job.runtime_seconds else None
    if share is not None:
        info["runtime_utilization"] = f"{share * 100:.1f}%"
        info["likely_timeout"] = share > 0.9
        info["likely_runtime_violation"] = share > 1
    if r.return_code == SIGXCPU_CODE or r.message.startswith("timeout"):
        info.update(likely_timeout=True, timeout_reason="sigxcpu_152")
    if not info["likely_oom"] and r.return_code in (SIGKILL_CODE, -9) \
            and (share is None or share < 0.8):
        info.update(likely_oom=True, oom_reason="sigkill_137")
    return info


def _row(job: pb.Job, kind: str, specified: str, used: str, ratio: float) -> dict[str, Any]:
    sign = "+" if ratio > 1 else "-"
    return {"job_id": job.id, "job_name": job.name, "resource_type": kind,
            "specified": specified, "peak_used": used,
            "over_utilization": f"{sign}{abs(ratio - 1) * 100:.1f}%"}


def report(wf_id: int, jobs: list[pb.Job], results: list[pb.JobResult],
           run_id: int | None = None, show_all: bool = False, include_failed: bool = False,
           min_over: float = 1.0) -> dict[str, Any]:
    """The report, as Torc's ``-f json`` prints it."""
    by_id = {j.id: j for j in jobs}
    chosen = _chosen(results, run_id, include_failed)
    rows: list[dict[str, Any]] = []
    failed: list[dict[str, Any]] = []
    over = 0
    for r in chosen:
        job = by_id.get(r.job_id)
        if job is None:
            continue
        took = r.end_time - r.start_time
        if r.status != S.COMPLETED:
            failed.append(_failed_info(r, job, took))
        checks = []
        if r.HasField("peak_memory_bytes") and job.memory_bytes:
            checks.append(("Memory", r.peak_memory_bytes / job.memory_bytes,
                           output.human_bytes(job.memory_bytes),
                           output.human_bytes(r.peak_memory_bytes)))
        if r.HasField("peak_cpu_percent") and job.num_cpus:
            allowed = 100.0 * job.num_cpus
            checks.append(("CPU", r.peak_cpu_percent / allowed,
                           f"{allowed:.0f}% ({job.num_cpus} cores)",
                           f"{r.peak_cpu_percent:.1f}%"))
        if job.runtime_seconds:
            checks.append(("Runtime", took / job.runtime_seconds,
                           _duration(job.runtime_seconds), _duration(took)))
        for kind, ratio, specified, used in checks:
            if ratio > 1 and (ratio - 1) * 100 >= min_over:
                over += 1
                rows.append(_row(job, kind, specified, used, ratio))
            elif show_all and ratio <= 1:
                rows.append(_row(job, kind, specified, used, ratio))
    return {"workflow_id": wf_id, "run_id": run_id, "total_results": len(chosen),
            "over_utilization_count": over, "violations": rows,
            "resource_violations_count": len(failed), "resource_violations": failed}
