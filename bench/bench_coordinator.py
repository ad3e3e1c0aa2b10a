"""Coordinator benchmark: create/initialize/memory/restart at scale, synthetic claim+report.

    python bench/bench_coordinator.py [--jobs 100000] [--workers 1,16] [--batch 500]

Prints a table of figures, each beside the goal it is measured against. Not a test: machines
here are shared and noisy, so the numbers are for reading, not asserting.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from torc import auth
from torc.client import TorcClient
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Coord:
    def __init__(self, data_dir: Path, *extra: str) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"127.0.0.1:{self.port}"
        self.extra = extra
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> float:
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


def layered_spec(n: int, width: int = 1000) -> dict:
    """n jobs in layers of ``width``; each job depends on one job of the previous layer."""
    jobs = []
    for i in range(n):
        job = {"name": f"job_{i}", "command": f"echo {i}"}
        if i >= width:
            job["depends_on"] = [f"job_{i - width}"]
        jobs.append(job)
    return {"name": f"bench_{n}", "jobs": jobs}


def independent_spec(n: int) -> dict:
    return {"name": f"flat_{n}", "jobs": [{"name": f"j{i}", "command": "true"}
                                          for i in range(n)]}


async def synthetic_workers(url: str, wf_id: int, workers: int, batch: int) -> int:
    """Workers that claim batches and report them finished at once; returns jobs done."""
    channel = auth.aio_channel(url, [("grpc.max_receive_message_length", 256 << 20)])
    stub = pb_grpc.TorcStub(channel)
    md = auth.metadata(auth.client_token())
    done = 0

    async def one() -> None:
        nonlocal done
        w = (await stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id),
                                 metadata=md)).worker_id
        while True:
            resp = await stub.ClaimJob(pb.ClaimJobRequest(
                workflow_id=wf_id, worker_id=w, max_jobs=batch, wait_seconds=2,
                available=pb.Resources(num_cpus=batch, memory_bytes=1 << 50)), metadata=md)
            if resp.jobs:
                reports = []
                for j in resp.jobs:
                    reports.append(pb.JobReport(job_id=j.id, kind=pb.STARTED, run_id=j.run_id,
                                                attempt_id=j.attempt_id))
                    reports.append(pb.JobReport(job_id=j.id, kind=pb.FINISHED, run_id=j.run_id,
                                                attempt_id=j.attempt_id, start_time=1,
                                                end_time=2))
                r = await stub.ReportStatus(pb.ReportStatusRequest(
                    workflow_id=wf_id, worker_id=w, reports=reports), metadata=md)
                done += len(resp.jobs)
                if r.workflow_done:
                    return
            elif resp.workflow_done:
                return

    await asyncio.gather(*(one() for _ in range(workers)))
    await channel.close()
    return done


def row(rows: list, name: str, value: float, unit: str, goal: str) -> None:
    rows.append((name, f"{value:,.2f} {unit}", goal))
    print(f"  {name}: {value:,.2f} {unit}  (goal {goal})", file=sys.stderr, flush=True)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=100_000)
    p.add_argument("--throughput-jobs", type=int, default=50_000)
    p.add_argument("--workers", default="1,16")
    p.add_argument("--batch", type=int, default=500)
    p.add_argument("--json", action="store_true", help="print figures as JSON")
    a = p.parse_args()
    rows: list[tuple[str, str, str]] = []
    n = a.jobs
    with tempfile.TemporaryDirectory(prefix="torc-bench-") as tmp:
        coord = Coord(Path(tmp) / "coord")
        coord.start()
        try:
            base_rss = rss_bytes(coord.proc.pid)  # type: ignore[union-attr]
            spec = layered_spec(n)
            with TorcClient(coord.url, timeout=600) as c:
                t0 = time.perf_counter()
                wf_id = c.create_workflow(spec)
                t_create = time.perf_counter() - t0
                t0 = time.perf_counter()
                c.initialize(wf_id)
                t_init = time.perf_counter() - t0
                rss = rss_bytes(coord.proc.pid) - base_rss  # type: ignore[union-attr]
                t0 = time.perf_counter()
                counts = c.status(wf_id).job_counts
                t_status = time.perf_counter() - t0
                assert counts["ready"] == 1000
            row(rows, f"create {n:,} jobs (client validation + RPC)", t_create, "s", "")
            row(rows, f"initialize {n:,} jobs", t_init, "s", "")
            row(rows, "create + initialize", t_create + t_init, "s", "< 10 s")
            row(rows, "coordinator memory per job", rss / n, "bytes", "< 2,048 bytes")
            row(rows, "status query", t_status * 1000, "ms", "< 200 ms")
            coord.kill9()
            t_replay = coord.start()
            row(rows, "restart after SIGKILL (WAL replay)", t_replay, "s", "< 5 s")
            coord.stop()
            t_snap = coord.start()
            row(rows, "restart after clean stop (snapshot)", t_snap, "s", "< 5 s")

            m = a.throughput_jobs
            for workers in [int(x) for x in a.workers.split(",")]:
                with TorcClient(coord.url, timeout=600) as c:
                    wf_id = c.create_workflow(independent_spec(m))
                    c.initialize(wf_id)
                pid = coord.proc.pid  # type: ignore[union-attr]
                cpu0 = cpu_seconds(pid)
                t0 = time.perf_counter()
                done = asyncio.run(synthetic_workers(coord.url, wf_id, workers, a.batch))
                elapsed = time.perf_counter() - t0
                cpu = cpu_seconds(pid) - cpu0
                assert done == m, (done, m)
                row(rows, f"claim+report, {workers} synthetic worker(s), batch {a.batch}",
                    m / elapsed, "jobs/s", "> 10,000 jobs/s")
                row(rows, f"  coordinator CPU per job ({workers} worker(s))",
                    cpu / m * 1e6, "µs", "")
        finally:
            coord.stop()
    if a.json:
        print(json.dumps([dict(zip(("figure", "value", "goal"), r, strict=True)) for r in rows],
                         indent=2))
    else:
        from rich.console import Console
        from rich.table import Table
        t = Table(title="torc coordinator benchmark")
        for col in ("figure", "value", "goal"):
            t.add_column(col)
        for r in rows:
            t.add_row(*r)
        Console().print(t)


if __name__ == "__main__":
    main()
