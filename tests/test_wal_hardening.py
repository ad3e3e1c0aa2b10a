"""Hardening of the log: what was acknowledged survives every failure the log itself can see
(a request too deep or too large to log, damage in the last segment, two coordinators on one
directory, a full disk, a record that no longer replays, a damaged snapshot)."""

from __future__ import annotations

import json
import os
import signal
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import grpc
import pytest

from tests.conftest import Coordinator, free_port, run_cli, wait_for
from torc.client.stub import ClientError, TorcClient, raw_stub
from torc.proto import torc_pb2 as pb
from torc.server.persistence.wal_format import list_segments


def frame(seq: int, payload: bytes) -> bytes:
    """A WAL record as docs/reliability.md has it: <u32 len><u32 crc32(seq+payload)><u64 seq>."""
    body = struct.pack("<Q", seq) + payload
    return struct.pack("<IIQ", len(payload), zlib.crc32(body), seq) + payload


SMALL = {"name": "small", "jobs": [{"name": "a", "command": "true"}]}


def serve_once(data_dir: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    """Start a coordinator that is expected to refuse to start."""
    return subprocess.run([sys.executable, "-m", "torc.server.main", "serve", "--port", "0",
                           "--data-dir", str(data_dir), *extra], capture_output=True,
                          text=True, timeout=60)


def nested_spec(depth: int) -> str:
    """SMALL with metadata nested ``depth`` levels, as JSON text (json.dumps would recurse)."""
    return ('{"name": "small", "jobs": [{"name": "a", "command": "true"}], "metadata": '
            + '{"x":' * depth + "1" + "}" * depth + "}")


def test_deeply_nested_request_is_refused_and_loses_nothing(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord")
    c.start()
    try:
        acked = [c.client.create_workflow(SMALL)]
        stub = raw_stub(c.url)
        for depth in range(975, 990):
            text = nested_spec(depth)
            try:
                wf = stub.CreateWorkflow(pb.CreateWorkflowRequest(spec_json=text), timeout=30)
                acked.append(wf.id)
            except grpc.RpcError as e:
                assert e.code() == grpc.StatusCode.INVALID_ARGUMENT, e.details()
                assert "nested" in e.details()
            acked.append(c.client.create_workflow(SMALL))
        c.restart(kill=True)
        existing = {w.id for w in c.client.list_workflows()}
        assert set(acked) <= existing, f"acknowledged workflows lost: {set(acked) - existing}"
    finally:
        c.close()


def test_damage_inside_the_last_segment_refuses_to_start_and_keeps_the_file(
        tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord")
    c.start()
    for _ in range(6):
        c.client.create_workflow(SMALL)
    c.kill9()
    segment = list_segments(tmp_path / "coord")[-1][1]
    data = bytearray(segment.read_bytes())
    # Record 2 of 6: skip the segment's header and the first record, flip a byte in the
    # second's payload.
    assert data[:8] == b"TORCWAL1"
    first_len = int.from_bytes(data[16:20], "little")
    second = 16 + 16 + first_len
    data[second + 16 + 5] ^= 0xFF
    segment.write_bytes(bytes(data))
    r = serve_once(tmp_path / "coord")
    assert r.returncode == 2, r.stderr
    assert "cannot start" in r.stderr and segment.name in r.stderr
    assert f"at byte {second}" in r.stderr
    assert segment.read_bytes() == bytes(data), "the evidence was truncated"


def test_a_torn_tail_is_still_cut_and_the_start_succeeds(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord")
    c.start()
    try:
        ids = [c.client.create_workflow(SMALL) for _ in range(3)]
        c.kill9()
        segment = list_segments(tmp_path / "coord")[-1][1]
        whole = segment.read_bytes()
        partial = frame(99, b'{"t":"create"}' * 10)[:-9]  # a write the crash cut short
        segment.write_bytes(whole + partial)
        c.start()
        assert {w.id for w in c.client.list_workflows()} == set(ids)
        assert segment.read_bytes() == whole
    finally:
        c.close()


def test_a_record_that_does_not_replay_refuses_to_start(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord")
    c.start()
    c.client.create_workflow(SMALL)
    c.kill9()
    segment = list_segments(tmp_path / "coord")[-1][1]
    # A well-formed record (valid checksum, next sequence number) that is illegal: workflow
    # 7 does not exist. Replaying past it would serve state that does not match the log.
    bad = frame(2, json.dumps({"t": "init", "wf": 7, "ts": 1.0}).encode())
    with open(segment, "ab") as f:
        f.write(bad)
    r = serve_once(tmp_path / "coord")
    assert r.returncode == 2, r.stderr
    assert "record 2 (init) does not replay" in r.stderr and "workflow 7" in r.stderr


def test_a_damaged_snapshot_refuses_to_start_naming_the_file(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord")
    c.start()
    c.client.create_workflow(SMALL)
    c.stop()  # a clean stop writes a snapshot
    snapshot = next((tmp_path / "coord").glob("snapshot-*.json"))
    snapshot.write_bytes(snapshot.read_bytes()[:-20])
    r = serve_once(tmp_path / "coord")
    assert r.returncode == 2
    assert "cannot start" in r.stderr and snapshot.name in r.stderr
    assert "Traceback" not in r.stderr


def test_two_coordinators_cannot_share_a_data_directory(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord")
    c.start()
    try:
        r = serve_once(tmp_path / "coord")
        assert r.returncode == 2
        assert "in use" in r.stderr and f"pid {c.proc.pid}" in r.stderr  # type: ignore[union-attr]
        c.client.create_workflow(SMALL)  # the first one is unaffected
        c.restart(kill=True)  # the lock dies with its holder
        assert len(c.client.list_workflows()) == 1
    finally:
        c.close()


def test_two_torc_runs_in_one_output_directory(tmp_path: Path) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(json.dumps({"name": "slow", "jobs": [
        {"name": "a", "command": "sleep 30"}]}))
    out = tmp_path / "out"
    first = subprocess.Popen([sys.executable, "-m", "torc.client.cli", "run", str(spec),
                              "--output-dir", str(out)], stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: list((out / "job_stdio").glob("*.o")) if out.exists() else None)
        second = run_cli("run", str(spec), "--output-dir", str(out))
        assert second.returncode != 0
        assert "in use" in second.stderr, second.stderr
    finally:
        first.send_signal(signal.SIGINT)  # torc run stops its worker and coordinator
        first.wait(timeout=60)


@pytest.fixture
def small_disk(tmp_path: Path):  # type: ignore[no-untyped-def]
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "disk"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=600k", "tmpfs", str(mnt)], check=True)
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], check=False)


def test_full_disk_stops_the_coordinator_and_loses_nothing_acknowledged(
        small_disk: Path) -> None:
    data = small_disk / "coord"
    port = free_port()
    log = small_disk.parent / "coord.log"
    with open(log, "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "torc.server.main", "serve", "--port",
                                 str(port), "--data-dir", str(data)], stdout=f, stderr=f)
    url = f"127.0.0.1:{port}"
    client = TorcClient(url, timeout=30)
    client.wait_ready(timeout=30)
    acked: list[int] = []
    spec = {"name": "filler", "jobs": [{"name": f"j{i}", "command": "x" * 200}
                                        for i in range(40)]}
    failure = None
    try:
        for _ in range(400):
            try:
                acked.append(client.create_workflow(spec))
            except ClientError as e:
                failure = e
                break
        assert failure is not None, "the disk never filled"
        assert failure.code in ("UNAVAILABLE", "INTERNAL"), failure
        assert proc.wait(timeout=60) == 1  # it stopped, non-zero, instead of serving on
        assert "write-ahead log failed" in log.read_text()
    finally:
        client.close()
        if proc.poll() is None:
            proc.kill()
    subprocess.run(["mount", "-o", "remount,size=64m", str(small_disk)], check=True)
    c = Coordinator(data)
    c.start()
    try:
        existing = {w.id for w in c.client.list_workflows()}
        assert set(acked) <= existing, f"acknowledged workflows lost: {set(acked) - existing}"
    finally:
        c.close()


def test_health_is_not_serving_after_a_wal_failure(small_disk: Path) -> None:
    from grpc_health.v1 import health_pb2, health_pb2_grpc
    data = small_disk / "coord"
    port = free_port()
    with open(small_disk.parent / "coord.log", "wb") as f:
        proc = subprocess.Popen([sys.executable, "-m", "torc.server.main", "serve", "--port",
                                 str(port), "--data-dir", str(data)], stdout=f, stderr=f)
    url = f"127.0.0.1:{port}"
    client = TorcClient(url, timeout=30)
    client.wait_ready(timeout=30)
    channel = grpc.insecure_channel(url)
    health = health_pb2_grpc.HealthStub(channel)
    seen: list[int] = []

    def watch() -> None:
        try:
            for resp in health.Watch(health_pb2.HealthCheckRequest(service="torc.v1.Torc"),
                                     timeout=60):
                seen.append(resp.status)
        except grpc.RpcError:
            pass

    import threading
    t = threading.Thread(target=watch)
    t.start()
    wait_for(lambda: seen)
    try:
        big = {"name": "filler", "jobs": [{"name": f"j{i}", "command": "x" * 200}
                                          for i in range(40)]}
        with pytest.raises(ClientError):
            for _ in range(400):
                client.create_workflow(big)
        proc.wait(timeout=60)
        t.join(timeout=60)
        assert health_pb2.HealthCheckResponse.NOT_SERVING in seen
    finally:
        client.close()
        channel.close()
        if proc.poll() is None:
            proc.kill()


def test_event_history_survives_a_restart(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord", "--snapshot-every", "3")
    c.start()
    try:
        wf_id = c.client.create_workflow(SMALL)
        c.client.initialize(wf_id)
        for kill in (True, False):
            c.restart(kill=kill)
            kinds: set[str] = set()
            for ev in c.client.watch_events(wf_id, history=True):
                kinds.add(ev.kind)
                if {"created", "initialized"} <= kinds:
                    break
    finally:
        c.close()


def test_tls_key_that_does_not_match_the_certificate_is_named(tmp_path: Path) -> None:
    for name in ("a", "b"):
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                        str(tmp_path / f"{name}.key"), "-out", str(tmp_path / f"{name}.pem"),
                        "-days", "1", "-subj", "/CN=localhost"], check=True,
                       capture_output=True)
    r = serve_once(tmp_path / "coord", "--tls-cert", str(tmp_path / "a.pem"), "--tls-key",
                   str(tmp_path / "b.key"))
    assert r.returncode == 2
    assert "a.pem" in r.stderr and "b.key" in r.stderr and "bind" not in r.stderr


def test_an_event_s_plain_fields_are_logged_as_valid_json_whatever_else_it_holds() -> None:
    # Plain fields (Event.PLAIN_FIELDS) go through orjson and the rest through json, spliced
    # into one record; the record must read back as the event whichever part is empty, and a
    # plain field orjson refuses (an integer beyond 64 bits) is still logged.
    from torc.server.persistence.wal import encode_payload

    big = 1 << 70
    for event in ({"job_specs": {"name": ["a", "\u00e9"]}},  # nothing but plain fields
                  {"workflow_id": 1, "job_specs": {"name": ["a"]}},
                  {"workflow_id": 1, "metadata": {"x": float("nan")}},  # none of them
                  {"workflow_id": 1, "job_specs": {"priority": [big]}}):
        payload = encode_payload(event, False, ("job_specs",))
        back = json.loads(payload)
        assert back.keys() == event.keys()
        assert back.get("job_specs") == event.get("job_specs")
    assert json.loads(encode_payload({"job_specs": {"p": [big]}}, False,
                                     ("job_specs",)))["job_specs"]["p"] == [big]
