"""Reading the end of a file a job wrote, safely: only a regular file (a FIFO or device left in
a log's place would block the reader for ever), opened without blocking, and only its last
bytes. Shared by the TUI's viewer and the dashboard's log panes."""

from __future__ import annotations

import errno
import os
import stat
from dataclasses import dataclass
from pathlib import Path


class Unreadable(Exception):
    """Why a file is not shown (a sentence for the reader)."""


@dataclass(frozen=True, slots=True)
class Tail:
    """The last bytes of a file and the file's whole size."""

    data: bytes
    size: int

    @property
    def truncated(self) -> bool:
        return self.size > len(self.data)


def read_tail(path: Path, limit: int, follow_links: bool = True) -> Tail:
    """The last ``limit`` bytes of a regular file; Unreadable saying why not. With
    ``follow_links`` false a symbolic link is refused (a server reading files a job owns:
    the link could point anywhere)."""
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC | (0 if follow_links else os.O_NOFOLLOW)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise Unreadable("not found") from None
    except OSError as e:
        raise Unreadable("not a regular file (a symbolic link)"
                         if e.errno == errno.ELOOP else f"cannot read: {e.strerror}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise Unreadable("not a regular file")
        return Tail(os.pread(fd, limit, max(st.st_size - limit, 0)), st.st_size)
    except OSError as e:
        raise Unreadable(f"cannot read: {e.strerror}") from None
    finally:
        os.close(fd)
