"""``torc reports ...``, ``torc recover``, ``torc workflows correct-resources`` and ``torc
plot-resources``: the recovery loop's commands."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from torc.arguments import NON_NEGATIVE, POSITIVE
from torc.client import output, recover, reports
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.options import add_worker_arguments


def cmd_summary(c: TorcClient, a: argparse.Namespace) -> None:
    d = reports.summary(c.get_workflow(a.id), c.list_jobs(a.id),
                        c.list_results(a.id, all_runs=True))
    if a.format == "json":
        output.emit_json(d)
        return
    rows = [{"figure": k.replace("_", " "), "value": _readable(v)} for k, v in d.items()]
    output.table(f"summary of workflow {a.id}", rows, ["figure", "value"])


def _readable(value: Any) -> Any:
    """A summary value as a person reads it: a mapping as 'key N, key N' (the states or return
    codes that have any), not JSON."""
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items() if v) or "none"
    return value


def cmd_results(c: TorcClient, a: argparse.Namespace) -> None:
    """Each result with where its files are. As JSON (``-f json``, or whenever the output is
    not a terminal: Torc prints this report as JSON only, and its guides redirect it to a
    file), Torc's report: the workflow's id, name and user, ``total_results`` and
    ``results``."""
    rows = reports.results_report(a.id, c.list_results(a.id, all_runs=a.all_runs,
                                                       job_id=a.job_id or 0),
                                  c.list_workers(a.id), a.output_dir)
    if a.format == "json" or not sys.stdout.isatty():
        wf = c.get_workflow(a.id)
        output.emit_json({"workflow_id": a.id, "workflow_name": wf.name,
                          "workflow_user": wf.user, "all_runs": a.all_runs,
                          "total_results": len(rows), "results": output.LISTING.apply(rows)})
        return
    output.rows(a.format, f"results of workflow {a.id}", rows,
                ["job_id", "job_name", "run_id", "attempt_id", "status", "return_code",
                 "exec_seconds", "stdout", "stderr", "slurm_stdout"])


def cmd_utilization(c: TorcClient, a: argparse.Namespace) -> None:
    from torc.client.utilization import report
    r = report(a.id, c.list_jobs(a.id), c.list_results(a.id, all_runs=True), a.run_id,
               a.all, a.include_failed, a.min_over_utilization)
    if a.format == "json":
        output.emit_json(r)
        return
    if not r["violations"]:
        print(f"All {r['total_results']} jobs stayed within their specified resource "
              "requirements")
    else:
        title = (f"resource use of workflow {a.id}" if a.all else
                 f"{r['over_utilization_count']} resource over-utilization violations in "
                 f"workflow {a.id}")
        output.table(title, r["violations"], ["job_id", "job_name", "resource_type",
                                              "specified", "peak_used", "over_utilization"])
        print(f"To raise the requirements of these jobs: torc workflows correct-resources "
              f"{a.id}", file=sys.stderr)
    if r["resource_violations"]:
        rows = [{**v, "diagnosis": ", ".join(
            k for k in ("likely_oom", "likely_timeout", "likely_cpu_violation",
                        "likely_runtime_violation") if v[k]) or None}
            for v in r["resource_violations"]]
        output.table("failed and terminated jobs", rows,
                     ["job_id", "job_name", "return_code", "configured_memory",
                      "peak_memory_formatted", "runtime_utilization", "diagnosis"])


def _plan_out(a: argparse.Namespace, title: str, plan: list[dict[str, Any]]) -> None:
    if a.format == "json":
        output.emit_json({"workflow_id": a.id, "dry_run": a.dry_run, "jobs": plan})
        return
    rows = [{**p, **{k: output.human_bytes(p[k]) for k in ("memory_bytes", "new_memory_bytes")
                     if p.get(k) is not None}} for p in plan]
    output.table(title, rows, ["job_id", "job_name", "reason", "memory_bytes",
                               "new_memory_bytes", "runtime_seconds", "new_runtime_seconds"])


def cmd_correct(c: TorcClient, a: argparse.Namespace) -> None:
    ids = {int(x) for x in a.job_ids.split(",")} if a.job_ids else None
    plan = recover.correction_plan(c.list_jobs(a.id), c.list_results(a.id, all_runs=True),
                                   a.memory_multiplier, a.runtime_multiplier, ids)
    if not a.dry_run:
        recover.apply_changes(c, a.id, plan)
    _plan_out(a, f"requirements {'to change' if a.dry_run else 'changed'} in workflow {a.id}",
              plan)


def recover_workflow(a: argparse.Namespace, url: str | None) -> int:
    """``torc recover``: plan, then (unless --dry-run) update, reset and run again. Without a
    URL it works on the coordinator ``torc run`` left in the output directory."""
    from torc.client import hooks
    from torc.client.run import EmbeddedCoordinator, run
    hook = getattr(a, "recovery_hook", None)
    if hook:
        hooks.hook_argv(hook, 0)  # a malformed hook fails before anything changes
    embedded = None
    if url is None:
        data = Path(a.output_dir).resolve() / "coordinator"
        if not data.is_dir():
            raise TorcError(f"no --url, and no torc run coordinator in {data}: give --url "
                            "(or TORC_URL), or the --output-dir of the torc run")
        embedded = EmbeddedCoordinator(data)
        url = embedded.start()
    try:
        with TorcClient(url) as c:
            if a.id is None:
                from torc.client.pick import workflow_id
                a.id = workflow_id(c, a)
            # Jobs held in pending_failed go to the assistant first: it retries or fails each.
            retried = _ai_classify(c, a, url) if getattr(a, "ai_recovery", False) else False
            # As in Torc, a hook makes every other failure worth a retry: the hook mends it.
            plan = recover.recovery_plan(c.list_jobs(a.id), c.list_results(a.id, all_runs=True),
                                         a.memory_multiplier, a.runtime_multiplier,
                                         a.retry_unknown or bool(hook))
            if not plan and not retried and a.format != "json":
                print(f"nothing to recover in workflow {a.id}: no job failed for lack of "
                      "memory or time" + ("" if a.retry_unknown else
                                          " (--retry-unknown retries the other failures)"))
                return 0
            if a.dry_run or (not plan and not retried):
                _plan_out(a, f"recovery plan of workflow {a.id}", plan)
                return 0
            if plan:
                recover.apply_changes(c, a.id, plan)
                if hook and any(p["reason"].startswith("unknown") for p in plan):
                    hooks.run_recovery_hook(hook, a.id, url)
                recover.reset_for_recovery(c, a.id, plan)
            on_slurm = any(x.action_type == "schedule_nodes" for x in c.list_actions(a.id))
        if a.format != "json" and plan:
            _plan_out(a, f"recovering workflow {a.id}", plan)
        if a.no_run:
            return 0
        a.target = str(a.id)
        if on_slurm:  # the re-armed schedule_nodes actions ask Slurm for new allocations
            from torc.client.submit import submit
            return submit(a, url, a.format)
        return run(a, url, a.format)
    finally:
        if embedded is not None:
            embedded.stop()


def _ai_classify(c: TorcClient, a: argparse.Namespace, url: str) -> bool:
    """``--ai-recovery``: the agent classifies the pending_failed jobs; whether it put any
    back to run."""
    from torc.client.mcp import agent
    held = c.list_jobs(a.id, status="pending_failed")
    if not held:
        return False
    if a.dry_run:
        print(f"would ask the AI agent {a.ai_agent} to classify {len(held)} pending_failed "
              f"job(s) of workflow {a.id}")
        return False
    agent.invoke(a.id, a.ai_agent, url, a.output_dir)
    left = c.list_jobs(a.id, status="pending_failed")
    if left:
        print(f"{len(left)} job(s) still pending_failed after the AI agent: "
              + ", ".join(j.name for j in left[:10]), file=sys.stderr)
    return bool(c.list_jobs(a.id, status="ready", limit=1))


def add_ai_arguments(s: argparse.ArgumentParser) -> None:
    """Torc's ``--ai-recovery`` and ``--ai-agent`` (recover and watch)."""
    s.add_argument("--ai-recovery", action="store_true",
                   help="have an AI agent classify pending_failed jobs (retry or fail) "
                        "through torc's MCP tools")
    s.add_argument("--ai-agent", default="claude",
                   help="claude (default), copilot, or your own command (it gets the prompt "
                        "and TORC_MCP_COMMAND to start the MCP server)")


def cmd_plot(c: TorcClient | None, a: argparse.Namespace) -> None:
    from torc.plots import plot_resources
    target = Path(a.output)
    if target.suffix != ".html":  # Torc's -o is a directory; ours may name the page
        target.mkdir(parents=True, exist_ok=True)
        target = target / f"{a.prefix}.html"
    try:
        ids = {int(x) for x in a.job_ids.split(",") if x.strip()} if a.job_ids else None
    except ValueError:
        raise TorcError(f"--job-ids: {a.job_ids!r} is not a comma-separated list of "
                        "ids") from None
    n = plot_resources([Path(p) for p in a.paths], target, ids)
    if a.format == "json":
        output.emit_json({"output": str(target), "jobs": n})
    else:
        print(f"wrote {target} ({n} job attempt(s))")


def add_commands(sub: Any, workflow_verbs: Any) -> None:
    """``reports``, ``recover``, ``plot-resources``; ``workflows correct-resources``."""
    rep = sub.add_parser("reports", help="summaries, results with their files, resource use")
    rsub = rep.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, func, text in (
            ("summary", cmd_summary, "counts, execution time, attempts, failures by code"),
            ("results", cmd_results, "each result with its stdout/stderr and Slurm output"),
            ("check-resource-utilization", cmd_utilization,
             "requested vs used memory, CPU and runtime; over-use, likely OOM or timeout")):
        s = rsub.add_parser(verb, help=text)
        s.add_argument("id", type=int)
        if verb == "check-resource-utilization":
            s.add_argument("-r", "--run-id", type=int,
                           help="this run (default: each job's latest result)")
            s.add_argument("-a", "--all", action="store_true",
                           help="every job, not only those over their requirements")
            s.add_argument("--include-failed", action="store_true",
                           help="failed and terminated jobs too, with Torc's diagnosis")
            s.add_argument("--min-over-utilization", type=NON_NEGATIVE, default=1.0,
                           help="percent over a requirement that counts (default: 1.0)")
        if verb == "results":
            s.add_argument("-o", "--output-dir", default=None,
                           help="where the workers wrote (default: where each worker "
                                "said, else ./output)")
            s.add_argument("--all-runs", action="store_true")
            s.add_argument("--job-id", type=int, help="only this job's results")
        s.set_defaults(func=func)

    s = workflow_verbs.add_parser("correct-resources",
                                  help="raise requirements to what jobs were seen to use")
    s.add_argument("id", type=int)
    s.add_argument("--memory-multiplier", type=POSITIVE, default=1.2)
    s.add_argument("--runtime-multiplier", type=POSITIVE, default=1.2)
    s.add_argument("--job-ids", help="only these (comma-separated)")
    s.add_argument("--dry-run", action="store_true")
    s.set_defaults(func=cmd_correct)

    s = sub.add_parser("recover", help="after OOMs and timeouts: raise requirements, reset "
                                       "those jobs and their canceled dependents, run again")
    s.add_argument("id", type=int)
    s.add_argument("--memory-multiplier", type=POSITIVE, default=1.5)
    s.add_argument("--runtime-multiplier", type=POSITIVE, default=1.4)
    s.add_argument("--retry-unknown", action="store_true",
                   help="also retry jobs that failed for another reason, unchanged")
    s.add_argument("--dry-run", action="store_true", help="only show what would change")
    s.add_argument("--no-run", action="store_true", help="reset only; do not run")
    s.add_argument("--recovery-hook", metavar="CMD",
                   help="run CMD (the workflow id appended, and in TORC_WORKFLOW_ID) before "
                        "jobs that failed for other reasons are retried; exit non-zero to stop")
    add_ai_arguments(s)
    add_worker_arguments(s)
    s.set_defaults(func=None)

    s = sub.add_parser("plot-resources", help="HTML plots of time_series resource samples")
    s.add_argument("paths", nargs="+", metavar="DB_PATHS",
                   help="resource_metrics_*.db files, or directories holding them")
    s.add_argument("-o", "--output-dir", "--output", dest="output", default=".",
                   help="directory for the page (or a .html file name; default: .)")
    s.add_argument("-j", "--job-ids", help="only these jobs (comma-separated)")
    s.add_argument("-p", "--prefix", default="resource_plot",
                   help="the page's file name in the directory (default: %(default)s)")
    s.set_defaults(func=cmd_plot, local=True)
