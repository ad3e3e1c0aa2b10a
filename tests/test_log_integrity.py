"""What the data directory promises: a snapshot never runs ahead of the log, a damaged snapshot
or part is refused by name instead of served, a log segment lost after the snapshot refuses the
start, and nobody is shown an event before the record holding it is durable.

The moment between a record's write and its fsync is a few milliseconds wide; the tests hold it
open with ``helpers/fsync_gate.c`` (LD_PRELOAD), which stalls fsync of WAL segments only, while
a file exists. Everything else is the real coordinator on real files.
"""

from __future__ import annotations

import random
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Coordinator, wait_for
from torc import states as S
from torc.client.stub import TorcClient
from torc.server.persistence import sealed
from torc.server.persistence.wal_format import list_segments, segment_name

SMALL = {"name": "small", "jobs": [{"name": "a", "command": "echo 2-1"}]}


@pytest.fixture(scope="module")
def fsync_gate_lib(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("gate") / "fsync_gate.so"
    subprocess.run(["gcc", "-shared", "-fPIC", "-O2", "-o", str(out),
                    str(ROOT / "tests" / "helpers" / "fsync_gate.c"), "-ldl"], check=True)
    return out


@pytest.fixture
def gated(fsync_gate_lib: Path, tmp_path: Path,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Coordinator, Path]]:
    """A coordinator whose WAL fsyncs wait while the returned gate file exists."""
    gate = tmp_path / "gate"
    monkeypatch.setenv("LD_PRELOAD", str(fsync_gate_lib))
    monkeypatch.setenv("TORC_TEST_FSYNC_GATE", str(gate))
    c = Coordinator(tmp_path / "coord", "--snapshot-every", "3")
    c.start()
    monkeypatch.delenv("LD_PRELOAD")  # only the coordinator is gated, not the tests' tools
    yield c, gate
    gate.unlink(missing_ok=True)
    c.close()


def in_thread(fn: Any, *args: Any) -> tuple[threading.Thread, list[Any]]:
    out: list[Any] = []
    t = threading.Thread(target=lambda: out.append(fn(*args)), daemon=True)
    t.start()
    return t, out


def start_or_refuse(data_dir: Path) -> tuple[int | None, str]:
    """Start a coordinator on ``data_dir``: (None, output) when it listened (it is then
    stopped), (exit code, output) when it refused."""
    proc = subprocess.Popen([sys.executable, "-m", "torc.server.main", "serve", "--port", "0",
                             "--data-dir", str(data_dir)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    assert proc.stdout is not None
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if "torc-coord listening" in line:
            proc.terminate()
            lines.append(proc.communicate(timeout=60)[0])
            return None, "".join(lines)
    return proc.wait(timeout=60), "".join(lines)


# ----- 1. a snapshot is never ahead of the log

def snapshot_written(directory: Path) -> bool:
    """A snapshot is in place, or written whole beside its place (its checksum holds)."""
    if any(directory.glob("snapshot-*.json")):
        return True
    for tmp in directory.glob("snapshot-*.tmp"):
        try:
            sealed.unseal(tmp.read_bytes())
            return True
        except (OSError, ValueError):
            continue
    return False


def test_a_snapshot_is_put_in_place_only_once_the_log_holds_its_records_durably(
        gated: tuple[Coordinator, Path]) -> None:
    c, gate = gated
    directory = c.data_dir
    first = c.client.create_workflow(SMALL)
    gate.touch()  # from here on, WAL records are written but not yet durable
    pending = [in_thread(c.client.create_workflow, SMALL) for _ in range(3)]
    wait_for(lambda: Path(f"{gate}.entered").exists())
    # The fourth record starts a snapshot (every 3): wait until its child has written it
    # whole, in place or not.
    wait_for(lambda: snapshot_written(directory))
    placed = [p.name for p in directory.glob("snapshot-*.json")]
    assert not placed, (f"{placed} put in place while the log had made only record 1 durable: "
                        "a crash now would serve changes nobody was told were kept")
    gate.unlink()
    for t, _ in pending:
        t.join()
    ids = {first} | {out[0] for _, out in pending}
    wait_for(lambda: any(directory.glob("snapshot-*.json")))
    c.kill9()
    c.start()
    assert {w.id for w in c.client.list_workflows()} == ids
    c.kill9()
    c.start()  # and again: the log after the snapshot continues it
    assert {w.id for w in c.client.list_workflows()} == ids


# ----- 4. events are sent once durable

def test_watch_events_sends_an_event_only_once_its_record_is_durable(
        gated: tuple[Coordinator, Path]) -> None:
    c, gate = gated
    watcher = TorcClient(c.url, timeout=60)
    received: list[Any] = []
    # The history's end marker says the stream is registered: what follows is live.
    stream = watcher.watch_events(0, history=True, mark_history_end=True)

    def follow() -> None:
        try:
            for ev in stream:
                received.append(ev)
        except Exception:  # noqa: BLE001 - the stream is canceled at the end
            pass

    threading.Thread(target=follow, daemon=True).start()
    wait_for(lambda: received and received[-1].history_end)
    received.clear()
    c.client.create_workflow(SMALL)
    wait_for(lambda: len(received) == 1)
    gate.touch()
    t, _ = in_thread(c.client.create_workflow, SMALL)
    wait_for(lambda: Path(f"{gate}.entered").exists())
    # The record is written and applied; a round trip on the watcher's own connection gives
    # the coordinator every chance to send what it has queued for the stream.
    watcher.call("WhoAmI", __import__("torc.proto.torc_pb2", fromlist=["Empty"]).Empty())
    assert len(received) == 1, (f"{received[1:]} was sent while its record was not durable: "
                                "a crash now would take back what the watcher was shown")
    gate.unlink()
    t.join()
    wait_for(lambda: len(received) == 2)
    stream.cancel()
    watcher.close()


# ----- 2. damage in a snapshot or a part is refused, never served

def _stopped_with_a_snapshot(tmp_path: Path) -> Path:
    c = Coordinator(tmp_path / "coord")
    c.start()
    wf = c.client.create_workflow(SMALL)
    c.client.initialize(wf)
    c.stop()  # a clean stop writes a snapshot and its parts
    return tmp_path / "coord"


def _one(directory: Path, pattern: str) -> Path:
    found = list(directory.glob(pattern))
    assert len(found) == 1, found
    return found[0]


def _replace(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data, (old, data[:300])
    path.write_bytes(data.replace(old, new, 1))


@pytest.mark.parametrize("damage", ["command", "status", "status99", "snapshot-byte",
                                    "part-byte"])
def test_damage_in_a_snapshot_or_its_parts_refuses_the_start_naming_the_file(
        tmp_path: Path, damage: str) -> None:
    directory = _stopped_with_a_snapshot(tmp_path)
    if damage == "command":  # a command that would then run
        target = _one(directory, "part-*-specs-*.json")
        _replace(target, b"echo 2-1", b"echo PWNED")
    elif damage.startswith("status"):
        target = _one(directory, "part-*-state-*.json")
        new = b"99" if damage == "status99" else str(S.COMPLETED).encode()
        _replace(target, b'"status":[%d]' % S.READY, b'"status":[' + new + b"]")
    else:
        target = (_one(directory, "snapshot-*.json") if damage == "snapshot-byte"
                  else _one(directory, "part-*-specs-*.json"))
        data = bytearray(target.read_bytes())
        at = random.Random(7).randrange(len(data) // 4, len(data) - 2)
        data[at] ^= 0x04
        target.write_bytes(bytes(data))
    code, out = start_or_refuse(directory)
    assert code == 2, f"served a damaged {target.name}:\n{out}"
    assert "cannot start" in out and target.name in out, out
    assert "Traceback" not in out, out


# ----- 3. a lost log segment is never served silently

@pytest.mark.parametrize("loss", ["deleted", "emptied"])
def test_a_lost_continuation_of_the_snapshot_refuses_the_start(tmp_path: Path,
                                                              loss: str) -> None:
    directory = tmp_path / "coord"
    c = Coordinator(directory)
    c.start()
    for _ in range(2):
        c.client.create_workflow(SMALL)
    c.stop()  # snapshot at N
    seq = int(_one(directory, "snapshot-*.json").stem[9:])
    c.start()
    for _ in range(5):  # acknowledged: records N+1 .. N+5
        c.client.create_workflow(SMALL)
    c.kill9()
    continuation = directory / segment_name(seq + 1)
    assert continuation.exists(), list_segments(directory)
    if loss == "deleted":
        continuation.unlink()
    else:
        continuation.write_bytes(b"")
    code, out = start_or_refuse(directory)
    assert code == 2, f"started without five acknowledged workflows:\n{out}"
    assert "cannot start" in out and continuation.name in out, out
    assert "Traceback" not in out, out


def test_a_cut_tail_is_dropped_without_claiming_it_was_never_acknowledged(
        tmp_path: Path) -> None:
    directory = tmp_path / "coord"
    c = Coordinator(directory)
    c.start()
    try:
        ids = [c.client.create_workflow(SMALL) for _ in range(3)]
        c.kill9()
        segment = list_segments(directory)[-1][1]
        data = segment.read_bytes()
        segment.write_bytes(data[:-5])  # the last record cut: by a crash, or by damage
        c.start()
        assert {w.id for w in c.client.list_workflows()} == set(ids[:-1])
        text = c.log.read_text()
        assert "dropping" in text and "unacknowledged" not in text, text
    finally:
        c.close()
