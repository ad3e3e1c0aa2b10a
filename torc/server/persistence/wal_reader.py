"""Reading the write-ahead log back: every record in order, a torn tail reported instead of
acted on, any other damage an error naming the file and offset (as HyperQueue's journal
reader does)."""

from __future__ import annotations

import json
import logging
import os
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torc.server.persistence.wal_format import (
    HEADER,
    MAX_RECORD,
    SEGMENT_HEADER,
    SEGMENT_MAGIC,
    CorruptWal,
    list_segments,
)

log = logging.getLogger("torc.server.persistence.wal")

# A record found after damage must carry a sequence number this close to the expected one to
# count as "valid data follows" (random bytes essentially never do).
_SEQ_WINDOW = 1 << 32


def _check_at(data: bytes, pos: int, expected: int | None) -> str | None:
    """What is wrong with the record at ``pos`` (None when it is valid)."""
    if len(data) - pos < HEADER.size:
        return "truncated header"
    length, crc, seq = HEADER.unpack_from(data, pos)
    end = pos + HEADER.size + length
    if length > MAX_RECORD or end > len(data):
        return "truncated record"
    if zlib.crc32(data[pos + 8:end]) != crc:
        return "checksum mismatch"
    if expected is not None and seq != expected:
        return f"sequence {seq} where {expected} was expected"
    return None


def _valid_record_after(data: bytes, pos: int, expected: int) -> int | None:
    """Offset of a valid record that starts after ``pos``, or None."""
    for off in range(pos + 1, len(data) - HEADER.size + 1):
        length, crc, seq = HEADER.unpack_from(data, off)
        if (expected <= seq < expected + _SEQ_WINDOW and length <= len(data) - off - HEADER.size
                and zlib.crc32(data[off + 8:off + HEADER.size + length]) == crc):
            return off
    return None


def _records_start(path: Path, first: int, data: bytes) -> int | None:
    """Where a segment's records begin: after its header, or at 0 in a segment from before
    headers; None when the segment has no (whole) header and no records (empty, or its header
    cut short)."""
    if data.startswith(SEGMENT_MAGIC):
        if len(data) < SEGMENT_HEADER.size:
            return None
        _magic, named = SEGMENT_HEADER.unpack_from(data)
        if named != first:
            raise CorruptWal(f"{path}: its header says it begins at record {named}, its name "
                             f"says {first}")
        return SEGMENT_HEADER.size
    if not data or SEGMENT_MAGIC.startswith(data):
        return None
    return 0


@dataclass(frozen=True)
class TornTail:
    """Bytes at the end of the last segment that do not form a whole record."""

    path: Path
    offset: int
    size: int
    problem: str


class WalReader:
    """Reads the log; reports a torn tail instead of acting on it.

    Damage is a torn tail only when it is in the last segment and no valid record follows it
    there: a crash mid-write leaves exactly that. Anything else (damage in an earlier segment,
    a valid record after the damage, a gap or repeat in sequence numbers, a header that does
    not match the name) raises CorruptWal naming the file and offset. ``continued_by`` names
    the segment that a snapshot at ``after_seq`` says continues it: it must exist with its
    header, or records acknowledged after the snapshot are gone. Nothing is changed on disk:
    the caller decides, after a successful replay, whether to :meth:`cut_torn_tail`.
    """

    def __init__(self, directory: Path, after_seq: int = 0,
                 continued_by: str | None = None) -> None:
        self.directory = directory
        self.after_seq = after_seq
        self.continued_by = continued_by
        self.torn: TornTail | None = None

    def _check_continuation(self, segments: list[tuple[int, Path]]) -> None:
        if self.continued_by is None:
            return
        path = self.directory / self.continued_by
        if not any(p.name == self.continued_by for _, p in segments):
            raise CorruptWal(f"{path} is missing: the snapshot at record {self.after_seq} "
                             "says that segment continues it, so every record acknowledged "
                             "after the snapshot is gone")
        with open(path, "rb") as f:
            head = f.read(SEGMENT_HEADER.size)
        if len(head) < SEGMENT_HEADER.size or not head.startswith(SEGMENT_MAGIC):
            raise CorruptWal(f"{path} has been emptied or cut ({len(head)} byte(s), no "
                             "header): it continues the snapshot at record "
                             f"{self.after_seq}, so records acknowledged after it are lost")

    def records(self) -> Iterator[tuple[int, dict[str, Any]]]:
        """Yield (seq, event) for records after ``after_seq``, in order."""
        segments = list_segments(self.directory)
        self._check_continuation(segments)
        expected: int | None = None
        for index, (first, path) in enumerate(segments):
            last_segment = index == len(segments) - 1
            data = path.read_bytes()
            pos = _records_start(path, first, data)
            if pos is None:  # no whole header and nothing else: a creation cut short
                if not last_segment:
                    raise CorruptWal(f"{path}: {len(data)} byte(s), no segment header, and "
                                     "segments follow it")
                self.torn = TornTail(path, 0, len(data), "a segment without its header")
                return
            while pos < len(data):
                problem = _check_at(data, pos, expected)
                if problem:
                    follows = (_valid_record_after(data, pos, expected or first)
                               if last_segment else None)
                    if not last_segment or follows is not None or problem.startswith("seq"):
                        where = f" (a valid record follows at byte {follows})" if follows else ""
                        raise CorruptWal(f"{path}: {problem} at byte {pos}{where}")
                    self.torn = TornTail(path, pos, len(data) - pos, problem)
                    return
                length, _crc, seq = HEADER.unpack_from(data, pos)
                end = pos + HEADER.size + length
                if seq > self.after_seq:
                    if expected is None and seq != self.after_seq + 1:
                        raise CorruptWal(f"{path}: records {self.after_seq + 1} to {seq - 1} "
                                         f"are missing (first record at byte {pos} is {seq})")
                    try:
                        event = json.loads(data[pos + HEADER.size:end])
                    except ValueError as e:
                        raise CorruptWal(f"{path}: record {seq} at byte {pos} is not valid "
                                         f"JSON: {e}") from None
                    yield seq, event
                expected = seq + 1
                pos = end

    def cut_torn_tail(self) -> None:
        """Truncate the torn tail found by :meth:`records` (after a successful replay).

        A crash in the middle of a write leaves such a tail, and what it held was never
        acknowledged (answers wait for the fsync of the whole write). Damage that cuts a file
        leaves the same bytes, and then they may have been: the log cannot tell the two
        apart, so the message does not claim either."""
        t = self.torn
        if t is None:
            return
        log.warning("WAL %s: %s at byte %d; dropping the %d byte(s) from there, which do not "
                    "form a whole record (a write a crash interrupted, or damage that cut the "
                    "file)", t.path, t.problem, t.offset, t.size)
        with open(t.path, "r+b") as f:
            f.truncate(t.offset)
            os.fsync(f.fileno())
