"""Torc's 16 MCP tools (``torc-mcp-server/src/server.rs``), by their names and parameters.
Each is a thin call: a CLI verb through ``cli_calls`` (its JSON is the answer), or a few of
them composed where Torc's tool does more than one verb (the pending_failed loop, creating
from a spec in several ways)."""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torc.client.mcp.cli_calls import ToolFailure, call
from torc.client.stub import ClientError, TorcClient

STDERR_TAIL_LINES = 50  # as Torc's list_pending_failed_jobs
STATUSES = ("uninitialized", "blocked", "ready", "pending", "running", "completed", "failed",
            "canceled", "terminated", "disabled", "pending_failed")


@dataclass(frozen=True)
class Target:
    """The coordinator the tools act on, and where its workers write (Torc's
    ``--output-dir``, for logs)."""

    url: str
    output_dir: str = "output"


def _spec_file(spec_json: str, where: Path) -> Path:
    try:
        spec = json.loads(spec_json)
    except json.JSONDecodeError as e:
        raise ToolFailure(f"spec_json is not valid JSON: {e.msg} (line {e.lineno}, column "
                          f"{e.colno})") from None
    path = where / "spec.json"
    path.write_text(json.dumps(spec, indent=2))
    return path


def _named(e: ToolFailure, path: Path) -> ToolFailure:
    """An error about the spec's temporary file, said of ``spec_json``."""
    return ToolFailure(str(e).replace(str(path), "spec_json"))


def create_workflow(t: Target, spec_json: str, action: str, workflow_type: str = "local",
                    user: str | None = None, account: str | None = None,
                    hpc_profile: str | None = None,
                    output_path: str | None = None) -> dict[str, Any]:
    """validate, save_spec_file or create_workflow; a slurm workflow_type gets schedulers and
    schedule_nodes actions planned for the HPC profile (``torc slurm generate``)."""
    if action not in ("validate", "save_spec_file", "create_workflow"):
        raise ToolFailure(f"action {action!r}: use validate, save_spec_file or create_workflow")
    if workflow_type not in ("local", "slurm"):
        raise ToolFailure(f"workflow_type {workflow_type!r}: use local or slurm")
    with tempfile.TemporaryDirectory(prefix="torc-mcp-") as tmp:
        path = _spec_file(spec_json, Path(tmp))
        if workflow_type == "slurm":
            if not account:
                raise ToolFailure("account is required for a slurm workflow_type")
            generated = Path(tmp) / "generated.json"
            call(t.url, "slurm", "generate", str(path), "--account", account,
                 *(["--profile", hpc_profile] if hpc_profile else []), "-o", str(generated))
            path = generated
        try:
            checked = call(t.url, "workflows", "create", str(path), "--dry-run")
        except ToolFailure as e:
            raise _named(e, path) from None
        if action == "validate":
            return {"valid": True, "action": action, "summary": checked}
        if action == "save_spec_file":  # saved only once valid
            if not output_path:
                raise ToolFailure("output_path is required for save_spec_file (a .json file)")
            target = Path(output_path).expanduser()
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(path.read_text())
            run = "torc submit" if workflow_type == "slurm" else "torc run"
            return {"action": action, "path": str(target.resolve()),
                    "next_steps": ["replace placeholder commands with the real ones",
                                   "make sure input files exist where the spec says",
                                   f"{run} {target}"]}
        made = call(t.url, "workflows", "create", str(path), *(["-u", user] if user else []))
        return {"action": action, "workflow": made}


def get_execution_plan(t: Target, spec_or_id: str) -> Any:
    """The plan of a workflow (an id) or of a spec not yet created (JSON)."""
    text = spec_or_id.strip()
    if text.isdigit():
        return call(t.url, "workflows", "execution-plan", text)
    with tempfile.TemporaryDirectory(prefix="torc-mcp-") as tmp:
        return call(t.url, "workflows", "execution-plan", str(_spec_file(text, Path(tmp))))


def get_job_details(t: Target, job_id: int) -> dict[str, Any]:
    """The job (command, status, requirements) and its latest result."""
    job = call(t.url, "jobs", "get", str(job_id))
    results = call(t.url, "results", "list", str(job["workflow_id"]), "--job-id", str(job_id),
                   "--all-runs")
    rows = results.get("results", []) if isinstance(results, dict) else []
    return {"job": job, "latest_result": rows[-1] if rows else None}


def list_jobs_by_status(t: Target, workflow_id: int, status: str) -> Any:
    if status not in STATUSES:
        raise ToolFailure(f"status {status!r}: one of {', '.join(STATUSES)}")
    return call(t.url, "jobs", "list", str(workflow_id), "--status", status)


def get_workflow_status(t: Target, workflow_id: int) -> Any:
    return call(t.url, "workflows", "status", str(workflow_id))


def get_workflow_summary(t: Target, workflow_id: int) -> Any:
    return call(t.url, "reports", "summary", str(workflow_id))


def list_results(t: Target, workflow_id: int, job_id: int | None = None,
                 run_id: int | None = None, return_code: int | None = None,
                 failed_only: bool | None = None, status: str | None = None,
                 limit: int | None = None, sort_by: str | None = None,
                 reverse_sort: bool | None = None) -> Any:
    argv = ["results", "list", str(workflow_id), "--all-runs", "-l", str(limit or 100)]
    for flag, value in (("--job-id", job_id), ("--run-id", run_id),
                        ("--return-code", return_code), ("--status", status),
                        ("--sort-by", sort_by)):
        if value is not None:
            argv += [flag, str(value)]
    if failed_only:
        argv.append("--failed")
    if reverse_sort:
        argv.append("--reverse-sort")
    return call(t.url, *argv)


def analyze_workflow_logs(t: Target, workflow_id: int, output_dir: str | None = None) -> Any:
    return call(t.url, "logs", "analyze", output_dir or t.output_dir, "--workflow-id",
                str(workflow_id))


def get_job_logs(t: Target, workflow_id: int, job_id: int, run_id: int, log_type: str,
                 attempt_id: int = 1, tail_lines: int | None = None) -> Any:
    if log_type not in ("stdout", "stderr"):
        raise ToolFailure(f"log_type {log_type!r}: stdout or stderr")
    argv = ["jobs", "logs", str(workflow_id), str(job_id), "--run-id", str(run_id),
            "--attempt-id", str(attempt_id), "--output-dir", t.output_dir]
    if log_type == "stderr":
        argv.append("--stderr")
    if tail_lines:
        argv += ["--tail", str(tail_lines)]
    return call(t.url, *argv)


def list_failed_jobs(t: Target, workflow_id: int) -> Any:
    return call(t.url, "jobs", "list", str(workflow_id), "--status", "failed")


def check_resource_utilization(t: Target, workflow_id: int,
                               include_failed: bool | None = None) -> Any:
    return call(t.url, "reports", "check-resource-utilization", str(workflow_id),
                *(["--include-failed"] if include_failed else []))


def get_slurm_sacct(t: Target, workflow_id: int) -> Any:
    return call(t.url, "slurm", "sacct", str(workflow_id), "--output-dir", t.output_dir)


def update_job_resources(t: Target, job_id: int, num_cpus: int | None = None,
                         memory: str | None = None, runtime: str | None = None) -> Any:
    if num_cpus is None and memory is None and runtime is None:
        raise ToolFailure("give num_cpus, memory or runtime")
    argv = ["jobs", "update", str(job_id)]
    for flag, value in (("--num-cpus", num_cpus), ("--memory", memory),
                        ("--runtime", runtime)):
        if value is not None:
            argv += [flag, str(value)]
    return call(t.url, *argv)


def recover_workflow(t: Target, workflow_id: int, dry_run: bool,
                     memory_multiplier: float | None = None,
                     runtime_multiplier: float | None = None,
                     retry_unknown: bool | None = None) -> Any:
    """Torc's recover of a Slurm workflow: new allocations through its schedule_nodes
    actions. A workflow without them is reset only (nothing would run it here)."""
    argv = ["recover", str(workflow_id), "--output-dir", t.output_dir]
    if dry_run:
        argv.append("--dry-run")
    if memory_multiplier is not None:
        argv += ["--memory-multiplier", str(memory_multiplier)]
    if runtime_multiplier is not None:
        argv += ["--runtime-multiplier", str(runtime_multiplier)]
    if retry_unknown:
        argv.append("--retry-unknown")
    with TorcClient(t.url) as c:
        on_slurm = any(a.action_type == "schedule_nodes" for a in c.list_actions(workflow_id))
    if not on_slurm and not dry_run:
        argv.append("--no-run")
    done = call(t.url, *argv)
    out: dict[str, Any] = {"workflow_id": workflow_id, "dry_run": dry_run, "recovery": done}
    if not on_slurm and not dry_run:
        out["next_step"] = (f"the jobs are reset; workflow {workflow_id} has no Slurm "
                            f"schedule_nodes action: run it with `torc run {workflow_id}`")
    return out


def _held(t: Target, workflow_id: int) -> list[dict[str, Any]]:
    """The workflow's jobs in pending_failed (``torc jobs list --status pending_failed``)."""
    listed = call(t.url, "jobs", "list", str(workflow_id), "--status", "pending_failed")
    return listed.get("jobs", []) if isinstance(listed, dict) else []


def list_pending_failed_jobs(t: Target, workflow_id: int) -> dict[str, Any]:
    """Jobs held in pending_failed, each with its latest result and the tail of its stderr,
    for an assistant to classify."""
    out = []
    for j in _held(t, workflow_id):
        entry: dict[str, Any] = {"job_id": j["id"], "name": j["name"], "command": j["command"],
                                 "attempt_id": j.get("attempt_id"),
                                 "return_code": j.get("return_code")}
        try:
            logs = call(t.url, "jobs", "logs", str(workflow_id), str(j["id"]), "--stderr",
                        "--tail", str(STDERR_TAIL_LINES), "--output-dir", t.output_dir)
            entry.update(stderr_tail=logs["text"], stderr_read_error=None)
        except ToolFailure as e:
            entry.update(stderr_tail="", stderr_read_error=str(e))
        out.append(entry)
    return {"workflow_id": workflow_id, "pending_failed_count": len(out),
            "pending_failed_jobs": out,
            "guidance": ("No jobs are awaiting classification." if not out else
                         "These jobs failed without a matching failure handler. Analyze the "
                         "stderr to classify each failure as transient (retry) or permanent "
                         "(fail), then call classify_and_resolve_failures.")}


def classify_and_resolve_failures(t: Target, workflow_id: int,
                                  classifications: list[dict[str, Any]],
                                  dry_run: bool) -> dict[str, Any]:
    """Retry (with new memory or runtime if given) or fail each pending_failed job."""
    held = {j["id"]: j for j in _held(t, workflow_id)}
    results: list[dict[str, Any]] = []
    retry: list[int] = []
    fail: list[int] = []
    for c in classifications:
        job_id, action = int(c["job_id"]), str(c.get("action", "")).lower()
        row: dict[str, Any] = {"job_id": job_id, "action": action, "reason": c.get("reason"),
                               "memory_adjustment": c.get("memory"),
                               "runtime_adjustment": c.get("runtime")}
        if job_id not in held:
            results.append({**row, "status": "skipped",
                            "message": "the job is not pending_failed in this workflow"})
            continue
        if action not in ("retry", "fail"):
            results.append({**row, "status": "error",
                            "message": f"invalid action {action!r}: retry or fail"})
            continue
        row["job_name"] = held[job_id]["name"]
        if dry_run:
            results.append({**row, "status": "would_apply"})
            continue
        if action == "retry" and (c.get("memory") or c.get("runtime")):
            update_job_resources(t, job_id, memory=c.get("memory"), runtime=c.get("runtime"))
        (retry if action == "retry" else fail).append(job_id)
        results.append({**row, "status": "applied"})
    try:
        with TorcClient(t.url) as client:
            if fail:
                client.fail_pending_jobs(workflow_id, fail)
            if retry:  # in the current run, as their next attempt; the rest runs on
                client.reset_status(workflow_id, job_ids=retry, retry=True)
    except ClientError as e:
        raise ToolFailure(e.message) from None
    return {"workflow_id": workflow_id, "dry_run": dry_run, "retried": retry, "failed": fail,
            "results": results}
