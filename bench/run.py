"""The performance benchmark: every figure of the performance issue in one table.

    python bench/run.py [--quick] [--json]

Each figure is printed beside its reference measured in the same run (the machine's raw
``bash -c true`` spawn rate; WAL fsync on vs off) as a ratio, and beside its target. Not a test:
machines here are shared and noisy, so the figures are for reading, never asserted. A full run
takes about ten minutes on 2 cores; ``--quick`` shrinks every size about tenfold.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench_barrier  # noqa: E402
import bench_builder  # noqa: E402
import bench_coordinator  # noqa: E402
import bench_dash  # noqa: E402
import bench_e2e  # noqa: E402
import bench_executor  # noqa: E402
import bench_hq  # noqa: E402
import bench_load  # noqa: E402
import bench_monitor  # noqa: E402
import bench_tui  # noqa: E402
from common import compile_torc  # noqa: E402


@dataclass
class Figure:
    """One measured figure, its same-run reference (if any) and its target."""

    name: str
    value: float
    unit: str
    reference: str = ""
    reference_value: float = 0.0
    target: str = ""
    met: bool | None = None

    @property
    def ratio(self) -> float | None:
        return self.value / self.reference_value if self.reference_value else None


def _e2e(jobs: int, fan: int, chain: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    rows = bench_e2e.figures(jobs, fan, chain, True, tmp)
    for name, value, ref_name, ref, unit in rows:
        f = Figure(name, value, unit, ref_name, ref)
        if name.startswith("no-op") and "1 worker(s) x 8" in name:
            f.target, f.met = ">= 85% of raw", value / ref >= 0.85
        elif name.startswith("no-op") and "fsync off" not in name:
            f.target, f.met = ">= 50% of raw", value / ref >= 0.5
        elif name.startswith("whole `torc run`"):
            f.target, f.met = ">= 80% of raw", value / ref >= 0.8
        elif name.startswith("chain of"):
            f.target, f.met = ">= 50% of raw sequential spawn", value / ref >= 0.5
        elif "chain unblock delay p99" in name:
            f.target, f.met = "< 20 ms", value < 20
        say(f)


def _hyperqueue(jobs: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    rows = bench_hq.figures(jobs, tmp / "hq")
    if rows is None:
        say(Figure("HyperQueue comparison skipped (pip install hyperqueue)", 0, ""))
        return
    for name, torc, hq in rows:
        say(Figure(f"{name}: torc", torc, "jobs/s", "HyperQueue 0.27 LocalCluster, same jobs",
                   hq, ">= 2x HyperQueue", torc / hq >= 2))


def _load(minutes: float, workers: int, jobs: int, say: Callable[[Figure], None]) -> None:
    # Snapshots inside the run, as a long one has them (the coordinator's default, 200,000
    # records, is ~5 minutes of this load): the first writes the workflow's job specs too.
    every = max(1000, jobs // 50)
    rows, lost = bench_load.load(bench_load.options(minutes=minutes, workers=workers,
                                                    jobs=jobs, snapshot_every=every))
    full = rows[:-1] if len(rows) > 1 else rows  # the last minute may end with the workflow
    rate = min(r[3] for r in full)
    worst = max(r[2] for r in rows)
    head = f"{workers:,} simulated workers x 16 slots, {jobs:,}-job workflow"
    say(Figure(f"{head}: jobs/s, slowest minute", rate, "jobs/s",
               target=">= 10,000 jobs/s (1,000 workers)",
               met=rate >= 10_000 if workers >= 1000 else None))
    say(Figure("  claim p99, worst minute", worst, "ms", target="<= 50 ms in every minute",
               met=worst <= 50))
    say(Figure(f"  snapshots landed during the load (one every {every:,} records)",
               sum(r[7] for r in rows), ""))
    growth = rows[-1][5] / rows[0][5]
    say(Figure("  coordinator RSS, last minute / first", growth * 100, "%",
               target="flat (<= 105%)", met=growth <= 1.05))
    say(Figure("  workers declared lost", lost, "", target="0", met=lost == 0))


def _coordinator(m: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    for count, rate, cpu in bench_coordinator.synthetic(m, [1, 16], 500, tmp):
        say(Figure(f"coordinator alone, {count} synthetic worker(s), batches of 500", rate,
                   "jobs/s", target="> 20,000 jobs/s", met=rate > 20_000))
        say(Figure("  coordinator CPU per job", cpu, "µs"))


def _monitor(long: int, short: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    for name, on, off in bench_monitor.figures(long, short, 8, tmp):
        say(Figure(name, on, "jobs/s", "same worker, monitoring off", off,
                   ">= 90% of unmonitored", on / off >= 0.9))


def _spec_file(n: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    import time

    import yaml
    from common import layered_spec

    from torc.spec.load import load_file
    from torc.spec.validate import normalize
    path = tmp / "spec.yaml"
    path.write_text(yaml.safe_dump(layered_spec(n), sort_keys=False))
    t0 = time.perf_counter()
    raw = load_file(path)
    t1 = time.perf_counter()
    normalize(raw, str(path))
    t2 = time.perf_counter()
    say(Figure(f"parse {n:,}-job YAML spec (libyaml, with lines)", t1 - t0, "s"))
    say(Figure("  + validate it", t2 - t1, "s"))
    say(Figure("  parse + validate", t2 - t0, "s", target="<= 0.3 s", met=t2 - t0 <= 0.3))


def _barrier(width: int, say: Callable[[Figure], None]) -> None:
    total = 0.0
    for name, secs in bench_barrier.figures(width):
        total += secs
        say(Figure(f"barrier: {name}", secs, "s"))
    say(Figure(f"barrier {width:,} x {width:,}: create + initialize + unblock", total, "s",
               target="<= 3 s", met=total <= 3))


def _dash(n: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    for name, secs in bench_dash.figures(n, tmp / "dash"):
        say(Figure(f"dashboard, {n:,} jobs: {name}", secs * 1000, "ms", target="< 1 s",
                   met=secs < 1.0))


def _tui(n: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    for name, secs in bench_tui.figures(n, tmp / "tui"):
        target = "" if name.startswith("open") else "< 200 ms"
        say(Figure(f"torc tui, {n:,} jobs: {name}", secs * 1000, "ms", target=target,
                   met=secs < 0.2 if target else None))


def _builder(n: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    for name, value in bench_builder.figures(n, tmp / "builder"):
        if "/" in name:
            say(Figure(name, value, "x", target="<= 2x", met=value <= 2))
        else:
            say(Figure(name, value, "s"))


def _executor(n: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    for name, value in bench_executor.figures(n, tmp / "executor", n * 33):
        if "Dask" in name and "/" in name:
            say(Figure(name, value, "x", target="> 1x", met=value > 1))
        elif "/" in name:
            say(Figure(name, value, "x", target=">= 0.5x", met=value >= 0.5))
        else:
            say(Figure(name, value, "calls/s"))


def _scale(n: int, tmp: Path, say: Callable[[Figure], None]) -> None:
    scale = n / 1_000_000  # targets are for a million jobs: judged only at that size
    targets = {"create + initialize": (15.0, "<= 15 s at 1M"),
               "create + initialize, independent jobs": (15.0, "<= 15 s at 1M"),
               "coordinator memory per job": (1000.0, "<= 1,000 bytes"),
               "status query": (200.0, "< 200 ms"),
               "restart after SIGKILL (snapshot + WAL replay)": (5.0, "<= 5 s at 1M"),
               "restart after clean stop (snapshot)": (5.0, "<= 5 s at 1M")}
    for name, value, unit in bench_coordinator.scale(n, tmp):
        limit, text = targets.get(name, (0.0, ""))
        met = value <= limit if limit and (scale == 1 or "memory" in name) else None
        say(Figure(name, value, unit, target=text, met=met))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--quick", action="store_true", help="every size about tenfold smaller")
    p.add_argument("--json", action="store_true", help="print the figures as JSON")
    p.add_argument("--load-minutes", type=float, default=2.0,
                   help="how long the 1,000-worker load runs (bench_load.py: 10 by default)")
    a = p.parse_args()
    q = 10 if a.quick else 1
    compile_torc()
    figures: list[Figure] = []

    def say(f: Figure) -> None:
        figures.append(f)
        ratio = f" ({f.ratio:.0%} of {f.reference})" if f.ratio is not None else ""
        print(f"  {f.name}: {f.value:,.1f} {f.unit}{ratio}", file=sys.stderr, flush=True)

    with tempfile.TemporaryDirectory(prefix="torc-bench-") as tmp_s:
        tmp = Path(tmp_s)
        print("end to end (real workers, bash -c true) ...", file=sys.stderr, flush=True)
        _e2e(10_000 // q, 5_000 // q, 1_000 // q, tmp, say)
        print("resource monitoring beside many jobs ...", file=sys.stderr, flush=True)
        _monitor(1_000 // q, 3_000 // q, tmp, say)
        print("specs ...", file=sys.stderr, flush=True)
        _spec_file(10_000 // q, tmp, say)
        _barrier(1_000 // q, say)
        print("dashboard ...", file=sys.stderr, flush=True)
        _dash(100_000 // q, tmp, say)
        print("terminal interface ...", file=sys.stderr, flush=True)
        _tui(100_000 // q, tmp, say)
        print("python builder ...", file=sys.stderr, flush=True)
        _builder(100_000 // q, tmp, say)
        print("executor ...", file=sys.stderr, flush=True)
        _executor(300 // q, tmp, say)
        print("coordinator alone ...", file=sys.stderr, flush=True)
        _coordinator(50_000 // q, tmp, say)
        print(f"scale ({1_000_000 // q:,} jobs) ...", file=sys.stderr, flush=True)
        _scale(1_000_000 // q, tmp, say)
        print("HyperQueue, same jobs ...", file=sys.stderr, flush=True)
        _hyperqueue(10_000 // q, tmp, say)
        print(f"load ({a.load_minutes:g} min; bench_load.py runs 10) ...", file=sys.stderr,
              flush=True)
        _load(a.load_minutes, 1000 // q, 2_000_000 // q, say)
    if a.json:
        print(json.dumps([{**asdict(f), "ratio": f.ratio} for f in figures], indent=2))
        return
    from rich.console import Console
    from rich.table import Table
    t = Table(title="torc-py performance (this machine, this run)")
    for col, just in (("figure", "left"), ("measured", "right"), ("reference, same run",
                      "left"), ("ratio", "right"), ("target", "left"), ("met", "center")):
        t.add_column(col, justify=just)  # type: ignore[arg-type]
    for f in figures:
        ref = f"{f.reference_value:,.1f} {f.unit}, {f.reference}" if f.ratio is not None else ""
        t.add_row(f.name, f"{f.value:,.1f} {f.unit}", ref,
                  f"{f.ratio:.0%}" if f.ratio is not None else "", f.target,
                  {True: "yes", False: "NO", None: ""}[f.met])
    Console(width=160).print(t)


if __name__ == "__main__":
    main()
