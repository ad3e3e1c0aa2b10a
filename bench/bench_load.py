"""Load: many simulated workers heartbeating, claiming and reporting at once, for minutes.

    python bench/bench_load.py [--workers 200] [--minutes 3] [--interval 1] [--procs 1]

Each simulated worker registers, keeps a heartbeat stream open (one beat per --interval) and
loops as torc-worker does: claim up to --slots jobs, "run" them for --job-seconds, report them
with the claim for the next ones in the same call. The latency of every call that brings jobs
(p50/p99), jobs/s and the coordinator's memory (RSS) are printed per period (a minute by
default), with the last period's ratio to the first: flat means ~1.0. The run ends after
--minutes or when the workflow is done, whichever is first. Not a test: figures for reading.

The simulated workers run in one process, or spread over --procs processes as real ones run
on their own nodes. On 2 cores, four processes gave the same claim p99 as one: the figure is
the coordinator's, not the simulator's own queue.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing as mp
import random
import sys
import tempfile
import time
from multiprocessing.connection import wait as mp_wait
from pathlib import Path
from typing import Any

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

    def claim() -> pb.ClaimJobRequest:
        nonlocal claim_id
        claim_id += 1
        return pb.ClaimJobRequest(
            workflow_id=wf_id, worker_id=w, max_jobs=slots, claim_id=claim_id, wait_seconds=1,
            available=pb.Resources(num_cpus=slots, memory_bytes=1 << 34))

    def timed(t0: float, resp: pb.ClaimJobResponse | pb.ReportStatusResponse) -> None:
        # Only calls that brought jobs: one that found none waited (up to wait_seconds) for
        # work that was not there, which is not latency (near the end of the workflow).
        if resp.jobs:
            latencies.append(time.perf_counter() - t0)

    request = claim()
    t0 = time.perf_counter()
    resp = await stub.ClaimJob(request, metadata=md)
    timed(t0, resp)
    jobs = list(resp.jobs)
    while not stop.is_set():
        if not jobs:
            if resp.workflow_done:
                break
            request = claim()
            t0 = time.perf_counter()
            resp = await stub.ClaimJob(request, metadata=md)
            timed(t0, resp)
            jobs = list(resp.jobs)
            continue
        running[:] = [j.id for j in jobs]
        # Jobs of one length for all would keep workers in lockstep (every answer of one
        # group commit comes back at once): real durations vary.
        await asyncio.sleep(job_seconds * random.uniform(0.5, 1.5))
        start = time.time()
        # As torc-worker does: the report carries the claim for the freed slots. The request
        # is built before the clock starts: latency is the call's, not the simulator's.
        request = pb.ReportStatusRequest(
            workflow_id=wf_id, worker_id=w, claim=claim(), reports=[
                r for j in jobs for r in (
                    pb.JobReport(job_id=j.id, kind=pb.STARTED, run_id=j.run_id,
                                 attempt_id=j.attempt_id, start_time=start),
                    pb.JobReport(job_id=j.id, kind=pb.FINISHED, run_id=j.run_id,
                                 attempt_id=j.attempt_id, start_time=start,
                                 end_time=time.time()))])
        t0 = time.perf_counter()
        resp = await stub.ReportStatus(request, metadata=md)
        timed(t0, resp)
        counters["jobs"] += len(jobs)
        jobs = list(resp.jobs)
        running.clear()
    hb.cancel()
    # As a real worker does when its work is over: it is not lost, it left.
    await stub.UnregisterWorker(pb.UnregisterWorkerRequest(worker_id=w), metadata=md)


async def drive(url: str, wf_id: int, a: argparse.Namespace, workers: int,
                period: float) -> list[tuple[list[float], int, int, float, float]]:
    """Run ``workers`` simulated workers until --minutes pass or the workflow is done; per
    period: (latencies, jobs, beats, start, end), times from ``time.time()``."""
    channel = auth.aio_channel(url, [])
    stub = pb_grpc.TorcStub(channel)
    md = auth.metadata(auth.client_token())
    stop = asyncio.Event()
    latencies: list[float] = []
    counters = {"jobs": 0, "beats": 0}
    tasks = [asyncio.create_task(simulated_worker(stub, md, wf_id, a.interval, a.job_seconds,
                                                  a.slots, stop, latencies, counters))
             for _ in range(workers)]
    periods = []
    start = time.time()
    for k in range(a.periods):
        latencies.clear()
        jobs0, beats0, t0 = counters["jobs"], counters["beats"], time.time()
        # Periods end at the same wall-clock times in every driver process. One ends early
        # when the workflow is done (every worker has left).
        left = start + (k + 1) * period - t0
        if left > 0:
            await asyncio.wait(tasks, timeout=left)
        periods.append((list(latencies), counters["jobs"] - jobs0, counters["beats"] - beats0,
                        t0, time.time()))
        if all(t.done() for t in tasks):
            break
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    await channel.close()
    return periods


def _driver(url: str, wf_id: int, a: argparse.Namespace, workers: int, period: float,
            ready: Any, out: Any) -> None:
    """A driver process: its share of the workers, its periods sent back through ``out``."""
    ready.wait()
    out.send(asyncio.run(drive(url, wf_id, a, workers, period)))
    out.close()


def run(url: str, pid: int, wf_id: int, a: argparse.Namespace,
        data_dir: Path) -> list[tuple]:
    """Drive the load from --procs processes; one row per period, merged across them.

    Real workers run on their own nodes; one simulator process for all 1,000 also measures
    its own event loop (when a group commit answers fifty calls at once, the fiftieth waits
    in the simulator for the other forty-nine). --procs tells how much that adds.
    """
    ctx = mp.get_context("spawn")  # grpc does not survive a fork
    period = a.minutes * 60 / a.periods
    ready = ctx.Barrier(a.procs + 1)
    drivers = []
    for k in range(a.procs):
        receive, send = ctx.Pipe(duplex=False)
        share = a.workers // a.procs + (k < a.workers % a.procs)
        proc = ctx.Process(target=_driver, args=(url, wf_id, a, share, period, ready, send),
                           daemon=True)
        proc.start()
        send.close()
        drivers.append((proc, receive))
    ready.wait()
    start = time.time()
    results: dict[int, list] = {}
    samples = []  # per period: coordinator RSS at its end, snapshots landed in it
    snapshots: set[str] = set()
    for k in range(a.periods):
        while len(results) < a.procs and time.time() < start + (k + 1) * period:
            for conn in mp_wait([r for _, r in drivers if id(r) not in results],
                                timeout=max(0.0, start + (k + 1) * period - time.time())):
                results[id(conn)] = conn.recv()
        landed = {p.name for p in data_dir.glob("snapshot-*.json")} - snapshots
        snapshots |= landed
        samples.append((rss_bytes(pid), len(landed)))
        # Progress while it runs; the latencies come from the drivers when they end.
        print(f"  {time.strftime('%H:%M:%S')} period {k + 1} over: coordinator RSS "
              f"{samples[-1][0] / 1e6:.0f} MB, snapshots landed {len(landed)}",
              file=sys.stderr, flush=True)
        if len(results) == a.procs:
            break
    for proc, conn in drivers:
        if id(conn) not in results:
            results[id(conn)] = conn.recv()
        proc.join()
    rows = []
    for k, (rss, landed) in enumerate(samples):
        parts = [r[k] for r in results.values() if k < len(r)]
        if not parts:
            break
        took = max(p[4] for p in parts) - min(p[3] for p in parts)
        if took < period / 10 and k:
            break  # the workflow was done at the start of this period: nothing to measure
        latencies = [x for p in parts for x in p[0]]
        rows.append((k + 1, pct(latencies, 0.5) * 1000, pct(latencies, 0.99) * 1000,
                     sum(p[1] for p in parts) / took, sum(p[2] for p in parts) / took,
                     rss / 1e6, max(latencies, default=0.0) * 1000, landed))
        print(f"  period {k + 1}: p50 {rows[-1][1]:.1f} ms, p99 {rows[-1][2]:.1f} ms, "
              f"max {rows[-1][6]:.0f} ms, {rows[-1][3]:.0f} jobs/s, {rows[-1][4]:.0f} beats/s, "
              f"RSS {rows[-1][5]:.0f} MB, snapshots landed {rows[-1][7]}", file=sys.stderr,
              flush=True)
    return rows


def load(a: argparse.Namespace) -> tuple[list[tuple], int]:
    """Run the load on a fresh coordinator: (rows per period, workers declared lost)."""
    with tempfile.TemporaryDirectory(prefix="torc-load-") as tmp:
        extra = (("--snapshot-every", str(a.snapshot_every)) if a.snapshot_every else ()) + (
            ("--snapshot-cpu", str(a.snapshot_cpu)) if a.snapshot_cpu else ())
        coord = Coord(Path(tmp) / "coord", "--heartbeat-interval", str(a.interval), *extra)
        coord.start()
        try:
            with TorcClient(coord.url, timeout=600) as c:
                wf_id = c.create_workflow(independent_spec(a.jobs))
                c.initialize(wf_id)
            rows = run(coord.url, coord.pid, wf_id, a, Path(tmp) / "coord")
            with TorcClient(coord.url) as c:
                lost = sum(1 for w in c.list_workers(wf_id) if w.lost)
        finally:
            coord.stop()
    return rows, lost


def options(**overrides: object) -> argparse.Namespace:
    """The default options (as ``main`` parses them), with ``overrides``."""
    a = parser().parse_args([])
    for k, v in overrides.items():
        setattr(a, k, v)
    a.periods = a.periods or max(1, round(a.minutes))
    return a


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser()
    p.add_argument("--workers", type=int, default=1000)
    p.add_argument("--minutes", type=float, default=10.0)
    p.add_argument("--periods", type=int, default=0, help="default: one a minute")
    p.add_argument("--interval", type=float, default=5.0, help="heartbeat interval (s)")
    p.add_argument("--job-seconds", type=float, default=1.4,
                   help="mean job length (each is 0.5x to 1.5x of it)")
    p.add_argument("--slots", type=int, default=16, help="jobs each worker claims at once")
    p.add_argument("--procs", type=int, default=1,
                   help="processes the simulated workers are spread over")
    p.add_argument("--jobs", type=int, default=2_000_000, help="jobs in the workflow")
    p.add_argument("--snapshot-every", type=int, default=0,
                   help="WAL records between snapshots (default: the coordinator's)")
    p.add_argument("--snapshot-cpu", type=float, default=0.0,
                   help="share of a CPU the snapshot child may use (default: the "
                        "coordinator's)")
    return p


def main() -> None:
    a = parser().parse_args()
    a.periods = a.periods or max(1, round(a.minutes))
    rows, lost = load(a)
    from rich.console import Console
    from rich.table import Table
    t = Table(title=f"{a.workers} simulated workers, heartbeat every {a.interval:g}s, "
                    f"{a.minutes:g} min")
    for col in ("period", "claim p50 ms", "claim p99 ms", "claim max ms", "jobs/s", "beats/s",
                "RSS MB", "snapshots"):
        t.add_column(col)
    for r in rows:
        t.add_row(str(r[0]), f"{r[1]:.1f}", f"{r[2]:.1f}", f"{r[6]:.0f}", f"{r[3]:.0f}",
                  f"{r[4]:.0f}", f"{r[5]:.0f}", str(r[7]))
    first, last = rows[0], rows[-1]
    t.add_row("last/first", f"{last[1] / first[1]:.2f}", f"{last[2] / first[2]:.2f}", "",
              f"{last[3] / first[3]:.2f}", "", f"{last[5] / first[5]:.2f}")
    Console().print(t)
    print(f"workers declared lost: {lost}")


if __name__ == "__main__":
    main()
