"""Job processes: spawned with ``subprocess`` and awaited through a pidfd on the event loop.

A pidfd becomes readable when the child exits, so waiting costs no thread and no polling. Each
job gets its own session (process group), so killing it kills what it started too.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Mapping
from pathlib import Path


class JobProcess:
    """One running command."""

    def __init__(self, argv: list[str], cwd: Path, env: Mapping[str, str], stdout: Path,
                 stderr: Path) -> None:
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.stdout_path = stdout
        self.stderr_path = stderr
        self.proc: subprocess.Popen[bytes] | None = None
        self.start_time = 0.0
        self.end_time = 0.0
        self.signaled: int | None = None

    async def start(self) -> None:
        """Spawn the process."""
        self.proc = self._spawn()

    def _spawn(self) -> subprocess.Popen[bytes]:
        flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC
        out = os.open(self.stdout_path, flags, 0o644)
        try:
            err = os.open(self.stderr_path, flags, 0o644)
            try:
                self.start_time = time.time()
                return subprocess.Popen(
                    self.argv, cwd=self.cwd, env=self.env, stdin=subprocess.DEVNULL,
                    stdout=out, stderr=err, start_new_session=True)
            finally:
                os.close(err)
        finally:
            os.close(out)

    async def wait(self) -> int:
        """Wait for exit; returns the return code (-N when killed by signal N)."""
        assert self.proc is not None
        loop = asyncio.get_running_loop()
        try:
            fd = os.pidfd_open(self.proc.pid)
        except (OSError, AttributeError):
            rc = await loop.run_in_executor(None, self.proc.wait)
        else:
            done: asyncio.Future[None] = loop.create_future()
            loop.add_reader(fd, lambda: done.done() or done.set_result(None))
            try:
                await done
            finally:
                loop.remove_reader(fd)
                os.close(fd)
            rc = self.proc.wait()
        self.end_time = time.time()
        return rc

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the job's whole process group."""
        if self.proc is None or self.proc.returncode is not None:
            return
        self.signaled = sig
        try:
            os.killpg(self.proc.pid, sig)
        except ProcessLookupError:
            pass
