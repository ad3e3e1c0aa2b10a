"""Job processes: spawned with ``posix_spawn`` and awaited through a pidfd on the event loop.

``posix_spawn`` (a vfork in glibc) costs the worker a fraction of what ``subprocess.Popen``
does, and the job's stdout/stderr files are created by the child, off the event loop. It cannot
change directory, so a job given a directory other than the worker's own goes through
``Popen``; the worker moves into its output directory at start, which makes that the rare path.

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

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC


class JobProcess:
    """One running command."""

    def __init__(self, argv: list[str], cwd: Path | None, env: Mapping[str, str],
                 stdout: Path, stderr: Path) -> None:
        """``cwd`` None runs the job in this process's own directory (the cheap path)."""
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.stdout_path = stdout
        self.stderr_path = stderr
        self.pid = 0
        self.returncode: int | None = None
        self.start_time = 0.0
        self.end_time = 0.0
        self.signaled: int | None = None
        self._popen: subprocess.Popen[bytes] | None = None

    async def start(self) -> None:
        """Spawn the process; raises OSError when it cannot start (e.g. unwritable stdio)."""
        self.start_time = time.time()
        if self.cwd is None:
            self.pid = os.posix_spawnp(self.argv[0], self.argv, self.env, setsid=True,
                                       file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, str(self.stdout_path), _CREATE, 0o644),
                (os.POSIX_SPAWN_OPEN, 2, str(self.stderr_path), _CREATE, 0o644)])
        else:
            with open(self.stdout_path, "wb") as out, open(self.stderr_path, "wb") as err:
                self._popen = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env,
                                               stdin=subprocess.DEVNULL, stdout=out,
                                               stderr=err, start_new_session=True)
            self.pid = self._popen.pid

    async def wait(self) -> int:
        """Wait for exit; returns the return code (-N when killed by signal N)."""
        assert self.pid
        loop = asyncio.get_running_loop()
        if self._popen is not None:
            # Popen keeps its own bookkeeping of the child: let it reap.
            self.returncode = await loop.run_in_executor(None, self._popen.wait)
            self.end_time = time.time()
            return self.returncode
        try:
            fd = os.pidfd_open(self.pid)
        except (OSError, AttributeError):
            _, status = await loop.run_in_executor(None, os.waitpid, self.pid, 0)
        else:
            done: asyncio.Future[None] = loop.create_future()
            loop.add_reader(fd, lambda: done.done() or done.set_result(None))
            try:
                await done
            finally:
                loop.remove_reader(fd)
                os.close(fd)
            _, status = os.waitpid(self.pid, 0)
        self.returncode = os.waitstatus_to_exitcode(status)
        self.end_time = time.time()
        return self.returncode

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the job's whole process group."""
        # Until waitpid reaps it, the pid cannot be reused: signalling it is safe.
        if not self.pid or self.returncode is not None:
            return
        self.signaled = sig
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            pass
