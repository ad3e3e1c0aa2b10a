"""What the TUI's tables show, read from the coordinator: each function takes a client and
returns rows (tuples of cells) with their keys. Blocking calls: the app runs them off its
event loop. Job rows come a page at a time: a 100,000-job workflow is never loaded whole."""

from __future__ import annotations

import getpass
import time
from dataclasses import dataclass
from typing import Any

from rich.text import Text

from torc import states as S
from torc.client import output
from torc.client.stub import TorcClient
from torc.client.tui import dag
from torc.client.tui.dag import Node
from torc.spec.units import format_duration

PAGE = 200  # job rows a page

# Torc's TUI colours: green completed, yellow running, red failed, magenta canceled and
# terminated, blue pending/scheduled, cyan ready, grey blocked.
COLOURS = {"completed": "green", "running": "yellow", "failed": "red",
           "pending_failed": "red", "canceled": "magenta", "terminated": "magenta",
           "pending": "blue", "ready": "cyan", "blocked": "grey50",
           "uninitialized": "grey50", "disabled": "grey50"}


def coloured(status: str) -> Text:
    """A status cell in its colour."""
    return Text(status, style=COLOURS.get(status, ""))


def when(ts: float) -> str:
    """A time cell: local time of day, with the date when it is not today."""
    if not ts:
        return ""
    t = time.localtime(ts)
    today = time.localtime()
    fmt = "%H:%M:%S" if t[:3] == today[:3] else "%Y-%m-%d %H:%M"
    return time.strftime(fmt, t)


def me() -> str:
    """The user the workflows pane shows first (Torc: the login name)."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return ""


def workflow_state(w: Any) -> str:
    """A workflow's state in a word."""
    if w.canceled:
        return "canceled"
    if w.complete:
        return "complete"
    return "running" if w.initialized else "not started"


WORKFLOW_COLUMNS = ("id", "name", "user", "state", "jobs", "description")


def workflows(c: TorcClient, user: str, all_users: bool) -> list[tuple[int, tuple]]:
    """The workflows pane: (id, cells)."""
    rows = []
    for w in c.list_workflows(user="" if all_users else user):
        rows.append((w.id, (str(w.id), w.name, w.user, workflow_state(w), str(w.num_jobs),
                            w.description)))
    return rows


@dataclass
class JobFilter:
    """The Jobs tab's filter: ``status:failed``, ``name:regex`` (``f``)."""

    status: str = ""
    name: str = ""

    @classmethod
    def parse(cls, text: str) -> JobFilter:
        """``status:VALUE`` or ``name:REGEX`` (a bare word: a name pattern); raises
        ValueError on another column or an unknown status."""
        text = text.strip()
        if not text:
            return cls()
        column, sep, value = text.partition(":")
        if not sep:
            return cls(name=text)
        column = column.strip().lower()
        if column == "status":
            S.parse(value.strip())  # ValueError names the states
            return cls(status=value.strip().lower())
        if column == "name":
            return cls(name=value.strip())
        raise ValueError(f"filter by status:VALUE or name:REGEX, not {column!r}")

    def __str__(self) -> str:
        return " ".join(f"{k}:{v}" for k, v in (("status", self.status), ("name", self.name))
                        if v)


JOB_COLUMNS = ("id", "name", "status", "rc", "run", "attempt", "cpus", "memory", "runtime",
               "command")


def job_page(c: TorcClient, wf_id: int, offset: int, flt: JobFilter
             ) -> tuple[list[tuple[int, tuple]], int]:
    """One page of the Jobs tab and the number of jobs that match."""
    page = c.list_jobs_page(wf_id, flt.status or None, offset, PAGE, name_regex=flt.name)
    rows = []
    for j in page.jobs:
        status = S.name(j.status)
        rc = str(j.return_code) if j.HasField("return_code") else ""
        rows.append((j.id, (str(j.id), j.name, coloured(status), rc, str(j.run_id),
                            str(j.attempt_id), str(j.num_cpus),
                            output.human_bytes(j.memory_bytes),
                            format_duration(j.runtime_seconds) if j.runtime_seconds else "",
                            j.command)))
    return rows, page.total


FILE_COLUMNS = ("id", "name", "path", "required", "modified")


def files(c: TorcClient, wf_id: int) -> list[tuple[int, tuple]]:
    """The Files tab."""
    return [(f.id, (str(f.id), f.name, f.path, "yes" if f.required else "",
                    when(f.mtime) if f.HasField("mtime") else "")) for f in c.list_files(wf_id)]


RESULT_COLUMNS = ("job", "name", "run", "attempt", "status", "rc", "seconds", "peak mem",
                  "peak cpu %", "ended")


def results(c: TorcClient, wf_id: int) -> list[tuple[int, tuple]]:
    """The Results tab: every attempt, newest first, with its resource figures."""
    rows = []
    for r in reversed(c.list_results(wf_id, all_runs=True)):
        d = output.result_dict(r)
        rows.append((r.id, (str(r.job_id), r.job_name, str(r.run_id), str(r.attempt_id),
                            coloured(d["status"]), str(r.return_code),
                            str(d.get("exec_seconds", "")), str(d.get("peak_memory") or ""),
                            str(d.get("peak_cpu_percent") or ""), when(r.end_time))))
    return rows


def dag_lines(c: TorcClient, wf_id: int, width: int) -> list[tuple[str, str]]:
    """The DAG tab's lines: a line a job up to dag.GROUP_PAST jobs, else the coordinator's
    groups (the whole workflow, none of its jobs read here)."""
    page = c.list_jobs_page(wf_id, None, 0, dag.GROUP_PAST)
    if page.total <= dag.GROUP_PAST:
        return dag.render([Node(j.id, j.name, S.name(j.status), tuple(j.depends_on))
                           for j in page.jobs], width)
    return dag.render_groups(c.job_graph(wf_id), width)


EVENT_COLUMNS = ("time", "kind", "message")
