"""Why jobs did not complete, in words a newcomer can act on: each job's status and return
code, the reason its result gives (or what the code means), and the last lines of its
stderr; and the workflow actions that failed. Pure over the listings, plus reading the tails
of the jobs' stderr files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torc.client.reports import OutputDirs
from torc.proto import torc_pb2 as pb

SHOWN = 20  # rows in torc run's summary; the rest are counted
TAIL_BYTES = 4096
CODES = {137: "killed (SIGKILL): out of memory, or stopped", 152: "over its runtime (SIGXCPU)",
         127: "command not found", 126: "command not executable",
         -128: "its node or worker was lost"}


def tail(path: Path, lines: int = 2) -> str:
    """The last non-empty ``lines`` of a file (empty when it is missing)."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            f.seek(max(f.tell() - TAIL_BYTES, 0))
            text = f.read().decode(errors="replace")
    except OSError:
        return ""
    kept = [line.strip() for line in text.splitlines() if line.strip()][-lines:]
    return " | ".join(line[:160] for line in kept)


def why(job: dict[str, Any], result: pb.JobResult | None) -> str:
    """The reason, from the result's message, the return code, or the job's state."""
    if job["status"] == "canceled":
        return "canceled: a job it depends on did not complete"
    if result is None:
        return {"pending_failed": "failed; held for torc recover (use_pending_failed)"}.get(
            job["status"], f"did not run ({job['status']})")
    if result.message:
        return result.message
    return CODES.get(result.return_code, f"exited {result.return_code}")


def explain(wf_id: int, jobs: list[dict[str, Any]], results: list[pb.JobResult],
            dirs: OutputDirs) -> list[dict[str, Any]]:
    """One row per job that did not complete: why, and its stderr's last lines (and where
    that file is)."""
    latest = {r.job_id: r for r in results}
    rows = []
    for job in jobs:
        r = latest.get(job["id"])
        stderr = dirs.stdio(wf_id, r).with_suffix(".e") if r is not None else None
        rows.append({**job, "why": why(job, r), "stderr": tail(stderr) if stderr else "",
                     "stderr_file": str(stderr) if stderr else None})
    return rows


def summarize(client: Any, wf_id: int, status: dict[str, Any],
              dirs: OutputDirs) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The jobs of a workflow that did not complete (explained) and the actions of its run
    that failed."""
    from torc import states as S
    from torc.client import output
    done = sum(status["job_counts"].get(k, 0) for k in ("completed", "disabled"))
    # Listing every job only to find none that failed took longer than the rest.
    failed = [] if done == status["num_jobs"] else explain(
        wf_id, [output.job_dict(j, wf_id) for j in client.list_jobs(wf_id)
                if j.status not in (S.COMPLETED, S.DISABLED)],
        client.list_results(wf_id), dirs)
    return failed, failed_actions(client.list_actions(wf_id), status["run_id"])


def print_summary(wf_id: int, failed: list[dict[str, Any]],
                  bad_actions: list[dict[str, Any]]) -> None:
    """The tables ``torc run`` and ``torc watch`` end with when something did not work."""
    from torc.client import output
    if failed:
        more = len(failed) - SHOWN
        output.table("jobs that did not complete" + (
            f" (first {SHOWN}; {more} more: torc results list {wf_id} --failed)"
            if more > 0 else ""), failed[:SHOWN],
            ["id", "name", "status", "return_code", "why", "stderr"])
    if bad_actions:
        output.table("workflow actions that failed", bad_actions,
                     ["action_id", "trigger_type", "action_type", "message", "stderr"])


def failed_actions(actions: list[pb.Action], run_id: int) -> list[dict[str, Any]]:
    """The workflow actions whose execution in ``run_id`` failed."""
    return [{"action_id": a.id, "trigger_type": a.trigger_type,
             "action_type": a.action_type, "worker_id": e.worker_id, "message": e.message,
             "stderr": e.stderr_path}
            for a in actions for e in a.executions if not e.success and e.run_id == run_id]
