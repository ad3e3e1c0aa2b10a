"""What every benchmark shares: a coordinator process, specs, worker processes, percentiles."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from torc.client import TorcClient


def compile_torc() -> None:
    """Write torc's bytecode (``__pycache__``), as installing the package does. An editable
    checkout run with PYTHONDONTWRITEBYTECODE=1 (this machine's environment) compiles every
    torc module again in every process it starts, 0.04 s each, which an installed torc
    never pays: ``torc run`` starts three."""
    import compileall

    import torc
    compileall.compile_dir(Path(torc.__file__).parent, quiet=1)


def free_port() -> int:
    """A TCP port free on loopback now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    """Resident memory of a process."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int, children: bool = False) -> float:
    """User + system CPU of a process (or of its reaped children)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    k = 13 if children else 11
    return (int(fields[k]) + int(fields[k + 1])) / os.sysconf("SC_CLK_TCK")


def pct(values: list[float], q: float) -> float:
    """The q-quantile (0..1) of values, nearest rank."""
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * len(s)))]


class Coord:
    """A real ``torc-coord serve`` process on a free loopback port."""

    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def start(self) -> float:
        """Start and wait until it serves; returns the seconds that took."""
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "torc.server.main", "serve", "--port", str(self.port),
             "--data-dir", str(self.data_dir), "--log-level", "WARNING", *self.extra],
            stdout=subprocess.DEVNULL)
        with TorcClient(self.url) as c:
            c.wait_ready(timeout=300)
        return time.perf_counter() - t0

    def kill9(self) -> None:
        assert self.proc
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait()

    def __enter__(self) -> Coord:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_workers(url: str, wf_id: int, count: int, cpus: int,
                  out: Path) -> list[subprocess.Popen[bytes]]:
    """Real ``torc-worker`` processes, each with ``cpus`` slots."""
    return [subprocess.Popen(
        [sys.executable, "-m", "torc.worker.main", "--url", url, "--workflow-id", str(wf_id),
         "--output-dir", str(out / f"w{k}"), "--num-cpus", str(cpus), "--log-level",
         "WARNING"]) for k in range(count)]


def layered_spec(n: int, width: int = 1000) -> dict[str, Any]:
    """n jobs in layers of ``width``; each job depends on one job of the previous layer."""
    jobs = []
    for i in range(n):
        job: dict[str, Any] = {"name": f"job_{i}", "command": f"echo {i}"}
        if i >= width:
            job["depends_on"] = [f"job_{i - width}"]
        jobs.append(job)
    return {"name": f"bench_{n}", "jobs": jobs}


def independent_spec(n: int) -> dict[str, Any]:
    """n independent no-op jobs."""
    return {"name": f"flat_{n}", "jobs": [{"name": f"j{i}", "command": "true"}
                                          for i in range(n)]}


def fan_spec(width: int) -> dict[str, Any]:
    """1 -> width -> 1: one job, ``width`` jobs depending on it, one job depending on them."""
    work = [{"name": f"work_{i}", "command": "true", "depends_on": ["start"]}
            for i in range(width)]
    return {"name": f"fan_{width}", "jobs": [
        {"name": "start", "command": "true"}, *work,
        {"name": "end", "command": "true", "depends_on_regexes": ["^work_\\d+$"]}]}


def chain_spec(n: int) -> dict[str, Any]:
    """n jobs, each depending on the one before."""
    jobs: list[dict[str, Any]] = [{"name": "c0", "command": "true"}]
    jobs += [{"name": f"c{i}", "command": "true", "depends_on": [f"c{i - 1}"]}
             for i in range(1, n)]
    return {"name": f"chain_{n}", "jobs": jobs}
