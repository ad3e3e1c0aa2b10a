"""The write-ahead log's files: record frames, segment headers and names.

Record: ``<u32 length><u32 crc32><u64 seq><payload>`` where the CRC covers seq and payload and
the payload is the event as compact JSON. A segment is named by the sequence number of its
first record (``wal-0000000000000001.log``) and begins with a header, ``TORCWAL1`` and that
number as a u64, written (and made durable) before any record: an emptied or truncated segment
is then told from one that was never written to. Segments from before the header start with a
record; they are still read (a record's length can never begin with ``TORC``: it would be over
``MAX_RECORD``).
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

HEADER = struct.Struct("<IIQ")
# The largest record the log writes or reads. An event is encoded and checked against this
# *before* it is applied, so a request whose record would be too large changes nothing.
MAX_RECORD = 1 << 30
SEGMENT_MAGIC = b"TORCWAL1"
SEGMENT_HEADER = struct.Struct("<8sQ")


class CorruptWal(Exception):
    """A record inside the log (not a torn tail) is damaged, or records are missing: refuse to
    guess."""


def frame(seq: int, payload: bytes) -> bytes:
    """One framed record: header (length, CRC of seq + payload, seq) and payload."""
    body = struct.pack("<Q", seq) + payload
    return HEADER.pack(len(payload), zlib.crc32(body), seq) + payload


def segment_name(first_seq: int) -> str:
    """File name of the segment whose first record is ``first_seq``."""
    return f"wal-{first_seq:016d}.log"


def segment_header(first_seq: int) -> bytes:
    """The bytes a segment whose first record is ``first_seq`` begins with."""
    return SEGMENT_HEADER.pack(SEGMENT_MAGIC, first_seq)


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """Segments in order, as (first seq, path)."""
    out = []
    for p in directory.glob("wal-*.log"):
        try:
            out.append((int(p.stem[4:]), p))
        except ValueError:
            continue
    return sorted(out)


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def create_segment(directory: Path, first_seq: int, fsync: bool = True) -> Path:
    """Create segment ``first_seq`` holding only its header, atomically (a temporary file,
    fsync'ed, renamed, the directory fsync'ed): it exists whole or not at all. An existing one
    (a restart right after a snapshot made it) is kept."""
    path = directory / segment_name(first_seq)
    if path.exists():
        return path
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_CLOEXEC, 0o600)
    try:
        os.write(fd, segment_header(first_seq))
        if fsync:
            os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, path)
    if fsync:
        fsync_dir(directory)
    return path
