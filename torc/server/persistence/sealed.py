"""Files that carry their own checksum: snapshots and their parts.

A sealed file is one header line, ``torc-sealed-v1 crc32=XXXXXXXX bytes=N``, then N bytes of
body. Loading checks both, so a flipped bit, a cut, or a changed value (a status, a command)
is refused by name instead of served. Files written before sealing (a JSON body alone) still
load; nothing checks them.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable

MAGIC = b"torc-sealed-v1 "
_HEADER = re.compile(rb"torc-sealed-v1 crc32=([0-9a-f]{8}) bytes=(\d{1,15})\n")
_PIECE = 4 << 20


class Damaged(ValueError):
    """A sealed file's body does not match its header (or it has no readable header)."""


def header(body: bytes | memoryview, tick: Callable[[], None] | None = None) -> bytes:
    """The header line for ``body``; ``tick`` is called between pieces of the checksum."""
    crc = 0
    view = memoryview(body)
    for at in range(0, len(view), _PIECE):
        crc = zlib.crc32(view[at:at + _PIECE], crc)
        if tick is not None:
            tick()
    return b"torc-sealed-v1 crc32=%08x bytes=%d\n" % (crc, len(view))


def unseal(data: bytes) -> bytes:
    """The body of a sealed file (or the whole of an unsealed JSON one); Damaged says what
    is wrong."""
    if not data.startswith(MAGIC):
        if data[:1] in (b"{", b"["):
            return data  # written before sealing
        raise Damaged("it is neither sealed nor JSON (its first bytes are damaged)")
    m = _HEADER.match(data, 0, 64)
    if m is None:
        raise Damaged("its header line is damaged")
    body = memoryview(data)[m.end():]
    size = int(m.group(2))
    if len(body) != size:
        raise Damaged(f"it holds {len(body):,} byte(s) after its header, which says {size:,}")
    if zlib.crc32(body) != int(m.group(1), 16):
        raise Damaged("its checksum does not match: the file was changed or damaged after it "
                      "was written")
    return data[m.end():]
