"""Coordinator benchmark: create/initialize/memory/restart at scale, synthetic claim+report.

    python bench/bench_coordinator.py [--jobs 100000] [--workers 1,16] [--batch 500]

Prints figures for reading, not asserting: machines here are shared and noisy.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Coord, cpu_seconds, independent_spec, layered_spec, rss_bytes  # noqa: E402

from torc import auth  # noqa: E402
from torc.client import TorcClient  # noqa: E402
from torc.proto import torc_pb2 as pb  # noqa: E402
from torc.proto import torc_pb2_grpc as pb_grpc  # noqa: E402


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


def scale(n: int, tmp: Path) -> list[tuple[str, float, str]]:
    """Create, initialize, memory, status and restart figures for an n-job workflow."""
    rows = []
    coord = Coord(tmp / f"scale-{n}")
    coord.start()
    try:
        base_rss = rss_bytes(coord.pid)
        spec = layered_spec(n)
        with TorcClient(coord.url, timeout=600) as c:
            t0 = time.perf_counter()
            wf_id = c.create_workflow(spec)
            t_create = time.perf_counter() - t0
            t0 = time.perf_counter()
            c.initialize(wf_id)
            t_init = time.perf_counter() - t0
            rss = rss_bytes(coord.pid) - base_rss
            t0 = time.perf_counter()
            counts = c.status(wf_id).job_counts
            t_status = time.perf_counter() - t0
            assert counts["ready"] == min(n, 1000)
        del spec
        rows.append((f"create {n:,} jobs, {n - min(n, 1000):,} dependencies (one RPC; "
                     "validated on the coordinator)", t_create, "s"))
        rows.append((f"initialize {n:,} jobs", t_init, "s"))
        rows.append(("create + initialize", t_create + t_init, "s"))
        rows.append(("coordinator memory per job", rss / n, "bytes"))
        rows.append(("status query", t_status * 1000, "ms"))
        coord.kill9()
        rows.append(("restart after SIGKILL (snapshot + WAL replay)", coord.start(), "s"))
        coord.stop()
        rows.append(("restart after clean stop (snapshot)", coord.start(), "s"))
    finally:
        coord.stop()
    with Coord(tmp / f"scale-flat-{n}") as flat, TorcClient(flat.url, timeout=600) as c:
        spec = independent_spec(n)
        t0 = time.perf_counter()
        c.initialize(c.create_workflow(spec))
        rows.append(("create + initialize, independent jobs", time.perf_counter() - t0, "s"))
    return rows


def synthetic(m: int, workers: list[int], batch: int,
              tmp: Path) -> list[tuple[str, float, float]]:
    """(workers, jobs/s, coordinator CPU µs per job) for synthetic claim+report loops."""
    rows = []
    with Coord(tmp / f"synthetic-{m}") as coord:
        for count in workers:
            with TorcClient(coord.url, timeout=600) as c:
                wf_id = c.create_workflow(independent_spec(m))
                c.initialize(wf_id)
            cpu0 = cpu_seconds(coord.pid)
            t0 = time.perf_counter()
            done = asyncio.run(synthetic_workers(coord.url, wf_id, count, batch))
            elapsed = time.perf_counter() - t0
            cpu = cpu_seconds(coord.pid) - cpu0
            assert done == m, (done, m)
            rows.append((count, m / elapsed, cpu / m * 1e6))
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=100_000)
    p.add_argument("--throughput-jobs", type=int, default=50_000)
    p.add_argument("--workers", default="1,16")
    p.add_argument("--batch", type=int, default=500)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-bench-") as tmp_s:
        tmp = Path(tmp_s)
        for name, value, unit in scale(a.jobs, tmp):
            print(f"{name}: {value:,.2f} {unit}", flush=True)
        for count, rate, cpu in synthetic(a.throughput_jobs,
                                          [int(x) for x in a.workers.split(",")], a.batch, tmp):
            print(f"claim+report, {count} synthetic worker(s), batch {a.batch}: {rate:,.0f} "
                  f"jobs/s, coordinator CPU {cpu:,.1f} µs/job", flush=True)


if __name__ == "__main__":
    main()
