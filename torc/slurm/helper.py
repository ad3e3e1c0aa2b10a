"""Slurm's commands run by a helper process, so that no torc process forks itself.

``sh`` runs a command by forking the calling interpreter and running Python in the child before
it execs. In a process that runs threads (gRPC's, in every coordinator, worker and client) that
child may inherit a lock another thread held at the fork and wait on it forever: what Python
3.12 warns about. So the coordinator, workers and the CLI never call ``sh`` themselves: each
starts, on its first Slurm command, a helper (``python -m torc.slurm.helper``) through
``subprocess``, whose fork-and-exec runs no Python in the child, and asks it over a pipe. The
helper has one thread; there ``sh`` forks safely. Helpers are kept for the next command (a pool:
concurrent commands get a helper each) and end when their parent does (their stdin closes).

The protocol is one JSON line each way: ``{"command", "args", "timeout", "env"}``, answered by
``{"out": ...}`` or ``{"error": ...}`` (the SlurmError's message).
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from typing import IO

from torc.errors import TorcError


class HelperError(TorcError):
    """The helper process could not be started or died mid-command."""

    code = "FAILED_PRECONDITION"


class CommandFailed(TorcError):
    """A command failed, was not found or timed out (``commands`` makes it a SlurmError)."""


def run_here(command: str, *args: str, timeout: float, env: dict[str, str]) -> str:
    """Run a command with ``sh`` in this process (the helper's side: one thread, so its fork
    is safe); its output, or a CommandFailed with what it printed."""
    # Imported here: the processes that import this module to ask a helper never run sh.
    import sh

    try:
        cmd = sh.Command(command)
    except sh.CommandNotFound:
        raise CommandFailed(f"{command}: not found (is Slurm installed on this host?)") from None
    try:
        return str(cmd(*args, _timeout=timeout, _tty_out=False, _env=env))
    except sh.ErrorReturnCode as e:
        said = (e.stderr or e.stdout or b"").decode(errors="replace").strip()
        raise CommandFailed(f"{command} failed (exit {e.exit_code}): {said}") from None
    except sh.TimeoutException:
        raise CommandFailed(f"{command} timed out after {timeout:g}s") from None


class _Helper:
    """One helper process and its pipes."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "torc.slurm.helper"], stdin=subprocess.PIPE,
            stdout=subprocess.PIPE, text=True, bufsize=1, close_fds=True)

    def ask(self, request: dict) -> dict:
        stdin, stdout = self.proc.stdin, self.proc.stdout
        assert stdin is not None and stdout is not None
        stdin.write(json.dumps(request) + "\n")
        stdin.flush()
        line = stdout.readline()
        if not line:
            raise HelperError(f"the Slurm command helper (pid {self.proc.pid}) died running "
                              f"{request['command']}")
        return json.loads(line)


class HelperPool:
    """Idle helpers of this process; a command takes one (or starts one) and gives it back."""

    def __init__(self) -> None:
        self._idle: list[_Helper] = []
        self._lock = threading.Lock()

    def run(self, command: str, args: list[str], timeout: float,
            env: dict[str, str]) -> dict:
        """Run ``command`` in a helper; its answer (``out`` or ``error``)."""
        with self._lock:
            helper = self._idle.pop() if self._idle else None
        if helper is None:
            try:
                helper = _Helper()
            except OSError as e:
                raise HelperError(f"cannot start the Slurm command helper: {e}") from None
        try:
            answer = helper.ask({"command": command, "args": args, "timeout": timeout,
                                 "env": env})
        except (OSError, ValueError, HelperError):
            helper.proc.kill()
            helper.proc.wait()
            raise
        with self._lock:
            self._idle.append(helper)
        return answer

    def pids(self) -> list[int]:
        """The idle helpers' process ids (for tests and diagnostics)."""
        with self._lock:
            return [h.proc.pid for h in self._idle]


POOL = HelperPool()


def serve(requests: IO[str], answers: IO[str]) -> None:
    """The helper's loop: run each request with ``sh`` here, in a one-thread process."""
    for line in requests:
        req = json.loads(line)
        try:
            out = run_here(req["command"], *req["args"], timeout=req["timeout"],
                                    env=req["env"])
            answer = {"out": out}
        except TorcError as e:
            answer = {"error": e.message}
        answers.write(json.dumps(answer) + "\n")
        answers.flush()


if __name__ == "__main__":
    serve(sys.stdin, sys.stdout)
