"""Fixtures that start real processes: a ``torc-coord`` on loopback and ``torc-worker``s."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from torc.client import TorcClient

ROOT = Path(__file__).resolve().parent.parent

# Tests use their own token file (inherited by every process they start), not ~/.torc/token.
_TMP = Path(os.environ.get("TMPDIR", "/tmp"))
os.environ.setdefault("TORC_TOKEN_FILE", str(_TMP / f"torc-test-token-{os.getpid()}"))
# Every coordinator the tests start verifies the store's invariants after every event.
os.environ["TORC_CHECK_INVARIANTS"] = "1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Coordinator:
    """A real ``torc-coord serve`` process on loopback. The first start asks for any free port
    (``--port 0``) and reads the address it printed, so no other process can take the port
    between a pick and a bind; a restart takes the same port again, as workers and clients
    reconnect to the address they know."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.port = 0
        self.extra = list(extra)
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"{data_dir.name}.log"
        self._client: TorcClient | None = None

    @property
    def url(self) -> str:
        assert self.port, "the coordinator has not started yet"
        return f"127.0.0.1:{self.port}"

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        seen = self.log.stat().st_size if self.log.exists() else 0
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "torc.server.main", "serve", "--port", str(self.port),
                 "--data-dir", str(self.data_dir), *self.extra],
                stdout=log, stderr=log)
        if not self.port:
            self.port = wait_for(lambda: self._printed_port(seen), timeout=60)
        client = TorcClient(self.url)
        client.wait_ready(timeout=30)
        client.close()

    def _printed_port(self, after: int) -> int:
        """The port in the ``torc-coord listening on`` line logged after ``after`` bytes."""
        assert self.proc is not None
        with open(self.log, "rb") as f:
            f.seek(after)
            for line in f.read().decode(errors="replace").splitlines():
                if line.startswith("torc-coord listening on "):
                    return int(line.rsplit(":", 1)[1])
        if self.proc.poll() is not None:
            raise AssertionError(f"torc-coord exited {self.proc.returncode}: "
                                 f"{self.log.read_text()[-2000:]}")
        return 0

    @property
    def client(self) -> TorcClient:
        if self._client is None:
            self._client = TorcClient(self.url, timeout=30)
        return self._client

    def kill9(self) -> None:
        assert self.proc is not None
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def restart(self, kill: bool = True) -> None:
        self.kill9() if kill else self.stop()
        self.start()

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None  # a closed channel crashes grpc if used again (after start)
        self.stop()


@pytest.fixture(autouse=True)
def _in_own_directory(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in its own directory: jobs run where ``torc run`` or a worker was
    started (as Torc's), so what they write lands there, not in the checkout."""
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def coordinator(tmp_path: Path) -> Iterator[Coordinator]:
    c = Coordinator(tmp_path / "coord", "--heartbeat-interval", "1")
    c.start()
    yield c
    c.close()


@pytest.fixture
def make_coordinator(tmp_path: Path) -> Iterator[Any]:
    made: list[Coordinator] = []

    def make(*extra: str, name: str = "coord2") -> Coordinator:
        c = Coordinator(tmp_path / name, *extra)
        c.start()
        made.append(c)
        return c

    yield make
    for c in made:
        c.close()


def write_spec(directory: Path, spec: dict[str, Any], name: str = "spec.yaml") -> Path:
    path = directory / name
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    return path


def start_worker(url: str, wf_id: int, output_dir: Path, *extra: str,
                 log_name: str | None = None, env: dict[str, str] | None = None,
                 cwd: Path | None = None) -> subprocess.Popen[bytes]:
    """A ``torc-worker``, started in ``cwd`` (default: ``output_dir``), where its jobs run."""
    output_dir.mkdir(parents=True, exist_ok=True)
    log = open(output_dir / (log_name or f"worker-{time.monotonic_ns()}.log"), "ab")  # noqa: SIM115
    env = {**os.environ, **(env or {})}
    return subprocess.Popen(
        [sys.executable, "-m", "torc.worker.main", "--url", url, "--workflow-id", str(wf_id),
         "--output-dir", str(output_dir), *extra], stdout=log, stderr=log, env=env,
        cwd=cwd or output_dir)


def run_cli(*args: str, url: str | None = None, check: bool = False,
            cwd: Path | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    argv = [sys.executable, "-m", "torc.client.cli"]
    if url:
        argv += ["--url", url]
    proc = subprocess.run([*argv, *args], capture_output=True, text=True, cwd=cwd,
                          timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"torc {' '.join(args)} failed ({proc.returncode}):\n"
                             f"{proc.stdout}\n{proc.stderr}")
    return proc


def cli_json(*args: str, url: str) -> Any:
    return json.loads(run_cli("-f", "json", *args, url=url, check=True).stdout)


def cli_rows(*args: str, url: str) -> list[Any]:
    """A listing's rows: Torc wraps each in one key (``{"results": [...]}``)."""
    out = cli_json(*args, url=url)
    assert isinstance(out, dict) and len(out) == 1, out
    (rows,) = out.values()
    assert isinstance(rows, list), out
    return rows


def wait_for(predicate: Any, timeout: float = 30.0, interval: float = 0.05) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


def wait_heartbeats(client: TorcClient, wf_id: int, worker_id: int, beats: int = 2) -> None:
    """Wait until the coordinator has had ``beats`` more heartbeats from a worker: it has gone
    round its loop since, so what it did not do by then (claim, start) it chose not to."""
    def last() -> float:
        return next(w.last_heartbeat for w in client.list_workers(wf_id) if w.id == worker_id)
    for _ in range(beats):
        before = last()
        wait_for(lambda b=before: last() > b, timeout=60)


def job_states(client: TorcClient, wf_id: int) -> dict[str, str]:
    from torc import states as S
    return {j.name: S.name(j.status) for j in client.list_jobs(wf_id)}


NODES = 3  # of the local Slurm cluster


@pytest.fixture(scope="session")
def cluster() -> Iterator[None]:
    """The real local Slurm cluster (scripts/slurm-cluster), for every test that needs it.
    Where it cannot run (a contributor's machine without Slurm or root), those tests skip
    saying so; CI (.ci/run, as root) installs it."""
    if shutil.which("slurmctld") is None or shutil.which("sbatch") is None:
        pytest.skip("Slurm is not installed here (as root: scripts/slurm-cluster install)")
    if os.geteuid() != 0:
        pytest.skip("the local Slurm cluster (scripts/slurm-cluster) runs its daemons as root")
    script = ROOT / "scripts" / "slurm-cluster"
    subprocess.run([str(script), "start", str(NODES)], check=True, timeout=600)
    yield
    subprocess.run(["scancel", "--user", "root"], check=False)
    subprocess.run([str(script), "stop"], check=False)


@pytest.fixture
def coord(cluster: None, tmp_path: Path) -> Iterator[Coordinator]:
    """A coordinator that polls Slurm often, beside the cluster."""
    c = Coordinator(tmp_path / "coord", "--heartbeat-interval", "1",
                    "--slurm-poll-interval", "0.5")
    c.start()
    yield c
    c.close()
    # Allocations outlive their coordinator until their workers give up: do not let them
    # hold the cluster's nodes into the next test.
    subprocess.run(["scancel", "--user", "root"], check=False)
