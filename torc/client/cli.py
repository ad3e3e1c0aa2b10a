"""The ``torc`` command line: Torc's verbs over gRPC, as tables or ``-f json``."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.markup import escape

from torc import logs
from torc.arguments import PORT, POSITIVE, check_parsed
from torc.client import (
    cli_config,
    cli_data,
    cli_exec,
    cli_groups,
    cli_jobs,
    cli_logs,
    cli_lookups,
    cli_nodes,
    cli_plans,
    cli_relations,
    cli_reports,
    cli_slurm,
    cli_transfer,
    cli_workflows,
    listing,
    local,
    output,
    parser_walk,
    pick,
    submit,
    watch,
)
from torc.client.mcp import command as mcp_command
from torc.client.remote import parser as remote_commands
from torc.client.stub import TorcClient, load_spec
from torc.config import DEFAULT_URL
from torc.errors import TorcError
from torc.exits import exit_now
from torc.logs import LOG_LEVEL
from torc.options import DEFAULT_OUTPUT_DIR
from torc.version import VersionAction

Handler = Callable[[TorcClient, argparse.Namespace], Any]

WORKFLOW_COLUMNS = cli_workflows.WORKFLOW_COLUMNS


def _workflow_out(fmt: str, w: Any) -> None:
    d = output.workflow_dict(w)
    if fmt == "json":
        output.emit_json(d)
    else:
        output.table(f"workflow {w.id}", [d], WORKFLOW_COLUMNS)


def cmd_create(c: TorcClient, a: argparse.Namespace) -> None:
    if a.dry_run:
        cli_plans.dry_run(a)
        return
    if a.no_resource_monitoring or a.owner:
        raw, source = load_spec(a.spec)
        if a.no_resource_monitoring:
            raw["resource_monitor"] = {**(raw.get("resource_monitor") or {}), "enabled": False}
        if a.owner:
            raw["user"] = a.owner
        wf_id = c.create_loaded(raw, source)
    else:
        wf_id = c.create_workflow(a.spec)
    if a.initialize:
        c.initialize(wf_id, Path.cwd())
    if a.format == "json":  # Torc's fields, and our "id" beside them
        output.emit_json({"workflow_id": wf_id, "status": "success",
                          "message": f"Workflow created successfully with ID: {wf_id}",
                          "id": wf_id})
    else:
        print(f"created workflow {wf_id}" + (" (initialized)" if a.initialize else ""))


def cmd_get(c: TorcClient, a: argparse.Namespace) -> None:
    _workflow_out(a.format, c.get_workflow(a.id))


def cmd_status(c: TorcClient, a: argparse.Namespace) -> None:
    d = output.status_dict(c.status(a.id))
    if a.format == "json":
        output.emit_json(d)
        return
    state = ("canceled" if d["canceled"] else "complete" if d["complete"]
             else "in progress" if d["run_id"] else "uninitialized")
    output.table(f"workflow {a.id}: run {d['run_id']}, {d['num_jobs']} jobs, {state}",
                 [{"status": k, "jobs": v} for k, v in d["job_counts"].items()],
                 ["status", "jobs"])


def _simple(method: str, **kwargs: str) -> Handler:
    def handler(c: TorcClient, a: argparse.Namespace) -> None:
        extra = {k: getattr(a, v) for k, v in kwargs.items()}
        _workflow_out(a.format, getattr(c, method)(a.id, **extra))
    return handler


def cmd_initialize(c: TorcClient, a: argparse.Namespace) -> None:
    if getattr(a, "dry_run", False) and a.verb == "initialize":
        cli_lookups.initialize_dry_run(c, a)
        return
    if getattr(a, "dry_run", False):
        plan = c.plan_reinitialize(a.id, Path.cwd())
        rows = [{"job_id": i, "reason": r} for i, r in plan]
        output.rows(a.format, f"reinitialize of workflow {a.id} would run again (with what "
                    "depends on them)", rows, ["job_id", "reason"])
        return
    method = c.initialize if a.verb == "initialize" else c.reinitialize
    # Relative file paths are read from here, where the jobs will run (as Torc's); --force
    # skips the check of missing input files.
    _workflow_out(a.format, method(a.id, None if a.force else Path.cwd()))


def cmd_list_actions(c: TorcClient, a: argparse.Namespace) -> None:
    rows = [output.action_dict(x) for x in c.list_actions(a.id)]
    if a.format == "json":
        output.emit_json(rows)
        return
    for r in rows:
        r["progress"] = f"{r['trigger_count']}/{r['required_triggers']}"
        r["runs"] = "; ".join(
            f"worker {e['worker_id']} {'ok' if e['success'] else 'FAILED'} {e['end_time']}"
            for e in r["executions"]) or None
    output.table(f"actions of workflow {a.id}", rows,
                 ["id", "trigger_type", "action_type", "persistent", "progress", "pending",
                  "runs"])


def cmd_events(c: TorcClient, a: argparse.Namespace) -> None:
    if a.duration:  # Torc's --duration: stop watching after that many seconds
        signal.signal(signal.SIGALRM, lambda *_: sys.exit(0))
        signal.setitimer(signal.ITIMER_REAL, a.duration)
    for ev in c.watch_events(a.id or 0, history=a.history, job_events=True):
        if a.category and ev.kind != a.category:
            continue
        d = {"workflow_id": ev.workflow_id, "time": output.ts(ev.timestamp),
             "kind": ev.kind, "message": ev.message}
        if a.format == "json":
            print(json.dumps(d), flush=True)
        else:
            output.console.print(f"{d['time']} wf{d['workflow_id']} [bold]{escape(d['kind'])}[/] "
                                 f"{escape(d['message'])}")


def build_parser() -> argparse.ArgumentParser:
    """The whole CLI."""
    p = argparse.ArgumentParser(prog="torc", description="torc: workflows on HPC clusters")
    p.add_argument("--version", action=VersionAction, program="torc")
    p.add_argument("--url", default=None,
                   help=f"coordinator host:port (env TORC_URL, default {DEFAULT_URL})")
    p.add_argument("-f", "--format", choices=["table", "json"], default="table")
    p.add_argument("--log-level", type=LOG_LEVEL, default=logs.from_environment("warn"),
                   help="error, warn, info, debug or trace (default: RUST_LOG's level, else "
                   "warn); torc run passes it to its worker")
    p.add_argument("--username", help="whose workflows `workflows list` shows (as Torc's; "
                   "who you are is your token's user)")
    p.add_argument("--password", help=argparse.SUPPRESS)
    sub = p.add_subparsers(dest="group", required=True, metavar="COMMAND")
    wverbs = _workflow_commands(sub)
    cli_reports.add_commands(sub, wverbs)
    cli_plans.add_commands(wverbs)
    cli_transfer.add_commands(wverbs)
    cli_slurm.add_commands(sub)
    cli_logs.add_commands(sub)
    remote_commands.add_commands(sub)
    cli_jobs.add_commands(sub)
    cli_nodes.add_commands(sub)
    cli_groups.add_commands(sub)
    cli_data.add_commands(sub)
    _running_commands(sub)
    cli_relations.add_commands(sub)  # last: they add to groups the others made
    cli_lookups.add_commands(sub)
    parser_walk.make_ids_optional(p)
    parser_walk.format_anywhere(p)
    parser_walk.listing_flags(p)
    return p


def _workflow_commands(sub: Any) -> Any:
    """``torc workflows ...``; returns its verbs for other modules to add to."""
    wf = sub.add_parser("workflows", help="create, inspect and control workflows")
    wsub = wf.add_subparsers(dest="verb", required=True, metavar="VERB")
    cli_workflows.add_commands(wsub)
    s = wsub.add_parser("create", help="create a workflow from a YAML/JSON spec")
    s.add_argument("spec")
    s.add_argument("--initialize", action="store_true", help="initialize it too")
    s.add_argument("--dry-run", action="store_true",
                   help="validate and show what would be created; store nothing")
    s.add_argument("--no-resource-monitoring", action="store_true",
                   help="do not sample the jobs' memory and CPU (on by default, as Torc's)")
    s.add_argument("-u", "--user", dest="owner", help="the workflow's user (default: the "
                   "spec's user, else yours)")
    s.add_argument("--skip-checks", action="store_true",
                   help="accepted for Torc's scripts: the checks here cannot be skipped")
    s.set_defaults(func=cmd_create)
    for verb, func, text in (
        ("get", cmd_get, "show a workflow"),
        ("status", cmd_status, "job counts per state"),
        ("cancel", _simple("cancel"), "cancel (running jobs are killed)"),
        ("list-actions", cmd_list_actions, "actions with progress and executions"),
    ):
        s = wsub.add_parser(verb, help=text)
        s.add_argument("id", type=int)
        s.add_argument("-u", "--user", dest="username",
                       help="with the id left out: pick among this user's workflows")
        s.set_defaults(func=func)
    for verb, text in (("initialize", "start the first run (input files no job writes must "
                                      "exist)"),
                       ("reinitialize", "start a new run, keeping completed jobs whose inputs "
                                        "did not change")):
        s = wsub.add_parser(verb, help=text)
        s.add_argument("id", type=int)
        s.add_argument("--force", action="store_true",
                       help="do not check that input files exist (relative paths are read "
                       "from the current directory, where jobs run)")
        s.add_argument("--no-prompts", action="store_true",
                       help="accepted for Torc's scripts: nothing here prompts")
        s.add_argument("--dry-run", action="store_true",
                       help="change nothing: say what is missing (initialize) or which "
                       "completed jobs would run again, and why (reinitialize)")
        s.set_defaults(func=cmd_initialize)
    s = wsub.add_parser("reset-status", help="reset jobs to uninitialized")
    s.add_argument("id", type=int)
    s.add_argument("--failed-only", action="store_true",
                   help="only failed, canceled and terminated jobs and their downstream")
    s.add_argument("-r", "--reinitialize", action="store_true", help="then reinitialize")
    s.add_argument("--force", action="store_true",
                   help="Torc's flag: torc-py never resets running jobs; cancel them first")
    s.add_argument("--no-prompts", action="store_true", help="nothing here prompts")
    s.set_defaults(func=_simple("reset_status", failed_only="failed_only",
                                reinitialize="reinitialize"))
    return wsub


def _running_commands(sub: Any) -> None:
    """``torc events monitor``, ``watch``, ``run``, ``submit``."""
    ev = sub.add_parser("events", help="workflow events")
    esub = ev.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = esub.add_parser("monitor", help="stream events as they happen")
    s.add_argument("id", type=int, nargs="?", default=0)
    s.add_argument("--history", action="store_true",
                   help="first show the recent events the coordinator holds")
    s.add_argument("-d", "--duration", type=POSITIVE, help="stop after this many seconds")
    s.add_argument("-c", "--category", help="only events of this kind (e.g. complete)")
    s.add_argument("-p", "--poll-interval", type=POSITIVE,
                   help="Torc's flag: events are pushed here as they happen, not polled")
    s.set_defaults(func=cmd_events)

    watch.add_command(sub)

    s = sub.add_parser("run", help="run a workflow here (embedded coordinator unless --url)")
    s.add_argument("target", metavar="SPEC|ID")
    cli_workflows.add_run_arguments(s)
    s.add_argument("--skip-checks", action="store_true",
                   help="accepted for Torc's scripts: torc run makes no scheduler checks")
    s.add_argument("--dash", action="store_true",
                   help="serve the dashboard (127.0.0.1) while the workflow runs")
    s.add_argument("--dash-port", type=PORT, default=8090)
    s.set_defaults(func=None)

    cli_exec.add_command(sub)
    mcp_command.add_command(sub)
    from torc.client.tui.command import add_command as add_tui
    add_tui(sub)
    from torc.client.dash.command import add_command as add_dash
    add_dash(sub)
    cli_config.add_commands(sub)
    s = sub.add_parser("completion", aliases=["completions"],
                       help="print a shell completion script: eval it, e.g. "
                            "eval \"$(torc completion bash)\"")
    # Torc's shells too, so that its scripts get a clear answer rather than a usage error.
    s.add_argument("shell", choices=["bash", "zsh", "tcsh", "fish", "elvish", "powershell"])
    s.set_defaults(func=None, completion=True)

    submit.add_commands(sub)


def _run_output_dir(settings: dict) -> str:
    """Where torc run writes by default ([client.run] output_dir, else Torc's output)."""
    s = settings.get(("client.run", "output_dir"))
    return str(s.value) if s is not None else DEFAULT_OUTPUT_DIR


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``torc``."""
    from torc import config_files
    parser = build_parser()
    settings: dict = {}
    try:
        settings = config_files.apply_defaults(
            parser, ("client", "client.run", "client.slurm", "dash"))
    except TorcError as e:
        if not cli_config.needs_no_config(sys.argv[1:] if argv is None else argv):
            print(f"error: {e.message}", file=sys.stderr)
            sys.exit(2)
    args = parser.parse_args(argv)
    check_parsed(parser, args)
    if args.password is not None:
        parser.error("--password: torc-py authenticates with a token, not a password: the "
                     "coordinator's user token in ~/.torc/token or TORC_TOKEN (torc-coord "
                     "users add NAME makes one)")
    logs.configure(args.log_level)
    output.LISTING = listing.from_args(args)
    url = args.url or os.environ.get("TORC_URL")
    if url is None and config_files.rest_url_note(settings):
        print(config_files.rest_url_note(settings) + f" (using {DEFAULT_URL})",
              file=sys.stderr)
    try:
        if args.group == "run" or getattr(args, "run_here", False):
            from torc.client.run import run
            exit_now(run(args, url, args.format), in_process=argv is not None)
        if getattr(args, "submit_here", False):
            sys.exit(submit.submit(args, url or DEFAULT_URL, args.format))
        if args.group == "dash":  # after a torc run too, as the read verbs below
            from torc.client.dash.server import serve
            run_output = Path(args.output_dir or _run_output_dir(settings))
            with (local.standalone(run_output) if args.standalone
                  else local.coordinator_for(url, run_output)) as target:
                serve(target, args.dash_host, args.dash_port,
                      Path(args.output_dir).resolve() if args.output_dir else None)
            return
        if args.group == "tui":
            from torc.client.tui.app import run_tui
            sys.exit(run_tui(args, url))
        if args.group == "mcp":
            from torc.client.mcp.command import serve
            from torc.config import default_url
            sys.exit(serve(url or default_url(), args))
        if args.group == "exec":
            sys.exit(cli_exec.run_exec(args, url, args.format))
        if getattr(args, "completion", False):
            import shtab
            if args.shell not in shtab.SUPPORTED_SHELLS:
                raise TorcError(f"no completion script for {args.shell} here (shtab writes "
                                f"{', '.join(shtab.SUPPORTED_SHELLS)})")
            print(shtab.complete(build_parser(), shell=args.shell))
            return
        if args.group == "recover":
            sys.exit(cli_reports.recover_workflow(args, url))
        if getattr(args, "local", False):  # needs no coordinator
            args.func(None, args)
            return
        # Without a coordinator named, a finished torc run's data is read (local.py).
        run_output = Path(getattr(args, "output_dir", None) or _run_output_dir(settings))
        with local.coordinator_for(url, run_output) as target, TorcClient(target) as client:
            if getattr(args, "id", 0) is None:  # left out, as Torc allows
                args.id = pick.owner(client, args)
            args.func(client, args)
    except TorcError as e:
        print(f"error: {e.message}", file=sys.stderr)
        sys.exit(1)
    except ValueError as e:  # e.g. an unknown --status name
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)
    except KeyboardInterrupt:
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)


if __name__ == "__main__":
    main()
