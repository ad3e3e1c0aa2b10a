"""Authentication: every Torc call needs the token; health and reflection stay open; TLS."""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import grpc
import pytest

from tests.conftest import Coordinator, run_cli
from torc.auth import default_token_file
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc

SPEC = '{"name": "x", "jobs": [{"name": "a", "command": "true"}]}'


def test_token_file_is_private_and_created_on_first_start(tmp_path: Path) -> None:
    token = tmp_path / "home" / ".torc" / "token"  # a directory that does not exist yet
    c = Coordinator(tmp_path / "coord", "--token-file", str(token))
    c.start()
    c.close()
    assert stat.S_IMODE(token.stat().st_mode) == 0o600
    assert stat.S_IMODE(token.parent.stat().st_mode) == 0o700
    assert len(token.read_text().strip()) >= 32


@pytest.mark.parametrize("content,mode,says", [("", 0o600, "is empty"),
                                                ("x" * 40, 0o644, "can be read by others")])
def test_unsafe_token_files_refuse_the_start(tmp_path: Path, content: str, mode: int,
                                             says: str) -> None:
    token = tmp_path / "token"
    token.write_text(content)
    token.chmod(mode)
    r = subprocess.run([sys.executable, "-m", "torc.server.main", "serve", "--port", "0",
                        "--data-dir", str(tmp_path / "coord"), "--token-file", str(token)],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2
    assert says in r.stderr and str(token) in r.stderr


def test_data_and_output_files_are_owner_only(coordinator: Coordinator, tmp_path: Path) -> None:
    wf_id = coordinator.client.create_workflow(
        {"name": "x", "jobs": [{"name": "a", "command": "echo hi"}]})
    r = run_cli("run", str(wf_id), "--output-dir", str(tmp_path / "out"), url=coordinator.url)
    assert r.returncode == 0, r.stderr
    coordinator.stop()  # writes a snapshot
    data = coordinator.data_dir
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    files = [*data.glob("wal-*.log"), *data.glob("snapshot-*.json"), *data.glob("part-*"),
             *(tmp_path / "out" / "job_stdio").iterdir()]
    assert len(files) >= 6
    for f in files:
        assert stat.S_IMODE(f.stat().st_mode) == 0o600, f


def test_unauthenticated_messages_are_never_read(coordinator: Coordinator) -> None:
    import threading

    import psutil
    proc = psutil.Process(coordinator.proc.pid)  # type: ignore[union-attr]
    before = proc.memory_info().rss
    channel = grpc.insecure_channel(coordinator.url,
                                    options=[("grpc.max_send_message_length", 1 << 30)])
    stub = pb_grpc.TorcStub(channel)
    request = pb.CreateWorkflowRequest(spec_json="x" * (150 << 20))
    codes: list[grpc.StatusCode] = []

    def call() -> None:
        try:
            stub.CreateWorkflow(request, timeout=120)
        except grpc.RpcError as e:
            codes.append(e.code())

    threads = [threading.Thread(target=call) for _ in range(4)]
    peak = before
    for t in threads:
        t.start()
    while any(t.is_alive() for t in threads):
        peak = max(peak, proc.memory_info().rss)
        threads[0].join(0.01)
    channel.close()
    assert codes == [grpc.StatusCode.UNAUTHENTICATED] * 4
    # 600 MiB were sent; the coordinator must not have buffered them (it used to hold 4.7 GB
    # after eight 450 MB calls).
    assert peak - before < 100 << 20, f"RSS grew by {(peak - before) >> 20} MiB"


@pytest.mark.parametrize("token", [None, "wrong-token"])
def test_calls_without_the_right_token_are_rejected_and_change_nothing(
        coordinator: Coordinator, token: str | None) -> None:
    stub = pb_grpc.TorcStub(grpc.insecure_channel(coordinator.url))
    md = (("authorization", f"Bearer {token}"),) if token else ()
    for call, request in (
        (stub.CreateWorkflow, pb.CreateWorkflowRequest(spec_json=SPEC)),
        (stub.ListWorkflows, pb.ListWorkflowsRequest()),
        (stub.RegisterWorker, pb.RegisterWorkerRequest(workflow_id=1)),
    ):
        with pytest.raises(grpc.RpcError) as e:
            call(request, metadata=md)
        assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with pytest.raises(grpc.RpcError) as e:
        next(stub.WatchEvents(pb.WatchEventsRequest(), metadata=md))
    assert e.value.code() == grpc.StatusCode.UNAUTHENTICATED
    assert coordinator.client.list_workflows() == []  # the client with the token sees nothing


def test_torc_token_overrides_the_file(coordinator: Coordinator, tmp_path: Path) -> None:
    env = {**os.environ, "TORC_TOKEN_FILE": str(tmp_path / "nowhere"),
           "TORC_TOKEN": default_token_file().read_text().strip()}
    r = subprocess.run([sys.executable, "-m", "torc.client.cli", "--url", coordinator.url,
                        "workflows", "list"], env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    env["TORC_TOKEN"] = "not-it"
    r = subprocess.run([sys.executable, "-m", "torc.client.cli", "--url", coordinator.url,
                        "workflows", "list"], env=env, capture_output=True, text=True)
    assert r.returncode == 1 and "token" in r.stderr


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return key, cert


def test_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    key, cert = _self_signed(tmp_path)
    c = Coordinator(tmp_path / "coord", "--tls-cert", str(cert), "--tls-key", str(key))
    monkeypatch.setenv("TORC_TLS_CA", str(cert))
    c.start()
    try:
        wf_id = c.client.create_workflow({"name": "tls", "jobs": [{"name": "a",
                                                                  "command": "true"}]})
        r = run_cli("-f", "json", "run", str(wf_id), "--output-dir", str(tmp_path / "out"),
                    url=c.url)
        assert r.returncode == 0, r.stderr
        monkeypatch.delenv("TORC_TLS_CA")
        r = run_cli("workflows", "list", url=c.url, timeout=60)
        assert r.returncode == 1 and "cannot reach the coordinator" in r.stderr
    finally:
        c.close()
