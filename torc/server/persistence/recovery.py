"""Snapshots and restart: the latest snapshot plus every WAL record after it.

A snapshot is the store's JSON at a sequence number, sealed with its checksum (``sealed``),
written to a temporary file, fsync'ed and renamed, so a crash leaves either the old or the new
one. It is renamed into place only once the log holds its sequence number durably and the
segment that continues it exists (the coordinator says so through a pipe): a snapshot is never
ahead of the log, and it names that segment, so a lost continuation refuses the start. Replay
goes through the same ``Store.apply`` as live calls.
"""

from __future__ import annotations

import ctypes
import gc
import json
import logging
import os
import signal
import time
from pathlib import Path
from typing import Any

from torc.errors import TorcError
from torc.server.persistence import codec, sealed, snapshot_parts
from torc.server.persistence.wal_format import CorruptWal, fsync_dir, segment_name
from torc.server.persistence.wal_reader import WalReader
from torc.server.state import event_codec
from torc.server.state.store import Store

log = logging.getLogger(__name__)

PR_SET_PDEATHSIG = 1  # linux/prctl.h
# The snapshot child's exit code when the coordinator did not let it put its snapshot in
# place (the log could not hold its sequence number).
NOT_PLACED = 3


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


def write_snapshot(directory: Path, seq: int, data: bytes, parts: set[str],
                   go: int | None = None) -> Path | None:
    """Atomically write a snapshot naming ``parts`` (already on disk), then remove older
    snapshots and the parts only they named. With ``go`` (the read end of a pipe), the
    snapshot is put in place only once a byte arrives there: the coordinator sends it when
    its log holds ``seq`` durably. None when the pipe closed without it (not put in place)."""
    final = snapshot_path(directory, seq)
    tmp = snapshot_parts.write_unplaced(final, data)
    if go is not None and os.read(go, 1) != b"1":
        tmp.unlink()
        return None
    os.replace(tmp, final)
    fsync_dir(directory)
    for old_seq, path in list_snapshots(directory):
        if old_seq < seq:
            path.unlink()
    snapshot_parts.collect(directory, parts)
    return final


def fork_snapshot(directory: Path, store: Store, seq: int, boot: str,
                  cpu_share: float = 1.0, idle: bool = True) -> tuple[int, int]:
    """Write a snapshot of ``store`` at ``seq`` from a forked child; returns the child's pid
    and the write end of its go pipe: the child puts the snapshot in place only after the
    parent writes ``b"1"`` there (once its log holds ``seq`` durably; close it to abandon).
    ``boot`` tells this coordinator's parts from those of its earlier lives; the child uses at
    most ``cpu_share`` of one CPU (``snapshot_parts.Pacer``), and when ``idle``, only CPU time
    nothing else wants.

    Encoding millions of jobs takes seconds of CPU that would stall the event loop; the child
    gets a copy-on-write image of the store as it is now and encodes it while the parent goes on
    serving (and changing its own copy). The child dies with the coordinator (PDEATHSIG), so a
    snapshot can never land after a new coordinator has started on the same directory.

    The child's rules: the coordinator runs other threads (gRPC's, the WAL's flusher), and a
    lock one of them held at the fork stays held in the child forever. So the child takes no
    lock: it imports nothing (every module it needs is imported before the fork), loads no
    library (libc is loaded at import), logs nothing (it reports failure with ``os.write``),
    starts no thread and never returns into the caller's code (``os._exit``).
    ``tests/test_snapshot_fork.py`` holds it to them.
    """
    parent = os.getpid()
    snapshot_parts.assign(store, boot, seq)
    go_read, go_write = os.pipe()
    pid = os.fork()
    if pid:
        os.close(go_read)
        return pid, go_write
    code = 1
    try:
        os.close(go_write)
        _die_with_parent()
        if idle:
            # Not the final one (nothing is served then, so nobody to make way for), nor one
            # taken again after starving: on a machine busy with other work an idle-class
            # child starves (a clean stop of 100,000 jobs beside two busy processes waited
            # 96 s instead of 0.7).
            _run_when_idle()
        # Nothing the child makes outlives it: a collection would only write to (and so copy)
        # pages it shares with the coordinator.
        gc.disable()
        if os.getppid() == parent:
            pacer = snapshot_parts.Pacer(cpu_share)
            snapshot_parts.write_missing(directory, store, seq, pacer)
            data = {"seq": seq, "continued_by": segment_name(seq + 1),
                    "store": codec.dump_store(store, seq)}
            pacer.tick()
            placed = write_snapshot(directory, seq,
                                    json.dumps(data, separators=(",", ":")).encode(),
                                    snapshot_parts.named(data), go_read)
            code = 0 if placed is not None else NOT_PLACED
    except BaseException as e:  # noqa: BLE001 - the child reports and exits, whatever happened
        os.write(2, f"snapshot at seq {seq} failed: {e!r}\n".encode())
    finally:
        os._exit(code)


def _run_when_idle() -> None:
    """Let the child have only CPU time nothing else wants. Encoding must not take a core
    from the coordinator it copies: on a loaded machine with few cores, even a busy process
    at nice 19 beside the coordinator raises its claim latency several times over, and one
    under SCHED_IDLE much less (wakeups preempt it at once); the benchmarks page has the
    figures."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        os.nice(19)


def _libc() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True)
    except OSError:
        return None


# Loaded here, not in the snapshot child: dlopen takes the loader's lock (see fork_snapshot).
_LIBC = _libc()


def _die_with_parent() -> None:
    try:
        _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        pass


class CorruptSnapshot(CorruptWal):
    """The latest snapshot cannot be read (it is written atomically, so this is damage)."""


def load_snapshot(path: Path) -> tuple[int, Store, str | None]:
    """Read one snapshot file and its parts: (seq, store, the WAL segment that continues it,
    None in a snapshot from before it was named); CorruptSnapshot names the damaged file."""
    try:
        data = json.loads(sealed.unseal(path.read_bytes()))
        snapshot_parts.resolve(path.parent, data)
        return data["seq"], codec.restore(data["store"]), data.get("continued_by")
    except Exception as e:  # noqa: BLE001 - whatever is wrong in it, it is damage
        raise CorruptSnapshot(f"{path}: snapshot is damaged ({type(e).__name__}: {e}); move "
                              "it away to start from the WAL alone only if the WAL still "
                              "holds every record since the first") from None


def recover(directory: Path) -> tuple[Store, int, dict[str, Any]]:
    """Rebuild the store from ``directory``; returns (store, next seq, figures).

    Raises CorruptWal (or CorruptSnapshot) when the files are damaged or a logged event no
    longer applies: serving state that does not match the log would be worse than not serving.
    A torn tail is cut only after everything before it replayed.
    """
    directory.mkdir(parents=True, exist_ok=True)
    for stale in [*directory.glob("snapshot-*.tmp"), *directory.glob("wal-*.tmp"),
                  *directory.glob(f"{snapshot_parts.PREFIX}*.tmp")]:
        stale.unlink()
    t0 = time.perf_counter()
    seq = 0
    store = Store()
    snapshots = list_snapshots(directory)
    continued_by = None
    if snapshots:
        seq, store, continued_by = load_snapshot(snapshots[-1][1])
    t_snap = time.perf_counter() - t0
    replayed = 0
    reader = WalReader(directory, after_seq=seq, continued_by=continued_by)
    for rec_seq, data in reader.records():
        try:
            event = event_codec.from_json(data)
        except ValueError as e:
            raise CorruptWal(f"{directory}: record {rec_seq} is not an event: {e}") from None
        try:
            store.apply(event)
        except TorcError as e:  # it was legal when it was logged
            raise CorruptWal(f"{directory}: record {rec_seq} ({event.KIND}) does not "
                             f"replay: {e.message}") from None
        seq = rec_seq
        replayed += 1
    reader.cut_torn_tail()
    figures = {"snapshot_seconds": t_snap, "replayed": replayed,
               "seconds": time.perf_counter() - t0, "seq": seq}
    return store, seq + 1, figures
