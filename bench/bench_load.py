"""Load: many simulated workers heartbeating, claiming and reporting at once, for minutes.

    python bench/bench_load.py [--workers 200] [--minutes 3] [--interval 1]

Each simulated worker registers, keeps a heartbeat stream open (one beat per --interval) and
loops: claim up to 4 jobs, "run" them for --job-seconds, report them. The coordinator's claim
latency (p50/p99) and memory (RSS) are printed per period, with the last period's ratio to the
first: flat means ~1.0. Not a test: figures for reading.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Coord, independent_spec, pct, rss_bytes  # noqa: E402

from torc import auth  # noqa: E402
from torc.client import TorcClient  # noqa: E402
from torc.proto import torc_pb2 as pb  # noqa: E402
from torc.proto import torc_pb2_grpc as pb_grpc  # noqa: E402


async def simulated_worker(stub: pb_grpc.TorcStub, md: tuple, wf_id: int, interval: float,
                           job_seconds: float, slots: int, stop: asyncio.Event,
                           latencies: list[float], counters: dict[str, int]) -> None:
    w = (await stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id, hostname="sim"),
                                   metadata=md)).worker_id
    running: list[int] = []

    async def beats():  # type: ignore[no-untyped-def]
        while not stop.is_set():
            yield pb.HeartbeatRequest(worker_id=w, running_job_ids=running)
            await asyncio.sleep(interval)

    async def heartbeat() -> None:
        async for _ in stub.Heartbeat(beats(), metadata=md):
            counters["beats"] += 1
            if stop.is_set():
                return

    hb = asyncio.create_task(heartbeat())
    await asyncio.sleep(random.random() * interval)
    claim_id = 0
    while not stop.is_set():
        claim_id += 1
        t0 = time.perf_counter()
        resp = await stub.ClaimJob(pb.ClaimJobRequest(
            workflow_id=wf_id, worker_id=w, max_jobs=slots, claim_id=claim_id, wait_seconds=1,
            available=pb.Resources(num_cpus=slots, memory_bytes=1 << 34)), metadata=md)
        latencies.append(time.perf_counter() - t0)
        if not resp.jobs:
            if resp.workflow_done:
                break
            continue
        running[:] = [j.id for j in resp.jobs]
        await asyncio.sleep(job_seconds)
        start = time.time()
        await stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w, reports=[
            r for j in resp.jobs for r in (
                pb.JobReport(job_id=j.id, kind=pb.STARTED, run_id=j.run_id,
                             attempt_id=j.attempt_id, start_time=start),
                pb.JobReport(job_id=j.id, kind=pb.FINISHED, run_id=j.run_id,
                             attempt_id=j.attempt_id, start_time=start, end_time=time.time()))]),
            metadata=md)
        counters["jobs"] += len(resp.jobs)
        running.clear()
    hb.cancel()
    # As a real worker does when its work is over: it is not lost, it left.
    await stub.UnregisterWorker(pb.UnregisterWorkerRequest(worker_id=w), metadata=md)


async def run(url: str, pid: int, wf_id: int, a: argparse.Namespace) -> list[tuple]:
    channel = auth.aio_channel(url, [])
    stub = pb_grpc.TorcStub(channel)
    md = auth.metadata(auth.client_token())
    stop = asyncio.Event()
    latencies: list[float] = []
    counters = {"jobs": 0, "beats": 0}
    tasks = [asyncio.create_task(simulated_worker(stub, md, wf_id, a.interval, a.job_seconds,
                                                  a.slots, stop, latencies, counters))
             for _ in range(a.workers)]
    rows = []
    period = a.minutes * 60 / a.periods
    for k in range(a.periods):
        latencies.clear()
        jobs0, beats0 = counters["jobs"], counters["beats"]
        await asyncio.sleep(period)
        rows.append((k + 1, pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000,
                     (counters["jobs"] - jobs0) / period, (counters["beats"] - beats0) / period,
                     rss_bytes(pid) / 1e6, max(latencies, default=0.0) * 1000))
        print(f"  period {k + 1}: p50 {rows[-1][1]:.1f} ms, p99 {rows[-1][2]:.1f} ms, "
              f"max {rows[-1][6]:.0f} ms, {rows[-1][3]:.0f} jobs/s, {rows[-1][4]:.0f} beats/s, "
              f"RSS {rows[-1][5]:.0f} MB", file=sys.stderr, flush=True)
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await channel.close()
    return rows


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--workers", type=int, default=200)
    p.add_argument("--minutes", type=float, default=3.0)
    p.add_argument("--periods", type=int, default=6)
    p.add_argument("--interval", type=float, default=1.0, help="heartbeat interval (s)")
    p.add_argument("--job-seconds", type=float, default=0.5)
    p.add_argument("--slots", type=int, default=4, help="jobs each worker claims at once")
    p.add_argument("--jobs", type=int, default=2_000_000, help="jobs in the workflow")
    p.add_argument("--snapshot-every", type=int, default=50_000,
                   help="WAL records between snapshots (small, so that the run takes several)")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-load-") as tmp:
        coord = Coord(Path(tmp) / "coord", "--heartbeat-interval", str(a.interval),
                      "--snapshot-every", str(a.snapshot_every))
        coord.start()
        try:
            with TorcClient(coord.url, timeout=600) as c:
                wf_id = c.create_workflow(independent_spec(a.jobs))
                c.initialize(wf_id)
            rows = asyncio.run(run(coord.url, coord.proc.pid, wf_id, a))  # type: ignore[union-attr]
            with TorcClient(coord.url) as c:
                lost = sum(1 for w in c.list_workers(wf_id) if w.lost)
        finally:
            coord.stop()
    from rich.console import Console
    from rich.table import Table
    t = Table(title=f"{a.workers} simulated workers, heartbeat every {a.interval:g}s, "
                    f"{a.minutes:g} min")
    for col in ("period", "claim p50 ms", "claim p99 ms", "claim max ms", "jobs/s", "beats/s",
                "RSS MB"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r[0]), f"{r[1]:.1f}", f"{r[2]:.1f}", f"{r[6]:.0f}", f"{r[3]:.0f}",
                  f"{r[4]:.0f}", f"{r[5]:.0f}")
    first, last = rows[0], rows[-1]
    t.add_row("last/first", f"{last[1] / first[1]:.2f}", f"{last[2] / first[2]:.2f}", "",
              f"{last[3] / first[3]:.2f}", "", f"{last[5] / first[5]:.2f}")
    Console().print(t)
    print(f"workers declared lost: {lost}")


if __name__ == "__main__":
    main()
