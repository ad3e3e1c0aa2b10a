"""Job processes: spawned without waiting for them to exec, awaited through a pidfd on the
event loop.

``torc.worker._spawn`` (C, see its file) starts a job's process and returns at once; the
child opens its stdio files, leaves the worker's session and execs on its own. glibc's
``posix_spawn`` (a vfork) would put the worker's one thread to sleep until then, and with
every core busy the jobs that had ended waited to be reaped, leaving cores idle. A step the
child fails (a stdio file it cannot open, a program it cannot exec) makes it exit 127, and
:attr:`JobProcess.start_error` says which once it is reaped. Where ``_spawn`` did not build,
``os.posix_spawn`` (or ``subprocess.Popen`` for a job with its own directory) is used.

A job never outlives itself: each job leads its own session (process group), and when the
leader exits, whatever it left in its group (``cmd &``, a child that ignored SIGTERM) is
SIGKILLed *before* the leader is reaped, while its pid (and so the group id) cannot have been
reused. Processes that left the group (``setsid``, daemons) carry the worker's marker in their
environment; the watchdog (``torc.worker.watchdog``) kills those when the worker ends, however
it ends.
"""

from __future__ import annotations

import asyncio
import functools
import importlib
import logging
import os
import select
import shutil
import signal
import subprocess
import time
import weakref
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

log = logging.getLogger("torc.worker")

# TORC_POSIX_SPAWN=1 keeps to os.posix_spawn (and Popen): a way out should _spawn misbehave.
try:
    if os.environ.get("TORC_POSIX_SPAWN", "") not in ("", "0"):
        raise ImportError("TORC_POSIX_SPAWN is set")
    # A C extension: imported by name, as a type checker cannot read it.
    _spawn: Any = importlib.import_module("torc.worker._spawn")
except ImportError:  # not built here (see setup.py), or not wanted
    _spawn = None

_CREATE = os.O_WRONLY | os.O_CREAT | os.O_TRUNC
STDIO_MODE = 0o600  # job output is the user's alone
# Ignored by Python for itself; a job gets them at their defaults (as Popen restores them).
_RESTORED_SIGNALS = (signal.SIGPIPE, signal.SIGXFSZ)
# ``stderr`` to the stdout file (Torc's stdio mode "combined").
SAME_AS_STDOUT = Path("<stdout>")


class JobProcess:
    """One running command."""

    def __init__(self, argv: list[str], cwd: Path | None, env: Mapping[str, str],
                 stdout: str | Path | None, stderr: str | Path | None,
                 label: str = "") -> None:
        """``cwd`` None runs the job in this process's own directory; ``stdout``/``stderr``
        None discard the stream, ``stderr`` SAME_AS_STDOUT joins it to stdout. ``label``
        names the process in the log (``job 7 (name)``)."""
        self.argv = argv
        self.cwd = cwd
        self.env = env
        self.stdout_path = stdout
        self.stderr_path = stderr
        self.pid = 0
        self.label = label or argv[0]
        self.returncode: int | None = None
        #: Once reaped: why the process could not exec (it then exited 127), else None.
        self.start_error: OSError | None = None
        self.start_time = 0.0
        self.end_time = 0.0
        self._popen: subprocess.Popen[bytes] | None = None
        self._child: Any = None  # _spawn.Child: kept until the process is reaped
        self._pidfd: int | None = None
        self._watcher: _ExitWatcher | None = None

    @staticmethod
    def _stdio(path: str | Path | None) -> str:
        return os.devnull if path is None else str(path)

    def spawn(self) -> None:
        """Spawn the process; raises OSError (or ValueError for an argument no process can
        take) when it cannot start. With ``_spawn`` a step the child fails after it exists
        (its stdio files, directory, exec) does not raise: the process exits 127 and
        :attr:`start_error` says why once it is reaped. Either way the log says why, under
        :attr:`label`. Not a coroutine: the caller goes on in the same step of the event
        loop."""
        self.start_time = time.time()
        try:
            self._start()
        except (OSError, ValueError) as e:
            self._could_not_start(e)
            raise

    def _could_not_start(self, error: Exception) -> None:
        log.error("%s could not start: %s", self.label, error)

    def _start(self) -> None:
        out_path = self._stdio(self.stdout_path)
        if _spawn is not None:
            env = self.env if type(self.env) is dict else dict(self.env)
            err = None if self.stderr_path == SAME_AS_STDOUT else self._stdio(self.stderr_path)
            self._child = _spawn.spawn(_which(self.argv[0]), self.argv, env, os.devnull,
                                       out_path, err, self.cwd, STDIO_MODE)
            self.pid = self._child.pid
        elif self.cwd is None:
            err_action: tuple = (
                (os.POSIX_SPAWN_DUP2, 1, 2) if self.stderr_path == SAME_AS_STDOUT else
                (os.POSIX_SPAWN_OPEN, 2, self._stdio(self.stderr_path), _CREATE, STDIO_MODE))
            program = _which(self.argv[0])
            spawn = os.posix_spawnp if program == self.argv[0] else os.posix_spawn
            self.pid = spawn(program, self.argv, self.env, setsid=True,
                             setsigdef=_RESTORED_SIGNALS, file_actions=[
                (os.POSIX_SPAWN_OPEN, 0, os.devnull, os.O_RDONLY, 0),
                (os.POSIX_SPAWN_OPEN, 1, out_path, _CREATE, STDIO_MODE), err_action])
        else:
            out = os.open(out_path, _CREATE, STDIO_MODE)
            err = os.dup(out) if self.stderr_path == SAME_AS_STDOUT else \
                os.open(self._stdio(self.stderr_path), _CREATE, STDIO_MODE)
            try:
                self._popen = subprocess.Popen(self.argv, cwd=self.cwd, env=self.env,
                                               stdin=subprocess.DEVNULL, stdout=out,
                                               stderr=err, start_new_session=True)
            finally:
                os.close(out)
                os.close(err)
            self.pid = self._popen.pid

    def on_exit(self, callback: Callable[[], None]) -> bool:
        """Call ``callback`` from the event loop once the process has exited (then
        :meth:`reap` it); False when its exit cannot be watched (no pidfd: Linux before 5.3),
        then :meth:`wait` for it. A callback costs a busy worker less than a task per job."""
        if not self.pid:
            return False
        try:
            fd = os.pidfd_open(self.pid)
        except (OSError, AttributeError):
            return False
        watcher = _exit_watcher(asyncio.get_running_loop())
        try:
            watcher.watch(fd, callback)
        except OSError:
            os.close(fd)
            return False
        self._pidfd, self._watcher = fd, watcher
        return True

    def reap(self) -> int:
        """After :meth:`on_exit`'s callback: kill what the job left in its process group,
        reap the leader; returns the return code (-N when killed by signal N)."""
        self._unwatch()
        # The leader is a zombie now: its pid, and the group id, are still reserved.
        self._kill_group(signal.SIGKILL)
        if self._popen is not None:
            self.returncode = self._popen.wait()  # Popen keeps its own bookkeeping: it reaps
        else:
            self.returncode = os.waitstatus_to_exitcode(os.waitpid(self.pid, 0)[1])
        self._reaped()
        return self.returncode

    def _reaped(self) -> None:
        """The process is reaped: note the time, and whether it could exec at all."""
        self.end_time = time.time()
        child, self._child = self._child, None  # frees what the child read before exec
        failure = child.failure() if child is not None else None  # type: ignore[attr-defined]
        if failure is None:
            return
        number, step = failure
        what = {"stdin": os.devnull, "stdout": self._stdio(self.stdout_path),
                "stderr": self._stdio(self.stderr_path), "cwd": self.cwd,
                "exec": self.argv[0]}.get(step)
        self.start_error = OSError(number, f"{os.strerror(number)} ({step})", str(what))
        self._could_not_start(self.start_error)

    def _unwatch(self) -> None:
        """Stop watching the exit (already done if the watcher called back) and close the
        pidfd."""
        fd, self._pidfd = self._pidfd, None
        if fd is not None:
            assert self._watcher is not None
            self._watcher.forget(fd)
            os.close(fd)

    async def wait(self) -> int:
        """Wait for exit; returns the return code (-N when killed by signal N).

        What the job left in its process group is killed before the leader is reaped.
        """
        assert self.pid
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()
        def wake() -> None:
            if not exited.done():
                exited.set_result(None)

        if self.on_exit(wake):
            try:
                await exited
            except asyncio.CancelledError:
                self._unwatch()
                raise
            return self.reap()
        # No pidfd (Linux before 5.3): wait in a thread; the group cannot be killed first.
        if self._popen is not None:
            code = await loop.run_in_executor(None, self._popen.wait)
        else:
            _, status = await loop.run_in_executor(None, os.waitpid, self.pid, 0)
            code = os.waitstatus_to_exitcode(status)
        self.returncode = code
        self._reaped()
        return code

    def kill(self, sig: int = signal.SIGKILL) -> None:
        """Signal the job's whole process group."""
        # Until waitpid reaps the leader, the group id cannot be reused: signalling is safe.
        if not self.pid or self.returncode is not None:
            return
        self._kill_group(sig)

    def _kill_group(self, sig: int) -> None:
        try:
            os.killpg(self.pid, sig)
        except ProcessLookupError:
            # No group yet: the child has not reached setsid. Its signals are blocked until
            # just before exec, so this one waits for it there (SIGKILL does not wait).
            try:
                os.kill(self.pid, sig)
            except (ProcessLookupError, PermissionError):
                pass
        except PermissionError:
            pass


@functools.lru_cache(maxsize=64)
def _which(program: str) -> str:
    """Where ``program`` is on this process's PATH (which posix_spawnp would search for each
    job, trying every directory before it in the vfork), or ``program`` itself when it has a
    slash or is not found (posix_spawnp then gives the error)."""
    if os.sep in program:
        return program
    return shutil.which(program) or program


class _ExitWatcher:
    """Every running job's pidfd in one epoll set, which the event loop watches as one reader.

    ``loop.add_reader``/``remove_reader`` for each job's pidfd cost a busy worker about a tenth
    of its time (the selector's Python bookkeeping, twice per job); registering with an epoll
    set is one system call.
    """

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        # No reference to the loop is kept: the loop is this watcher's key in a weak mapping.
        self.epoll = select.epoll()
        self.waiting: dict[int, Callable[[], None]] = {}
        loop.add_reader(self.epoll.fileno(), self._ready)

    def watch(self, fd: int, callback: Callable[[], None]) -> None:
        """Call ``callback`` when ``fd`` (a pidfd) is readable: its process has exited.
        Once: the fd is then quiet until it is closed, which takes it out of the set
        (no system call to unregister each job's)."""
        self.waiting[fd] = callback
        self.epoll.register(fd, select.EPOLLIN | select.EPOLLONESHOT)

    def forget(self, fd: int) -> None:
        """Stop watching ``fd`` (before it is closed)."""
        if self.waiting.pop(fd, None) is not None:
            self.epoll.unregister(fd)

    def _ready(self) -> None:
        for fd, _ in self.epoll.poll(0):
            callback = self.waiting.pop(fd, None)
            if callback is not None:
                try:
                    callback()
                except Exception:  # one job's end must not keep the others' from being seen
                    log.exception("handling the exit of a job")


_watchers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _ExitWatcher] = \
    weakref.WeakKeyDictionary()


# The last loop's watcher, looked up for every job without the weak mapping's hashing.
_last: tuple[weakref.ref[asyncio.AbstractEventLoop], _ExitWatcher] | None = None


def _exit_watcher(loop: asyncio.AbstractEventLoop) -> _ExitWatcher:
    global _last
    if _last is not None and _last[0]() is loop:
        return _last[1]
    watcher = _watchers.get(loop)
    if watcher is None:
        watcher = _watchers[loop] = _ExitWatcher(loop)
    _last = (weakref.ref(loop), watcher)
    return watcher
