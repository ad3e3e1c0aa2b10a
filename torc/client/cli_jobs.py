"""``torc jobs ...`` and ``torc results list``: one job's state, changes and results."""

from __future__ import annotations

import argparse
from typing import Any

from torc.client import output
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.spec.units import parse_duration, parse_memory

JOB_COLUMNS = ["id", "name", "status", "return_code", "run_id", "attempt_id", "command"]


def cmd_jobs(c: TorcClient, a: argparse.Namespace) -> None:
    only = None
    if a.upstream_job_id is not None:  # Torc's: the jobs that depend on this one
        only = [j.id for j in c.list_jobs(a.id) if a.upstream_job_id in j.depends_on]
    jobs = [] if only == [] else c.list_jobs(a.id, a.status, a.offset, a.limit,
                                             job_ids=only, name_regex=a.name or "")
    rows = [output.job_dict(j, a.id) for j in jobs]
    output.rows(a.format, f"jobs of workflow {a.id}", rows, JOB_COLUMNS, wrap="jobs")


def cmd_job_get(c: TorcClient, a: argparse.Namespace) -> None:
    jobs = c.list_jobs(a.id, job_ids=[a.job_id])
    if not jobs:
        raise TorcError(f"workflow {a.id} has no job {a.job_id}")
    row = output.job_dict(jobs[0], a.id)
    if a.format == "json":  # one object, as Torc prints it
        output.emit_json(row)
    else:
        output.table(f"job {a.job_id} of workflow {a.id}", [row],
                     [*JOB_COLUMNS[:-1], "depends_on", "resource_requirements", "command"])


def cmd_job_reset(c: TorcClient, a: argparse.Namespace) -> None:
    try:
        ids = [int(x) for x in a.job_ids.split(",") if x.strip()]
    except ValueError:
        raise TorcError(f"--job-ids: expected ids like 3,7, got {a.job_ids!r}") from None
    if not ids:  # an empty $IDS must not become "every job"
        raise TorcError(f"--job-ids: no job ids in {a.job_ids!r}; to reset every job, use "
                        "torc workflows reset-status")
    wf = c.reset_status(a.id, job_ids=ids, reinitialize=a.reinitialize)
    output.rows(a.format, "reset", [output.workflow_dict(wf)],
                ["id", "name", "run_id", "initialized", "complete"])


RESULT_COLUMNS = ["job_id", "job_name", "run_id", "attempt_id", "status", "return_code",
                  "exec_seconds", "end_time", "worker_id"]
MONITOR_COLUMNS = ["peak_memory", "avg_memory", "peak_cpu_percent", "avg_cpu_percent"]


def cmd_results(c: TorcClient, a: argparse.Namespace) -> None:
    rows = [output.result_dict(r, a.id) for r in c.list_results(
        a.id, a.failed, job_id=a.job_id or 0, run_id=a.run_id or 0, return_code=a.return_code,
        all_runs=a.all_runs)
        if a.compute_node is None or r.worker_id == a.compute_node]
    if a.status:
        wanted = "completed" if a.status == "done" else a.status  # Torc's old word
        rows = [r for r in rows if r["status"] == wanted]
    columns = list(RESULT_COLUMNS)
    if any(r["peak_memory_bytes"] is not None for r in rows):
        columns += MONITOR_COLUMNS
    if any(r["message"] for r in rows):
        columns.append("message")
    output.rows(a.format, f"results of workflow {a.id}", rows, columns, wrap="results")


def cmd_job_update(c: TorcClient, a: argparse.Namespace) -> None:
    if a.new_name is not None:
        raise TorcError("--name: a job's name comes from the spec in torc-py (dependencies "
                        "and parameters name it); --command, --priority and resources change")
    changes: dict[str, Any] = {}
    if a.priority is not None:
        changes["priority"] = a.priority
    if a.resource_requirements:
        changes["resource_requirements"] = a.resource_requirements
    for key in ("num_cpus", "num_gpus", "num_nodes", "command"):
        if getattr(a, key) is not None:
            changes[key] = getattr(a, key)
    try:
        if a.memory is not None:
            changes["memory_bytes"] = parse_memory(a.memory)
        if a.runtime is not None:
            changes["runtime_seconds"] = parse_duration(a.runtime)
    except ValueError as e:
        raise TorcError(f"job {a.job_id}: {e}") from None
    if not changes:
        raise TorcError("nothing to update: give --priority, --resource-requirements, "
                        "--num-cpus, --memory, --num-gpus, --num-nodes, --runtime or --command")
    job = c.update_job(a.id, a.job_id, **changes)
    output.rows(a.format, f"job {job.id} of workflow {a.id}", [output.job_dict(job)],
                [*JOB_COLUMNS[:-1], "priority", "resource_requirements", "command"])


def add_commands(sub: Any) -> None:
    """``torc jobs list|get|update|reset-status`` and ``torc results list``."""
    jobs = sub.add_parser("jobs", help="jobs of a workflow")
    jsub = jobs.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = jsub.add_parser("list", help="list jobs")
    s.add_argument("id", type=int)
    s.add_argument("--status", help="only jobs in this state (e.g. failed)")
    s.add_argument("--offset", type=int, default=0)
    s.add_argument("--limit", type=int, default=0)
    s.add_argument("--name", help="only jobs whose name this regex finds a match in")
    s.add_argument("--upstream-job-id", type=int, help="only jobs that depend on this job")
    s.add_argument("--include-relationships", action="store_true",
                   help="Torc's flag: the dependency, file and user data ids are always there")
    s.set_defaults(func=cmd_jobs)
    s = jsub.add_parser("get", help="show one job (job ids are global, as Torc's: the "
                                    "workflow may be left out)")
    s.add_argument("id", type=int, nargs="?", help="workflow id")
    s.add_argument("job_id", type=int)
    s.set_defaults(func=cmd_job_get, locate=("job", "job_id"))
    s = jsub.add_parser("reset-status", help="reset some jobs (and their downstream) to "
                                             "uninitialized; the rest stays as it is")
    s.add_argument("id", type=int, help="workflow id")
    s.add_argument("--job-ids", required=True, help="comma-separated, e.g. 3,7")
    s.add_argument("--reinitialize", action="store_true",
                   help="then start a new run of just those jobs")
    s.set_defaults(func=cmd_job_reset)

    results = sub.add_parser("results", help="job results")
    rsub = results.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = rsub.add_parser("list", help="list results")
    s.add_argument("id", type=int)
    s.add_argument("--failed", action="store_true", help="only results that did not complete")
    s.add_argument("-j", "--job-id", type=int)
    s.add_argument("-r", "--run-id", type=int)
    s.add_argument("--return-code", type=int)
    s.add_argument("-s", "--status", help="only results with this status (e.g. failed)")
    s.add_argument("--compute-node", type=int, help="only results of this worker")
    s.add_argument("--all-runs", action="store_true",
                   help="every result of every run and attempt (default: each job's latest)")
    s.set_defaults(func=cmd_results)

    s = jsub.add_parser("update", help="change a job that is not running")
    s.add_argument("id", type=int, nargs="?", help="workflow id (may be left out)")
    s.add_argument("job_id", type=int)
    s.add_argument("--priority", type=int)
    s.add_argument("-n", "--name", dest="new_name", help=argparse.SUPPRESS)
    s.add_argument("--resource-requirements", help="a named requirement of the workflow")
    s.add_argument("--num-cpus", type=int)
    s.add_argument("--memory", help="e.g. 8g")
    s.add_argument("--num-gpus", type=int)
    s.add_argument("--num-nodes", type=int)
    s.add_argument("--runtime", help="ISO 8601 duration, e.g. PT2H")
    s.add_argument("--command")
    s.set_defaults(func=cmd_job_update, locate=("job", "job_id"))
