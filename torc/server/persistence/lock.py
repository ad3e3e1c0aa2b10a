"""The data directory's lock: one coordinator per directory, for the life of the process.

Two coordinators appending to one WAL would interleave records and lose both histories. The
lock is an ``flock`` on ``<data-dir>/lock``, which the kernel releases when the process dies
however it dies (SIGKILL included), so there is no stale lock to clean up. The file holds the
holder's pid, for the message the second coordinator prints.
"""

from __future__ import annotations

import fcntl
import os
import secrets
import time
from pathlib import Path

from torc.errors import FailedPrecondition
from torc.server.persistence.wal_format import fsync_dir

# A coordinator that was just SIGKILLed may leave its snapshot child alive for a moment (it
# dies with its parent, asynchronously): a restart waits this long for the lock to be free.
WAIT_SECONDS = 5.0


def identity(directory: Path) -> str:
    """The data directory's identity, made once and kept there: workers record it in their
    output directory, so that two coordinators never write logs into the same one."""
    path = directory / "identity"
    try:
        value = path.read_text().strip()
    except FileNotFoundError:
        value = ""
    if value:
        return value
    # Made durable before it is handed out: an identity lost in a crash would make this
    # coordinator's workers refuse the output directories they had been writing into.
    value = secrets.token_hex(8)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w") as f:
        f.write(value + "\n")
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    fsync_dir(directory)
    return value


class DataDirBusy(FailedPrecondition):
    """Another live process holds the data directory."""


class DataDirLock:
    """An exclusive lock on a data directory, held until :meth:`release` or process exit."""

    def __init__(self, directory: Path) -> None:
        self.path = directory / "lock"
        self._fd: int | None = None

    def acquire(self, wait: float = WAIT_SECONDS) -> None:
        """Take the lock, or raise DataDirBusy naming the holder's pid."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        deadline = time.monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                    os.close(fd)
                    raise DataDirBusy(f"data directory {self.path.parent} is in use by another "
                                      f"torc-coord (pid {holder})") from None
                time.sleep(0.05)
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Give the lock up (also happens when the process exits)."""
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
