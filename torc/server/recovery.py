"""Snapshots and restart: the latest snapshot plus every WAL record after it.

A snapshot is the store's JSON at a sequence number, written to a temporary file, fsync'ed and
renamed, so a crash leaves either the old or the new one. Replay goes through the same
``Store.apply`` as live calls.
"""

from __future__ import annotations

import ctypes
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

from torc.errors import TorcError
from torc.server.store import Store
from torc.server.wal import fsync_dir, read_records

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h


def snapshot_path(directory: Path, seq: int) -> Path:
    """Where the snapshot at ``seq`` lives."""
    return directory / f"snapshot-{seq:016d}.json"


def list_snapshots(directory: Path) -> list[tuple[int, Path]]:
    """Snapshots in order, as (seq, path)."""
    out = []
    for p in directory.glob("snapshot-*.json"):
        try:
            out.append((int(p.stem[9:]), p))
        except ValueError:
            continue
    return sorted(out)


def write_snapshot(directory: Path, seq: int, data: bytes) -> Path:
    """Atomically write a snapshot and remove older ones."""
    final = snapshot_path(directory, seq)
    tmp = final.with_suffix(".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, final)
    fsync_dir(directory)
    for old_seq, path in list_snapshots(directory):
        if old_seq < seq:
            path.unlink()
    return final


def fork_snapshot(directory: Path, store: Store, seq: int) -> int:
    """Write a snapshot of ``store`` at ``seq`` from a forked child; returns the child's pid.

    Encoding millions of jobs takes seconds of CPU that would stall the event loop; the child
    gets a copy-on-write image of the store as it is now and encodes it while the parent goes on
    serving (and changing its own copy). The child dies with the coordinator (PDEATHSIG), so a
    snapshot can never land after a new coordinator has started on the same directory.
    """
    parent = os.getpid()
    pid = os.fork()
    if pid:
        return pid
    code = 1
    try:
        _die_with_parent()
        if os.getppid() == parent:
            write_snapshot(directory, seq, encode_snapshot(store, seq))
            code = 0
    except BaseException as e:  # noqa: BLE001 - the child reports and exits, whatever happened
        os.write(2, f"snapshot at seq {seq} failed: {e!r}\n".encode())
    finally:
        os._exit(code)


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


def encode_snapshot(store: Store, seq: int) -> bytes:
    """Serialize the store at ``seq``."""
    return json.dumps({"seq": seq, "store": store.to_snapshot()},
                      separators=(",", ":")).encode()


def recover(directory: Path) -> tuple[Store, int, dict[str, Any]]:
    """Rebuild the store from ``directory``; returns (store, next seq, figures)."""
    directory.mkdir(parents=True, exist_ok=True)
    for stale in directory.glob("snapshot-*.tmp"):
        stale.unlink()
    t0 = time.perf_counter()
    seq = 0
    store = Store()
    snapshots = list_snapshots(directory)
    if snapshots:
        seq, path = snapshots[-1]
        data = json.loads(path.read_bytes())
        store = Store.from_snapshot(data["store"])
    t_snap = time.perf_counter() - t0
    replayed = 0
    for rec_seq, event in read_records(directory, after_seq=seq):
        try:
            store.apply(event)
        except TorcError as e:  # was legal when logged; a mismatch is a bug worth shouting about
            log.error("replay of record %d (%s) failed: %s", rec_seq, event.get("t"), e.message)
        seq = rec_seq
        replayed += 1
    store.feed.clear()
    figures = {"snapshot_seconds": t_snap, "replayed": replayed,
               "seconds": time.perf_counter() - t0, "seq": seq}
    return store, seq + 1, figures
