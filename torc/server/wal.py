"""Write-ahead log: checksummed event records in segment files, made durable by group commit.

Record: ``<u32 length><u32 crc32><u64 seq><payload>`` where the CRC covers seq and payload and
the payload is the event as compact JSON. Segments are named by the sequence number of their
first record (``wal-0000000000000001.log``).

:meth:`Wal.append` only buffers; :meth:`Wal.sync` waits until a record is on disk. One flusher
task writes whatever accumulated while the previous write+fsync ran, so under load many RPCs
share one fsync. All file work happens on a single thread, in submission order.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import struct
import zlib
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

HEADER = struct.Struct("<IIQ")
MAX_RECORD = 1 << 31
SEGMENT_BYTES = 64 << 20


class CorruptWal(Exception):
    """A record inside the log (not at its tail) is damaged: refuse to guess."""


def encode(seq: int, event: dict[str, Any]) -> bytes:
    """One framed record."""
    payload = json.dumps(event, separators=(",", ":")).encode()
    body = struct.pack("<Q", seq) + payload
    return HEADER.pack(len(payload), zlib.crc32(body), seq) + payload


def segment_name(first_seq: int) -> str:
    """File name of the segment whose first record is ``first_seq``."""
    return f"wal-{first_seq:016d}.log"


def list_segments(directory: Path) -> list[tuple[int, Path]]:
    """Segments in order, as (first seq, path)."""
    out = []
    for p in directory.glob("wal-*.log"):
        try:
            out.append((int(p.stem[4:]), p))
        except ValueError:
            continue
    return sorted(out)


def read_records(directory: Path, after_seq: int = 0) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield (seq, event) for records after ``after_seq``.

    A damaged record at the end of the last segment is a write torn by a crash: it was never
    acknowledged, so the file is truncated there. Damage anywhere else raises CorruptWal.
    """
    segments = list_segments(directory)
    expected: int | None = None
    for index, (_first, path) in enumerate(segments):
        last_segment = index == len(segments) - 1
        data = path.read_bytes()
        pos = 0
        while pos < len(data):
            problem = None
            if len(data) - pos < HEADER.size:
                problem = "truncated header"
            else:
                length, crc, seq = HEADER.unpack_from(data, pos)
                end = pos + HEADER.size + length
                if length > MAX_RECORD or end > len(data):
                    problem = "truncated record"
                elif zlib.crc32(data[pos + 8:end]) != crc:
                    problem = "checksum mismatch"
                elif expected is not None and seq != expected:
                    problem = f"sequence {seq} where {expected} was expected"
            if problem:
                if not last_segment:
                    raise CorruptWal(f"{path}: {problem} at byte {pos}")
                log.warning("WAL %s: %s at byte %d; dropping %d unacknowledged byte(s)",
                            path, problem, pos, len(data) - pos)
                with open(path, "r+b") as f:
                    f.truncate(pos)
                    os.fsync(f.fileno())
                return
            expected = seq + 1
            if seq > after_seq:
                yield seq, json.loads(data[pos + HEADER.size:end])
            pos = end


def fsync_dir(directory: Path) -> None:
    """Make a rename or unlink in ``directory`` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class Wal:
    """The appending side of the log."""

    def __init__(self, directory: Path, next_seq: int, fsync: bool = True,
                 segment_bytes: int = SEGMENT_BYTES) -> None:
        self.directory = directory
        self.fsync = fsync
        self.segment_bytes = segment_bytes
        self.last_seq = next_seq - 1
        self.durable_seq = next_seq - 1
        self.bytes_since_snapshot = 0
        self.records_since_snapshot = 0
        self._buf = bytearray()
        self._waiters: deque[tuple[int, asyncio.Future[None]]] = deque()
        self._wakeup = asyncio.Event()
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="wal")
        self._file: Any = None
        self._file_size = 0
        self._rotate = True  # always start a fresh segment after a restart
        self._failed: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self.fsyncs = 0

    def start(self) -> None:
        """Start the flusher task on the running loop."""
        self._task = asyncio.get_running_loop().create_task(self._flusher())

    def append(self, event: dict[str, Any]) -> int:
        """Buffer one event; returns its sequence number (not yet durable)."""
        if self._failed is not None:
            raise RuntimeError(f"the WAL failed earlier: {self._failed}")
        self.last_seq += 1
        record = encode(self.last_seq, event)
        self._buf += record
        self.bytes_since_snapshot += len(record)
        self.records_since_snapshot += 1
        self._wakeup.set()
        return self.last_seq

    async def sync(self, seq: int | None = None) -> None:
        """Wait until record ``seq`` (default: the last appended) is durable."""
        if seq is None:
            seq = self.last_seq
        if seq <= self.durable_seq:
            return
        if self._failed is not None:
            raise RuntimeError(f"the WAL failed: {self._failed}")
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append((seq, fut))
        self._wakeup.set()
        await fut

    def request_rotation(self) -> None:
        """Start a new segment with the next batch (so older segments can be deleted)."""
        self._rotate = True

    async def run_in_file_thread(self, fn: Any, *args: Any) -> Any:
        """Run file work on the WAL's thread, ordered with the flushes."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, fn, *args)

    async def _flusher(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            await self._wakeup.wait()
            self._wakeup.clear()
            while self._buf:
                data = bytes(self._buf)
                first_seq = self.durable_seq + 1
                upto = self.last_seq
                self._buf.clear()
                try:
                    await loop.run_in_executor(self._executor, self._write, data, first_seq)
                except BaseException as e:  # disk full, I/O error: nothing more can be acked
                    log.critical("WAL write failed: %s", e)
                    self._failed = e
                    while self._waiters:
                        self._waiters.popleft()[1].set_exception(
                            RuntimeError(f"the WAL failed: {e}"))
                    return
                self.durable_seq = upto
                while self._waiters and self._waiters[0][0] <= upto:
                    fut = self._waiters.popleft()[1]
                    if not fut.done():
                        fut.set_result(None)

    def _write(self, data: bytes, first_seq: int) -> None:
        if self._file is None or self._rotate or self._file_size >= self.segment_bytes:
            if self._file is not None:
                self._file.close()
            path = self.directory / segment_name(first_seq)
            self._file = open(path, "ab", buffering=0)  # noqa: SIM115 - kept open across batches
            self._file_size = self._file.tell()
            self._rotate = False
            fsync_dir(self.directory)
        self._file.write(data)
        self._file_size += len(data)
        if self.fsync:
            os.fsync(self._file.fileno())
            self.fsyncs += 1

    async def close(self) -> None:
        """Flush everything, stop the flusher and close the segment."""
        if self._failed is None and self._buf:
            await self.sync()
        if self._task is not None:
            self._task.cancel()
        await self.run_in_file_thread(self._close_file)
        self._executor.shutdown(wait=True)

    def _close_file(self) -> None:
        if self._file is not None:
            if self.fsync:
                os.fsync(self._file.fileno())
            self._file.close()
            self._file = None

    def remove_segments_upto(self, seq: int) -> int:
        """Delete segments whose records are all <= ``seq`` (call on the file thread)."""
        segments = list_segments(self.directory)
        removed = 0
        for (_first, path), (next_first, _) in zip(segments, segments[1:], strict=False):
            if next_first - 1 <= seq:
                path.unlink()
                removed += 1
        if removed:
            fsync_dir(self.directory)
        return removed
