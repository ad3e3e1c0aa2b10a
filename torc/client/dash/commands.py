"""What the dashboard runs on its own machine for a user who asked (torc-dash's run, submit
and recover buttons): the ``torc`` CLI itself against the same coordinator, one command per
workflow at a time, its output kept (bounded) for the page to show as it comes."""

from __future__ import annotations

import subprocess
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

from torc.errors import FailedPrecondition, InvalidArgument

KEEP_LINES = 2000  # a command's output the page can read back, the newest


def verbs(wf_id: int, output_dir: Path) -> dict[str, list[str]]:
    """The commands a page may start, as ``torc`` arguments."""
    return {"run": ["run", str(wf_id), "--output-dir", str(output_dir)],
            "submit": ["workflows", "submit", str(wf_id), "--output-dir", str(output_dir)],
            "recover": ["recover", str(wf_id), "--output-dir", str(output_dir)]}


@dataclass
class Command:
    """One started command: its process and the lines it wrote (stdout and stderr)."""

    words: list[str]
    proc: subprocess.Popen[str]
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=KEEP_LINES))
    seen: int = 0  # lines written in all (the page asks for those after what it has)

    def read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)
            self.seen += 1
        self.proc.wait()

    def since(self, after: int) -> dict[str, object]:
        """The lines after the first ``after`` (as many as are still kept), and the state."""
        first = self.seen - len(self.lines)
        lines = list(self.lines)[max(after - first, 0):]
        code = self.proc.poll()
        return {"command": "torc " + " ".join(self.words), "lines": lines, "seen": self.seen,
                "running": code is None, "exit_code": code}


class Commands:
    """The commands the dashboard started, by workflow."""

    def __init__(self, url: str, cwd: Path) -> None:
        self.url, self.cwd = url, cwd  # jobs run where the dashboard runs, as torc run's
        self.by_workflow: dict[int, Command] = {}

    def start(self, wf_id: int, what: str, output_dir: Path) -> Command:
        """Start ``what`` (run, submit, recover) for the workflow; refused while another of
        its commands runs."""
        words = verbs(wf_id, output_dir).get(what)
        if words is None:
            raise InvalidArgument(f"unknown command {what!r}")
        running = self.by_workflow.get(wf_id)
        if running is not None and running.proc.poll() is None:
            raise FailedPrecondition(f"`torc {' '.join(running.words)}` still runs for "
                                     f"workflow {wf_id}")
        proc = subprocess.Popen(
            [sys.executable, "-m", "torc.client.cli", "--url", self.url, *words],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            text=True, errors="replace", cwd=self.cwd)
        cmd = Command(words, proc)
        threading.Thread(target=cmd.read, daemon=True, name=f"dash-{what}-{wf_id}").start()
        self.by_workflow[wf_id] = cmd
        return cmd

    def stop_all(self) -> None:
        """The dashboard stops: so do the commands it started (a run stops its worker)."""
        for cmd in self.by_workflow.values():
            if cmd.proc.poll() is None:
                cmd.proc.terminate()
        for cmd in self.by_workflow.values():
            try:
                cmd.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                cmd.proc.kill()
