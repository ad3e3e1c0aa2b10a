"""``torc remote`` against real ``sshd``s on loopback (Debian's openssh-server, started and
stopped here with their own host and user keys): two "hosts" are two ports of this machine.
Workers started over SSH run the workflow, are seen and stopped host by host, their loss is
noticed by heartbeats, their logs come back; the token never appears on a command line."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Coordinator, cli_json, cli_rows, job_states, run_cli, wait_for
from torc import auth

SSHD = "/usr/sbin/sshd"
WORKER = f"{sys.executable} -m torc.worker.main"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


@pytest.fixture(scope="module")
def sshd(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Path, list[int]]]:
    """Two sshd on loopback ports; the ssh_config that reaches them (key, known hosts)."""
    if not Path(SSHD).exists() or shutil.which("ssh") is None:
        pytest.skip("openssh-server is not installed (CI installs it: .ci/run)")
    if os.geteuid() != 0:
        pytest.skip("the test sshd logs in as root")
    d = tmp_path_factory.mktemp("ssh")
    for key in ("host_ed25519", "id_ed25519"):
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(d / key)],
                       check=True)
    (d / "authorized_keys").write_text((d / "id_ed25519.pub").read_text())
    Path("/run/sshd").mkdir(exist_ok=True)  # sshd's privilege separation directory
    ports, procs = [_free_port(), _free_port()], []
    for port in ports:
        cfg = d / f"sshd_{port}.conf"
        cfg.write_text(f"Port {port}\nListenAddress 127.0.0.1\nHostKey {d}/host_ed25519\n"
                       f"AuthorizedKeysFile {d}/authorized_keys\nPidFile {d}/sshd_{port}.pid\n"
                       "PasswordAuthentication no\nKbdInteractiveAuthentication no\n"
                       "PermitRootLogin prohibit-password\nStrictModes no\nUsePAM no\n"
                       "LogLevel ERROR\n")
        procs.append(subprocess.Popen([SSHD, "-D", "-e", "-f", str(cfg)],
                                      stderr=open(d / f"sshd_{port}.log", "wb")))
    for port in ports:
        wait_for(lambda port=port: _listening(port), timeout=30)
    (d / "ssh_config").write_text(
        f"Host *\n  User root\n  IdentityFile {d}/id_ed25519\n  IdentitiesOnly yes\n"
        f"  UserKnownHostsFile {d}/known_hosts\n  LogLevel ERROR\n")
    yield d / "ssh_config", ports
    for p in procs:
        p.terminate()
        p.wait(timeout=30)


@pytest.fixture
def coord(tmp_path: Path, sshd: tuple[Path, list[int]]) -> Iterator[Coordinator]:
    c = Coordinator(tmp_path / "coord", "--heartbeat-interval", "0.5")
    c.start()
    yield c
    c.close()


def _remote(c: Coordinator, config: Path, *args: str, check: bool = True
            ) -> subprocess.CompletedProcess[str]:
    r = run_cli("remote", *args, "--ssh-config", str(config), url=c.url, timeout=300)
    if check:
        assert r.returncode == 0, r.stdout + r.stderr
    return r


def test_worker_files_and_the_recorded_hosts(coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({"name": "w", "jobs": [
        {"name": "a", "command": "true"}]})
    workers = tmp_path / "workers.txt"
    workers.write_text("# lab machines\nnode1\nalice@node2:2222  # the GPU box\n\n"
                       "[2001:db8::1]:22\n10.0.0.5\n")
    listed = cli_json("remote", "add-workers-from-file", str(workers), str(wf_id), url=url)
    assert [w["host"] for w in listed["workers"]] == [
        "node1", "alice@node2:2222", "[2001:db8::1]:22", "10.0.0.5"]
    # A host twice: an error naming both lines, nothing recorded.
    workers.write_text("node3\nnode3\n")
    r = run_cli("remote", "add-workers-from-file", str(workers), str(wf_id), url=url)
    assert r.returncode == 1 and "workers.txt:2: node3 is listed twice (first on line 1)" \
        in r.stderr, r.stderr
    r = run_cli("remote", "add-workers", str(wf_id), "node1", url=url)
    assert r.returncode == 1 and "already has remote worker node1" in r.stderr
    r = run_cli("remote", "add-workers", str(wf_id), "bad host", url=url)
    assert r.returncode == 1 and "'bad host'" in r.stderr
    cli_json("remote", "remove-worker", "10.0.0.5", str(wf_id), url=url)
    assert [w["host"] for w in cli_rows("remote", "list-workers", str(wf_id), url=url)] == [
        "node1", "alice@node2:2222", "[2001:db8::1]:22"]
    r = run_cli("remote", "remove-worker", "node9", str(wf_id), url=url)
    assert r.returncode == 1 and "no remote worker node9" in r.stderr
    # What run compares on every host, on stdout as argparse's --version prints it.
    from torc.version import torc_version
    assert run_cli("--version").stdout == f"torc {torc_version()}\n"
    worker = subprocess.run([*WORKER.split(), "--version"], capture_output=True, text=True)
    assert worker.stdout == f"torc-worker {torc_version()}\n"
    # Recorded with the workflow: a restart keeps them.
    coordinator.restart()
    assert len(cli_rows("remote", "list-workers", str(wf_id), url=url)) == 3


def test_workers_started_over_ssh_run_the_workflow_and_their_logs_come_back(
        coord: Coordinator, sshd: tuple[Path, list[int]], tmp_path: Path) -> None:
    config, (p1, p2) = sshd
    workers = tmp_path / "workers.txt"
    workers.write_text(f"root@127.0.0.1:{p1}\n127.0.0.1:{p2}\n")
    out = tmp_path / "remote_out"
    wf_id = coord.client.create_workflow({"name": "remote", "jobs": [
        {"name": f"j{i}", "command": "sleep 0.3; echo $TORC_JOB_NAME"} for i in range(8)]})
    r = _remote(coord, config, "run", str(wf_id), "--workers", str(workers), "--output-dir",
                str(out), "--worker-command", WORKER, "--max-parallel-jobs", "1")
    assert f"127.0.0.1:{p1}" in r.stdout and f"127.0.0.1:{p2}" in r.stdout
    wait_for(lambda: coord.client.get_workflow(wf_id).complete, timeout=120)
    assert set(job_states(coord.client, wf_id).values()) == {"completed"}
    registered = [w for w in coord.client.list_workers(wf_id) if w.role == "worker"]
    assert len(registered) == 2
    # Both workers leave once the workflow is complete.
    status = lambda: cli_rows("remote", "status", str(wf_id), "--output-dir", str(out),  # noqa: E731
                              "--ssh-config", str(config), url=coord.url)
    wait_for(lambda: all(h["running"] == 0 and h["stopped"] == 1 for h in status()))
    local = tmp_path / "collected"
    rows = cli_rows("remote", "collect-logs", str(wf_id), "-l", str(local),
                    "--remote-output-dir", str(out), "--delete", "--ssh-config", str(config),
                    url=coord.url)
    assert [r["error"] for r in rows] == [None, None]
    for tag in (f"root_127.0.0.1_{p1}", f"127.0.0.1_{p2}"):
        assert list((local / tag).glob(f"job_runner_remote_wf{wf_id}_*_1.log")), tag
    assert (local / f"root_127.0.0.1_{p1}" / "job_stdio").is_dir()
    assert not out.exists()  # --delete


def test_stopped_and_killed_workers(coord: Coordinator, sshd: tuple[Path, list[int]],
                                    tmp_path: Path) -> None:
    config, (p1, _) = sshd
    out = tmp_path / "remote_out"
    wf_id = coord.client.create_workflow({"name": "long", "jobs": [
        {"name": "long", "command": "sleep 3011"}]})
    run_cli("remote", "add-workers", str(wf_id), f"127.0.0.1:{p1}", url=coord.url, check=True)
    _remote(coord, config, "run", str(wf_id), "--output-dir", str(out), "--worker-command",
            WORKER, "--workers-per-host", "2")
    try:
        wait_for(lambda: job_states(coord.client, wf_id)["long"] == "running", timeout=60)
        (host,) = cli_rows("remote", "status", str(wf_id), "--output-dir", str(out),
                           "--ssh-config", str(config), url=coord.url)
        assert host["running"] == 2
        # The token went through ssh's stdin: no process shows it on its command line.
        token = auth.client_token()
        assert token
        for proc in Path("/proc").iterdir():
            try:
                assert token.encode() not in (proc / "cmdline").read_bytes(), proc
            except OSError:
                continue
        # SIGKILL: the workers cannot say goodbye; missed heartbeats tell the coordinator.
        _remote(coord, config, "stop", str(wf_id), "--force", "--output-dir", str(out))
        wait_for(lambda: all(w.lost for w in coord.client.list_workers(wf_id)
                             if w.role == "worker"), timeout=60)
        assert job_states(coord.client, wf_id)["long"] == "failed"
        (host,) = cli_rows("remote", "status", str(wf_id), "--output-dir", str(out),
                           "--ssh-config", str(config), url=coord.url)
        assert host["running"] == 0 and host["stopped"] == 2
    finally:
        subprocess.run(["pkill", "-KILL", "-f", "sleep 3011"], check=False)


def test_a_host_with_another_version_is_refused(coord: Coordinator,
                                                sshd: tuple[Path, list[int]],
                                                tmp_path: Path) -> None:
    config, (p1, _) = sshd
    fake = tmp_path / "old-worker"
    fake.write_text("#!/bin/sh\necho torc-worker 0.0.1\n")
    fake.chmod(0o755)
    wf_id = coord.client.create_workflow({"name": "v", "jobs": [{"name": "a",
                                                                 "command": "true"}]})
    run_cli("remote", "add-workers", str(wf_id), f"127.0.0.1:{p1}", url=coord.url, check=True)
    r = _remote(coord, config, "run", str(wf_id), "--worker-command", str(fake), check=False)
    assert r.returncode == 1 and "version mismatch: local=" in r.stderr and "0.0.1" in r.stderr
    assert not coord.client.get_workflow(wf_id).initialized  # nothing started
    # A host ssh cannot reach says so, host by host.
    dead = _free_port()
    run_cli("remote", "add-workers", str(wf_id), f"127.0.0.1:{dead}", url=coord.url,
            check=True)
    rows = json.loads(run_cli("-f", "json", "remote", "status", str(wf_id), "--ssh-config",
                              str(config), url=coord.url).stdout)["workers"]
    assert [bool(x["error"]) for x in rows] == [False, True], rows


def test_a_huge_host_list_is_refused_at_once(coordinator: Coordinator) -> None:
    """The coordinator never hangs on a client's input: hosts past the bound are refused
    before any is parsed (a list of 200,000 took minutes when each was checked against all
    before it), and the workflow keeps what it had."""
    from torc.client.stub import ClientError
    wf_id = coordinator.client.create_workflow({"name": "h", "jobs": [
        {"name": "a", "command": "true"}]})
    with pytest.raises(ClientError, match="at most 10000 remote workers"):
        coordinator.client.update_remote_workers(
            wf_id, add=[f"node{i}" for i in range(200_000)])
    assert coordinator.client.list_remote_workers(wf_id) == []
    # Within the bound, many hosts are added in one call.
    added = coordinator.client.update_remote_workers(wf_id,
                                                     add=[f"n{i}" for i in range(10_000)])
    assert len(added) == 10_000
