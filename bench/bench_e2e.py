"""End-to-end throughput: no-op jobs through a real coordinator and real workers, beside the
machine's raw spawn rate measured in the same run.

    python bench/bench_e2e.py [--jobs 10000] [--fsync-off]

Reference: 10,000 ``bash -c true`` spawned from a thread pool of 8 (what a perfect scheduler
could reach here). Figures are printed, never asserted.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_coordinator import Coord, independent_spec  # noqa: E402

from torc.client import TorcClient  # noqa: E402


def raw_spawn_rate(n: int, threads: int) -> float:
    def one(_: int) -> int:
        return subprocess.run(["bash", "-c", "true"], stdin=subprocess.DEVNULL).returncode

    t0 = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        codes = list(pool.map(one, range(n)))
    assert not any(codes)
    return n / (time.perf_counter() - t0)


def torc_rate(n: int, workers: int, cpus: int, tmp: Path, *coord_args: str) -> float:
    coord = Coord(tmp / f"coord-{workers}-{cpus}-{len(coord_args)}", *coord_args)
    coord.start()
    try:
        with TorcClient(coord.url, timeout=600) as c:
            wf_id = c.create_workflow(independent_spec(n))
            procs = [subprocess.Popen(
                [sys.executable, "-m", "torc.worker.main", "--url", coord.url,
                 "--workflow-id", str(wf_id), "--output-dir", str(tmp / f"out{k}"),
                 "--num-cpus", str(cpus), "--log-level", "WARNING"]) for k in range(workers)]
            time.sleep(1.0)  # workers register and wait for initialize
            t0 = time.perf_counter()
            c.initialize(wf_id)
            for p in procs:
                p.wait()
            elapsed = time.perf_counter() - t0
            counts = c.status(wf_id).job_counts
            assert counts["completed"] == n, dict(counts)
        return n / elapsed
    finally:
        coord.stop()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=10_000)
    p.add_argument("--fsync-off", action="store_true", help="also measure with --no-fsync")
    p.add_argument("--json", action="store_true")
    a = p.parse_args()
    figures = []
    with tempfile.TemporaryDirectory(prefix="torc-e2e-") as tmp_s:
        tmp = Path(tmp_s)
        raw = raw_spawn_rate(a.jobs, 8)
        figures.append(("raw spawn rate, bash -c true, 8 threads", raw, 1.0))
        for workers, cpus in ((1, 8), (4, 2)):
            rate = torc_rate(a.jobs, workers, cpus, tmp)
            figures.append((f"torc, {workers} worker(s) x {cpus} slots", rate, rate / raw))
        if a.fsync_off:
            rate = torc_rate(a.jobs, 1, 8, tmp, "--no-fsync")
            figures.append(("torc, 1 worker x 8 slots, WAL fsync off", rate, rate / raw))
    if a.json:
        print(json.dumps([{"figure": f, "jobs_per_s": r, "ratio": q} for f, r, q in figures]))
        return
    from rich.console import Console
    from rich.table import Table
    t = Table(title=f"end-to-end no-op throughput, {a.jobs:,} jobs")
    for col in ("figure", "jobs/s", "of raw"):
        t.add_column(col)
    for f, r, q in figures:
        t.add_row(f, f"{r:,.0f}", f"{q:.0%}")
    Console().print(t)


if __name__ == "__main__":
    main()
