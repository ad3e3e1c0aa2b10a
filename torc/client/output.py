"""Rendering for the CLI: each object as a dict (``-f json``) and as a rich table."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterable, Sequence
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from torc import states as S
from torc.client.listing import Listing
from torc.proto import torc_pb2 as pb
from torc.spec.units import format_memory

# When piped, rich would fold tables at 80 columns; let them be as wide as their content.
console = Console(width=None if sys.stdout.isatty() else 200)


# This command's paging and sorting (torc.client.listing; set once the line is parsed).
LISTING = Listing()

def ts(t: float) -> str | None:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(t)) if t else None


def iso(t: float) -> str | None:
    """A time as Torc's JSON writes it (ISO 8601, UTC)."""
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t)) if t else None


def workflow_dict(w: pb.Workflow) -> dict[str, Any]:
    """A workflow as users see it."""
    return {"id": w.id, "name": w.name, "description": w.description, "project": w.project,
            "user": w.user, "num_jobs": w.num_jobs, "run_id": w.run_id,
            "initialized": w.initialized, "canceled": w.canceled, "complete": w.complete,
            "created_at": ts(w.created_at), "archived": w.archived,
            "timestamp": iso(w.created_at)}  # Torc's name


def status_dict(s: pb.WorkflowStatus) -> dict[str, Any]:
    """Job counts per state, in state order."""
    return {"workflow_id": s.workflow_id, "run_id": s.run_id, "num_jobs": s.num_jobs,
            "complete": s.complete, "canceled": s.canceled,
            "job_counts": {name: s.job_counts.get(name, 0) for name in S.NAMES.values()}}


def job_dict(j: pb.Job, wf_id: int | None = None) -> dict[str, Any]:
    """A job with its state; ``return_code`` is null until it finished. Torc's JobModel
    fields are there too (``depends_on_job_ids``, ``input_file_ids``, ...)."""
    return {"id": j.id, "workflow_id": wf_id, "name": j.name,
            "status": S.NAMES.get(j.status, "unknown"),
            "return_code": j.return_code if j.HasField("return_code") else None,
            "run_id": j.run_id, "attempt_id": j.attempt_id, "priority": j.priority,
            "depends_on": list(j.depends_on), "resource_requirements": j.resource_requirements,
            "worker_id": j.worker_id or None, "command": j.command,
            "num_cpus": j.num_cpus, "memory_bytes": j.memory_bytes, "num_gpus": j.num_gpus,
            "num_nodes": j.num_nodes, "runtime_seconds": j.runtime_seconds,
            "failure_handler": j.failure_handler or None, "scheduler": j.scheduler or None,
            "invocation_script": j.invocation_script or None,
            "cancel_on_blocking_job_failure": j.cancel_on_blocking_job_failure,
            "supports_termination": j.supports_termination,
            "depends_on_job_ids": list(j.depends_on), "input_file_ids": list(j.input_files),
            "output_file_ids": list(j.output_files),
            "input_user_data_ids": list(j.input_user_data),
            "output_user_data_ids": list(j.output_user_data)}


def result_dict(r: pb.JobResult, wf_id: int | None = None) -> dict[str, Any]:
    """One job result, with Torc's ResultModel fields beside ours."""
    return {"id": r.id, "job_id": r.job_id, "workflow_id": wf_id, "job_name": r.job_name,
            "run_id": r.run_id,
            "attempt_id": r.attempt_id, "return_code": r.return_code,
            "status": S.NAMES.get(r.status, "unknown"), "start_time": ts(r.start_time),
            "end_time": ts(r.end_time), "exec_seconds": round(r.end_time - r.start_time, 3),
            "worker_id": r.worker_id, "message": r.message,
            **{k: getattr(r, k) if r.HasField(k) else None
               for k in ("peak_memory_bytes", "avg_memory_bytes", "peak_cpu_percent",
                         "avg_cpu_percent")},
            "peak_memory": human_bytes(r.peak_memory_bytes) if r.HasField(
                "peak_memory_bytes") else None,
            "avg_memory": human_bytes(r.avg_memory_bytes) if r.HasField(
                "avg_memory_bytes") else None,
            "compute_node_id": r.worker_id,
            "exec_time_minutes": round((r.end_time - r.start_time) / 60, 6),
            "completion_time": iso(r.end_time)}


def for_table(row: dict[str, Any]) -> dict[str, Any]:
    """A row as a table shows it: memory in KiB/MiB/GiB (JSON keeps the spec's ``2560m``)."""
    if row.get("memory_bytes") is not None:
        return {**row, "memory": human_bytes(row["memory_bytes"])}
    return row


def human_bytes(n: int) -> str:
    """1536 -> '1.5 KiB'."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{n} B"


def action_dict(a: pb.Action) -> dict[str, Any]:
    """An action with its trigger progress and executions."""
    return {"id": a.id, "trigger_type": a.trigger_type, "action_type": a.action_type,
            "persistent": a.persistent, "trigger_count": a.trigger_count,
            "required_triggers": a.required_triggers, "pending": a.pending,
            "executed": a.executed, "jobs": list(a.job_names),
            "config": json.loads(a.config_json or "{}"),
            "executions": [{"worker_id": e.worker_id, "run_id": e.run_id,
                            "start_time": ts(e.start_time), "end_time": ts(e.end_time),
                            "success": e.success, "message": e.message,
                            "stdout": e.stdout_path, "stderr": e.stderr_path}
                           for e in a.executions]}


def worker_dict(w: pb.Worker, wf_id: int | None = None) -> dict[str, Any]:
    """A worker with its placement, resources and liveness (and Torc's ComputeNodeModel
    fields: ``is_active``, ``memory_gb``, ``compute_node_type``, ...)."""
    r = w.resources
    return {"id": w.id, "workflow_id": wf_id or w.workflow_id, "hostname": w.hostname,
            "node_name": w.node_name,
            "slurm_job_id": w.slurm_job_id, "pid": w.pid, "num_cpus": r.num_cpus,
            "memory": format_memory(r.memory_bytes), "memory_bytes": r.memory_bytes,
            "num_gpus": r.num_gpus,
            "output_dir": w.output_dir or None,
            "start_time": ts(w.start_time), "last_heartbeat": ts(w.last_heartbeat),
            "role": w.role or "worker",
            "state": "lost" if w.lost else ("active" if w.active else "exited"),
            "running_jobs": list(w.running_job_ids), "is_active": w.active,
            "memory_gb": round(r.memory_bytes / 2**30, 3),
            "duration_seconds": None if w.active else
            round(max(w.last_heartbeat - w.start_time, 0), 3),
            "compute_node_type": "slurm" if w.slurm_job_id else "local",
            "scheduler": w.scheduler or None}


def allocation_dict(a: pb.Allocation) -> dict[str, Any]:
    """A Slurm allocation of a workflow."""
    return {"slurm_job_id": a.slurm_job_id, "scheduler": a.scheduler, "action_id": a.action_id,
            "num_nodes": a.num_nodes, "state": a.state, "submitted_at": ts(a.submitted_at),
            "updated_at": ts(a.updated_at)}


def emit_json(data: Any) -> None:
    """Print JSON to stdout."""
    sys.stdout.write(json.dumps(data, indent=2) + "\n")


def rows(fmt: str, title: str, data: Sequence[dict[str, Any]], columns: Iterable[str],
         wrap: str | None = None) -> None:
    """Print rows as JSON (``-f json``: every field; as ``{wrap: [...]}`` where Torc wraps
    that listing, so its jq scripts read it) or as a table of ``columns``."""
    data = LISTING.apply(data)
    if fmt == "json":
        emit_json({wrap: list(data)} if wrap else list(data))
    else:
        table(title, data, columns)


def table(title: str | None, rows: Sequence[dict[str, Any]], columns: Iterable[str]) -> None:
    """Print rows as a table with the given columns (at least as wide as its title, so that
    the title reads on one line)."""
    cols = list(columns)
    t = Table(title=escape(title) if title else None, header_style="bold",
              min_width=len(title) + 4 if title else None)
    for c in cols:
        t.add_column(c.replace("_", " "), overflow="fold")
    for row in rows:
        t.add_row(*("" if row.get(c) is None else _cell(row.get(c)) for c in cols))
    console.print(t)


def _cell(value: Any) -> str:
    """A value as cell text, with rich markup escaped: names like ``boom[/x]`` are data."""
    if isinstance(value, (list, tuple)):
        return escape(", ".join(str(v) for v in value))
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape(str(value))
