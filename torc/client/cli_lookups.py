"""Torc's verbs that look one thing up, or a workflow's loose ends: ``files get``,
``results get``, ``compute-nodes get``, ``scheduled-compute-nodes get|list-jobs``,
``events get-latest-event``, ``files list-required-existing``, ``user-data list-missing``,
``jobs list-resource-requirements`` and ``workflows sync-status``. Ids of files, results and
workers are global, as Torc's: ``get ID`` finds the workflow that owns it (``-w WORKFLOW``
may still name it)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from torc import slurm
from torc.client import output, pick
from torc.client.parser_walk import verbs_of
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb
from torc.spec.units import format_duration


def _workflow(c: TorcClient, a: argparse.Namespace) -> int:
    if a.id is None:
        a.id = pick.workflow_id(c, a)  # $TORC_WORKFLOW_ID in a job
    return int(a.id)


def _one(a: argparse.Namespace, title: str, row: dict[str, Any] | None, what: str) -> None:
    if row is None:
        raise TorcError(f"workflow {a.id} has no {what}")
    if a.format == "json":
        output.emit_json(row)
    else:
        output.table(title, [row], list(row))


def _file_row(f: pb.FileInfo, wf: int) -> dict[str, Any]:
    return {"id": f.id, "workflow_id": wf, "name": f.name, "path": f.path,
            "required": f.required,
            "st_mtime": f.mtime if f.HasField("mtime") else None}


def cmd_file_get(c: TorcClient, a: argparse.Namespace) -> None:
    wf = _workflow(c, a)
    row = next((_file_row(f, wf) for f in c.list_files(wf) if f.id == a.item_id), None)
    _one(a, f"file {a.item_id} of workflow {wf}", row, f"file {a.item_id}")


def required_inputs(c: TorcClient, wf: int) -> list[dict[str, Any]]:
    """The input files no job writes (they must exist before the run), and whether they do,
    seen from here, where jobs run."""
    return [{**_file_row(f, wf), "exists": (Path.cwd() / f.path).exists()}
            for f in c.list_files(wf) if f.required]


def cmd_required_existing(c: TorcClient, a: argparse.Namespace) -> None:
    output.rows(a.format, f"files workflow {a.id} needs before it runs",
                required_inputs(c, a.id), ["id", "name", "path", "exists"], wrap="files")


def initialize_dry_run(c: TorcClient, a: argparse.Namespace) -> None:
    """Torc's ``initialize --dry-run``: would it start, and with what missing? Exit 1 when
    initialize would fail (or the workflow already runs)."""
    missing = [] if a.force else [{"file_id": f["id"], "name": f["name"], "path": f["path"]}
                                  for f in required_inputs(c, a.id) if not f["exists"]]
    lacking = missing_user_data(c, a.id)
    wf = c.get_workflow(a.id)
    if a.format == "json":
        output.emit_json({"workflow_id": a.id, "dry_run": True, "already_initialized":
                          wf.initialized, "missing_input_files": missing,
                          "missing_user_data": lacking})
    else:
        print(f"workflow {a.id}: " + ("already initialized (reinitialize starts a new run)"
                                     if wf.initialized else "would initialize" if not
                                     missing + lacking else "cannot initialize yet"))
        for m in missing:
            print(f"  input file {m['name']!r} is missing: {m['path']}")
        for u in lacking:
            print(f"  input user data {u['name']!r} has no value and no job writes it")
    if missing or lacking or wf.initialized:
        sys.exit(1)


def missing_user_data(c: TorcClient, wf: int) -> list[dict[str, Any]]:
    """User data that jobs read, that no job writes and that holds no value."""
    jobs = c.list_jobs(wf)
    written = {u for j in jobs for u in j.output_user_data}
    read = {u for j in jobs for u in j.input_user_data}
    return [{"id": u.id, "workflow_id": wf, "name": u.name}
            for u in c.page("ListUserData", wf).user_data
            if u.id in read and u.id not in written and u.data_json.strip() in ("", "null")]


def cmd_missing_user_data(c: TorcClient, a: argparse.Namespace) -> None:
    output.rows(a.format, f"user data workflow {a.id} lacks", missing_user_data(c, a.id),
                ["id", "name"], wrap="user_data")


def cmd_result_get(c: TorcClient, a: argparse.Namespace) -> None:
    """One result by its id, as Torc's reference has it (``torc results get ID``); or, as
    Torc's debugging how-to types it, a job's latest result (or of --run-id /
    --attempt-id): ``torc results get WORKFLOW --job-id JOB``."""
    if a.job_id is None:
        if a.item_id is None:
            raise TorcError("give a result id, or --job-id for a job's latest result")
        wf = a.id = c.locate("result", a.item_id)
        found = c.call("ListResults", pb.ListResultsRequest(workflow_id=wf,
                                                            result_id=a.item_id)).results
        _one(a, f"result {a.item_id}", output.result_dict(found[0], wf) if found else None,
             f"result {a.item_id}")
        return
    wf = a.id = a.item_id if a.item_id is not None else c.locate("job", a.job_id)
    chosen = [r for r in c.list_results(wf, job_id=a.job_id, all_runs=True)
              if (a.run_id is None or r.run_id == a.run_id)
              and (a.attempt_id is None or r.attempt_id == a.attempt_id)]
    _one(a, f"result of job {a.job_id} in workflow {wf}",
         output.result_dict(chosen[-1], wf) if chosen else None, f"result of job {a.job_id}")


def cmd_compute_node_get(c: TorcClient, a: argparse.Namespace) -> None:
    wf = _workflow(c, a)
    row = next((output.worker_dict(w) for w in c.list_workers(wf) if w.id == a.item_id), None)
    if row is not None and a.format != "json":
        row = output.for_table(row)
    _one(a, f"compute node {a.item_id}", row, f"compute node (worker) {a.item_id}")


def cmd_allocation_get(c: TorcClient, a: argparse.Namespace) -> None:
    wf = _workflow(c, a)
    row = next((output.allocation_dict(x) for x in c.list_allocations(wf)
                if x.slurm_job_id == a.slurm_job_id), None)
    _one(a, f"Slurm allocation {a.slurm_job_id}", row, f"Slurm allocation {a.slurm_job_id}")


def cmd_allocation_jobs(c: TorcClient, a: argparse.Namespace) -> None:
    wf = _workflow(c, a)
    workers = {w.id for w in c.list_workers(wf) if w.slurm_job_id == a.slurm_job_id}
    rows = [output.result_dict(r) for r in c.list_results(wf, all_runs=True)
            if r.worker_id in workers]
    output.rows(a.format, f"jobs that ran in Slurm allocation {a.slurm_job_id}", rows,
                ["job_id", "job_name", "run_id", "attempt_id", "status", "return_code"],
                wrap="jobs")


def cmd_latest_event(c: TorcClient, a: argparse.Namespace) -> None:
    from torc.client.cli_relations import event_rows
    events = event_rows(c, a.id)
    _one(a, f"latest event of workflow {a.id}", events[-1] if events else None, "events")


def cmd_job_requirements(c: TorcClient, a: argparse.Namespace) -> None:
    rows = [{"job_id": j.id, "job_name": j.name,
             "resource_requirements": j.resource_requirements, "num_cpus": j.num_cpus,
             "num_gpus": j.num_gpus, "num_nodes": j.num_nodes,
             "memory": output.human_bytes(j.memory_bytes),
             "runtime": format_duration(j.runtime_seconds),
             "runtime_seconds": j.runtime_seconds}
            for j in c.list_jobs(a.id) if a.job_id is None or j.id == a.job_id]
    output.rows(a.format, f"what the jobs of workflow {a.id} ask for", rows,
                [k for k in rows[0] if k != "runtime_seconds"] if rows else ["job_id"],
                wrap="jobs")


def cmd_job_logs(c: TorcClient, a: argparse.Namespace) -> None:
    """A job's stdout (or --stderr) of its latest attempt, or of --run-id/--attempt-id."""
    from torc.client.reports import OutputDirs
    wf = _workflow(c, a)
    jobs = c.list_jobs(wf, job_ids=[a.job_id])
    if not jobs:
        raise TorcError(f"workflow {wf} has no job {a.job_id}")
    run, attempt = jobs[0].run_id, jobs[0].attempt_id  # the attempt running, or the last
    tried = [r for r in c.list_results(wf, job_id=a.job_id, all_runs=True)
             if (a.run_id is None or r.run_id == a.run_id)
             and (a.attempt_id is None or r.attempt_id == a.attempt_id)]
    if tried:
        run, attempt = tried[-1].run_id, tried[-1].attempt_id
    elif a.run_id is not None or a.attempt_id is not None or not attempt:
        raise TorcError(f"job {a.job_id} of workflow {wf} has no such attempt")
    worker = tried[-1].worker_id if tried else jobs[0].worker_id
    ref = pb.JobResult(job_id=a.job_id, run_id=run, attempt_id=attempt, worker_id=worker)
    path = OutputDirs(c.list_workers(wf), a.output_dir).stdio(wf, ref).with_suffix(
        ".e" if a.stderr else ".o")
    try:
        text = path.read_text(errors="replace")
    except OSError as e:
        raise TorcError(f"cannot read {path}: {e.strerror} (is --output-dir where the "
                        "worker wrote?)") from None
    if a.tail:
        text = "".join(text.splitlines(keepends=True)[-a.tail:])
    if a.format == "json":
        output.emit_json({"workflow_id": wf, "job_id": a.job_id, "run_id": run,
                          "attempt_id": attempt, "path": str(path), "text": text})
    else:
        print(text, end="")


def cmd_sync_status(c: TorcClient, a: argparse.Namespace) -> None:
    """Torc's ``workflows sync-status``: the coordinator asks Slurm now (it also does every
    ``--slurm-poll-interval``) and fails the jobs of allocations that ended (``--dry-run``:
    only says which), so that ``torc recover`` can run them again."""
    r = c.sync_status(a.id, dry_run=a.dry_run)
    jobs = [{"job_id": j.job_id, "job_name": j.job_name, "worker_id": j.worker_id,
             "reason": "Allocation terminated", "slurm_job_id": j.slurm_job_id or None}
            for j in r.orphaned_jobs]
    gone = [x for x in r.changed_allocations if x.state in slurm.FINAL_STATES]
    if a.format == "json":  # Torc's OrphanCleanupResult, and what torc-py adds
        output.emit_json({
            "workflow_id": a.id, "dry_run": a.dry_run, "slurm_jobs_failed": len(jobs),
            # allocations found ended that ran none of the failed jobs
            "pending_allocations_cleaned": len({x.slurm_job_id for x in gone}
                                               - {j["slurm_job_id"] for j in jobs}),
            "running_jobs_failed": 0, "failed_job_details": jobs,
            "message": (f"{len(jobs)} job(s) {'would be ' if a.dry_run else ''}marked as "
                        "failed" if jobs else "in sync with Slurm: no orphaned jobs"),
            "lost_worker_ids": list(r.lost_worker_ids),
            "changed_allocations": [{"slurm_job_id": x.slurm_job_id, "state": x.state}
                                    for x in r.changed_allocations]})
        return
    for x in r.changed_allocations:
        print(f"Slurm job {x.slurm_job_id} ({x.scheduler}) is {x.state}")
    if not jobs:
        print("No orphaned jobs found. Workflow state is in sync with Slurm.")
        return
    output.table(f"{'would fail' if a.dry_run else 'failed'}: jobs of workflow {a.id} whose "
                 "Slurm allocation has ended", jobs,
                 ["job_id", "job_name", "worker_id", "slurm_job_id"])
    if not a.dry_run:
        print(f"{len(jobs)} job(s) marked as failed; `torc recover {a.id}` runs them again")


def cmd_ping(c: None, a: argparse.Namespace) -> None:
    """Torc's ``torc ping``: is the coordinator there? With ``--wait S``, wait for it up to S
    seconds (a script that just started ``torc-coord serve``). Exit 1 when it is not."""
    from torc.client.stub import ClientError
    from torc.config import DEFAULT_URL
    url = a.url or os.environ.get("TORC_URL") or DEFAULT_URL
    with TorcClient(url) as client:
        try:
            client.wait_ready(timeout=a.wait or 5.0, wait=bool(a.wait))
        except ClientError as e:
            why = e.message
            if a.format == "json":
                output.emit_json({"status": "error", "message": f"{url}: {why}"})
            else:
                print(f"Failed to connect to the coordinator at {url}: {why}", file=sys.stderr)
            sys.exit(1)
    if a.format == "json":
        output.emit_json({"status": "Server is running", "url": url})
    else:
        print("Server is running")


def _with_workflow(s: argparse.ArgumentParser) -> None:
    s.add_argument("-w", "--workflow-id", dest="id", type=int,
                   help="its workflow (default: $TORC_WORKFLOW_ID, or your only one)")


def add_commands(sub: Any) -> None:
    """Add the verbs above to their groups (which exist by then), and ``torc ping``."""
    s = sub.add_parser("ping", help="is the coordinator there? (exit 1 when not)")
    s.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                   help="wait for it to answer, up to this long")
    s.set_defaults(func=cmd_ping, local=True)
    s = verbs_of(sub, "files").add_parser("get", help="one file (ids are global)")
    s.add_argument("item_id", type=int, metavar="ID")
    _with_workflow(s)
    s.set_defaults(func=cmd_file_get, locate=("file", "item_id"))
    for group, verb, func, text in (
            ("files", "list-required-existing", cmd_required_existing,
             "input files no job writes, and whether they exist here"),
            ("user-data", "list-missing", cmd_missing_user_data,
             "user data jobs read that nothing provides"),
            ("events", "get-latest-event", cmd_latest_event, "the latest event"),
            ("jobs", "list-resource-requirements", cmd_job_requirements,
             "what each job asks for"),
            ("workflows", "sync-status", cmd_sync_status,
             "ask Slurm now; fail jobs whose allocation has ended")):
        s = verbs_of(sub, group).add_parser(verb, help=text)
        s.add_argument("id", type=int)
        if verb == "list-resource-requirements":
            s.add_argument("-j", "--job-id", type=int, help="only this job")
        if verb == "sync-status":
            s.add_argument("--dry-run", action="store_true",
                           help="say what would change; change nothing")
        s.set_defaults(func=func)
    s = verbs_of(sub, "jobs").add_parser("logs", help="a job's stdout (or --stderr), its "
                                       "latest attempt's unless --run-id/--attempt-id")
    s.add_argument("id", type=int, nargs="?", metavar="WORKFLOW_ID")
    s.add_argument("job_id", type=int)
    s.set_defaults(locate=("job", "job_id"))
    s.add_argument("-e", "--stderr", action="store_true", help="stderr instead of stdout")
    s.add_argument("-r", "--run-id", type=int)
    s.add_argument("-a", "--attempt-id", type=int)
    s.add_argument("-n", "--tail", type=int, help="only the last N lines")
    s.add_argument("-o", "--output-dir", default=None,
                   help="where the worker wrote (default: where it said, else ./output)")
    s.set_defaults(func=cmd_job_logs)
    s = verbs_of(sub, "results").add_parser(
        "get", help="one result by its id (Torc's), or with -j a job's latest (or of a run)")
    s.add_argument("item_id", type=int, nargs="?", metavar="ID",
                   help="a result id; with --job-id, the workflow's id (may be left out)")
    s.add_argument("-j", "--job-id", type=int)
    s.add_argument("-r", "--run-id", type=int)
    s.add_argument("-a", "--attempt-id", type=int)
    s.set_defaults(func=cmd_result_get)
    s = verbs_of(sub, "compute-nodes").add_parser("get", help="one worker (ids are global)")
    s.add_argument("item_id", type=int, metavar="ID")
    _with_workflow(s)
    s.set_defaults(func=cmd_compute_node_get, locate=("compute_node", "item_id"))
    nodes = verbs_of(sub, "scheduled-compute-nodes")
    for verb, func in (("get", cmd_allocation_get), ("list-jobs", cmd_allocation_jobs)):
        s = nodes.add_parser(verb, help="a Slurm allocation" if verb == "get"
                             else "the jobs that ran in a Slurm allocation")
        s.add_argument("slurm_job_id", metavar="SLURM_JOB_ID")
        _with_workflow(s)
        s.set_defaults(func=func)
