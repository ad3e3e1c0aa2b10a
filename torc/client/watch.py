"""``torc watch ID``: a workflow's progress live (bars by state and its latest events, or one
JSON line per look), until it ends; the exit code says how: 0 every job completed, 1 some did
not (failed, canceled, terminated...), 2 the workflow was canceled. With ``--recover`` it runs
``torc recover`` when the workflow ends with jobs out of memory or time."""

from __future__ import annotations

import argparse
import json
import sys
import threading
import time
from collections import deque
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.live import Live
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.text import Text

from torc.arguments import NON_NEGATIVE, NON_NEGATIVE_INT, POSITIVE
from torc.client import cli_reports, failures, output
from torc.client.reports import OutputDirs
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.options import add_worker_arguments

HISTORY_WAIT_SECONDS = 60.0  # the history comes at once; a bound only for a stuck stream
# Every state, so that the bars add up to the workflow's jobs.
SHOWN = ("completed", "running", "pending", "ready", "blocked", "uninitialized", "failed",
         "canceled", "terminated", "pending_failed", "disabled")


def _follow(c: TorcClient, wf_id: int, latest: deque[str], stop: threading.Event,
            history_sent: threading.Event, pending: deque[str]) -> None:
    """Keep the latest events, and every event not yet printed in ``pending`` (one
    WatchEvents stream, in a thread)."""
    try:
        for ev in c.watch_events(wf_id, history=True, mark_history_end=True):
            if ev.history_end:
                history_sent.set()
                continue
            shown = f"{output.ts(ev.timestamp)} [bold]{escape(ev.kind)}[/] {escape(ev.message)}"
            latest.append(shown)
            pending.append(shown)
            if stop.is_set():
                return
    except Exception:  # the stream ends with the coordinator or the command
        return
    finally:
        history_sent.set()


def _ended(d: dict[str, Any]) -> int:
    if d["canceled"]:
        return 2
    counts = d["job_counts"]
    done = counts.get("completed", 0) + counts.get("disabled", 0)
    return 0 if done == d["num_jobs"] else 1


def watch(c: TorcClient, a: argparse.Namespace, recover: Any) -> int:
    """Watch until the workflow ends; its exit code (see the module)."""
    recoveries = 0
    latest: deque[str] = deque(maxlen=6)
    pending: deque[str] = deque()  # events not printed yet (into a pipe: every one, once)
    stop, history_sent = threading.Event(), threading.Event()
    if a.format != "json":
        threading.Thread(target=_follow, args=(c, a.id, latest, stop, history_sent, pending),
                         daemon=True).start()
        # Show the whole history before the first look at the status: on a workflow that
        # has ended, that look is the last.
        history_sent.wait(HISTORY_WAIT_SECONDS)
    progress = Progress(TextColumn("[bold]{task.description:<14}"), BarColumn(),
                        MofNCompleteColumn())
    bars: dict[str, Any] = {}
    # Into a pipe or a file (tee, a batch log) a live display shows nothing until the end:
    # there, a line each time the counts change, and the events as they come.
    plain = a.format != "json" and not output.console.is_terminal
    last_line = ""
    from torc.client import auto_schedule  # only a watch imports it (Slurm planning)
    asked_about: frozenset[int] = frozenset()
    scheduler = auto_schedule.AutoScheduler(
        auto_schedule.Options(a.auto_schedule_threshold, a.auto_schedule_cooldown,
                              a.auto_schedule_stranded_timeout),
        Path(a.output_dir)) if a.auto_schedule else None
    try:
        with Live(console=output.console, refresh_per_second=4, transient=False) \
                if a.format != "json" and not plain else _NoLive() as live:
            while True:
                d = output.status_dict(c.status(a.id))
                if a.format == "json":
                    print(json.dumps(d), flush=True)
                elif plain:
                    while pending:
                        output.console.print(pending.popleft(), soft_wrap=True)
                    line = _counts_line(a.id, d)
                    if line != last_line:
                        print(line, flush=True)
                        last_line = line
                else:
                    for name in SHOWN:
                        n = d["job_counts"].get(name, 0)
                        if name not in bars:
                            bars[name] = progress.add_task(name, total=d["num_jobs"])
                        progress.update(bars[name], completed=n, total=d["num_jobs"])
                    live.update(Group(Text(f"workflow {a.id}, run {d['run_id']}"), progress,
                                      Text.from_markup("\n".join(latest) or "(no events yet)")))
                if a.ai_recovery and not d["complete"]:
                    held = _stalled_on_pending_failed(c, a.id, d["job_counts"])
                    if held and held != asked_about:
                        asked_about = held  # once per set: it may leave some held
                        _ask_agent(c, a)
                        continue
                if scheduler is not None and not d["complete"]:
                    for line in scheduler.step(c, a.id, d["job_counts"]):
                        if a.format == "json":
                            print(line, file=sys.stderr, flush=True)
                        else:
                            output.console.print(escape(line), highlight=False)
                if d["complete"]:
                    if a.recover and recoveries < a.max_retries and recover(c, a, check=True):
                        recoveries += 1
                        output.console.print(f"recovering workflow {a.id} "
                                             f"({recoveries} of at most {a.max_retries})")
                        recover(c, a, check=False)
                        continue
                    actions_failed = _summary(c, a, d)  # printed whatever the code
                    return _ended(d) or actions_failed
                time.sleep(a.interval)
    finally:
        stop.set()


def _stalled_on_pending_failed(c: TorcClient, wf_id: int,
                               counts: dict[str, int]) -> frozenset[int]:
    """The pending_failed jobs, when nothing else is ready or running (the workflow waits
    on them)."""
    if not counts.get("pending_failed") or any(counts.get(k) for k in
                                               ("ready", "pending", "running")):
        return frozenset()
    return frozenset(j.id for j in c.list_jobs(wf_id, status="pending_failed"))


def _ask_agent(c: TorcClient, a: argparse.Namespace) -> None:
    from torc.client.mcp import agent
    try:
        agent.invoke(a.id, a.ai_agent, c.url, a.output_dir)
    except TorcError as e:  # the watch goes on; the jobs stay held for a person
        output.console.print(f"[yellow]warning:[/] {escape(e.message)}", highlight=False)


def _summary(c: TorcClient, a: argparse.Namespace, d: dict[str, Any]) -> int:
    """What did not work, as ``torc run`` ends (failed jobs are already in the exit code):
    1 when a workflow action failed."""
    failed, bad_actions = failures.summarize(c, a.id, d, OutputDirs(c.list_workers(a.id), None))
    if a.format != "json":
        failures.print_summary(a.id, failed, bad_actions)
    return 1 if bad_actions else 0


def _counts_line(wf_id: int, d: dict[str, Any]) -> str:
    """``workflow 3, run 1: completed 4/10, running 2, ready 4`` (the states that have jobs)."""
    counts = d["job_counts"]
    parts = [f"{name} {counts[name]}" + (f"/{d['num_jobs']}" if name == "completed" else "")
             for name in SHOWN if counts.get(name)]
    return f"workflow {wf_id}, run {d['run_id']}: " + (", ".join(parts) or "no jobs")


class _NoLive:
    def __enter__(self) -> _NoLive:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def update(self, *_: object) -> None:
        return None


def cmd_watch(c: TorcClient, a: argparse.Namespace) -> None:
    """``torc watch``."""
    def recover(c: TorcClient, a: argparse.Namespace, check: bool) -> bool:
        if check:
            from torc.client.recover import recovery_plan
            return bool(recovery_plan(c.list_jobs(a.id), c.list_results(a.id, all_runs=True),
                                      a.memory_multiplier, a.runtime_multiplier,
                                      a.retry_unknown or bool(a.recovery_hook)))
        return cli_reports.recover_workflow(a, c.url) == 0

    code = watch(c, a, recover)
    if code:
        sys.exit(code)


def add_command(sub: Any) -> None:
    """Add ``torc watch`` with Torc's flags."""
    s = sub.add_parser("watch", help="progress and events until the workflow ends; exit 0 "
                                     "all completed, 1 some did not, 2 canceled")
    s.add_argument("id", type=int)
    s.add_argument("--interval", "-p", "--poll-interval", dest="interval", type=POSITIVE,
                   default=2.0, help="seconds between updates (default: %(default)s)")
    s.add_argument("-s", "--show-job-counts", action="store_true",
                   help="Torc's flag: the counts are always shown")
    s.add_argument("-r", "--recover", action="store_true",
                   help="when it ends with jobs out of memory or time, torc recover them")
    s.add_argument("-m", "--max-retries", type=int, default=2, help="recoveries at most")
    s.add_argument("--memory-multiplier", type=POSITIVE, default=1.5)
    s.add_argument("--runtime-multiplier", type=POSITIVE, default=1.4)
    s.add_argument("--retry-unknown", action="store_true")
    s.add_argument("--recovery-hook", metavar="CMD",
                   help="with --recover: run CMD (the workflow id appended) before jobs that "
                        "failed for other reasons are retried")
    s.add_argument("--auto-schedule", action="store_true",
                   help="submit Slurm allocations for ready jobs no worker or allocation "
                        "will run (e.g. after allocations expired), and for waiting retries")
    s.add_argument("--auto-schedule-threshold", type=NON_NEGATIVE_INT, default=5,
                   help="retry jobs waiting that call for more allocations while some run "
                        "(default: %(default)s)")
    s.add_argument("--auto-schedule-cooldown", type=NON_NEGATIVE, default=1800.0,
                   help="seconds between such submissions (default: %(default)s)")
    s.add_argument("--auto-schedule-stranded-timeout", type=NON_NEGATIVE, default=7200.0,
                   help="seconds after which fewer retries are scheduled anyway; 0: never "
                        "(default: %(default)s)")
    cli_reports.add_ai_arguments(s)
    add_worker_arguments(s)
    s.set_defaults(func=cmd_watch, dry_run=False, no_run=False)
