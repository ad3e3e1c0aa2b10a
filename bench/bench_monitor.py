"""Does resource monitoring slow a worker down? One worker runs ``--long`` sleeping jobs (all
sampled every second when monitoring is on) and, beside them, ``--short`` no-op jobs through
its remaining slots; the short jobs' throughput with monitoring on is compared with the same run
with monitoring off (the reference, same machine, same run).

    python bench/bench_monitor.py [--long 1000] [--short 2000] [--slots 8]

Printed, never asserted (machines here are shared and noisy).
"""

from __future__ import annotations

import argparse
import itertools
import sys
import tempfile
import time
from pathlib import Path
from statistics import median
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Coord, start_workers  # noqa: E402

from torc import states as S  # noqa: E402
from torc.client import TorcClient  # noqa: E402

_runs = itertools.count()


def spec(long: int, short: int, monitored: bool) -> dict[str, Any]:
    """Long jobs first (higher priority), then the short ones."""
    return {
        "name": f"monitor-{monitored}",
        "resource_monitor": {"enabled": monitored, "sample_interval_seconds": 1},
        "resource_requirements": [{"name": "tiny", "num_cpus": 1, "memory": "1m",
                                   "runtime": "PT1H"}],
        "jobs": [*({"name": f"long_{i}", "command": "exec sleep 600", "priority": 10,
                    "resource_requirements": "tiny"} for i in range(long)),
                 *({"name": f"short_{i}", "command": "true", "resource_requirements": "tiny"}
                   for i in range(short))]}


def short_rate(long: int, short: int, slots: int, monitored: bool, tmp: Path) -> float:
    """Short jobs per second while ``long`` sampled jobs run on the same worker."""
    run = f"{monitored}-{next(_runs)}"  # each run gets directories of its own
    with Coord(tmp / f"coord-{run}") as coord, TorcClient(coord.url, timeout=600) as c:
        wf_id = c.create_workflow(spec(long, short, monitored))
        c.initialize(wf_id)
        procs = start_workers(coord.url, wf_id, 1, long + slots, tmp / f"out-{run}")
        deadline = time.monotonic() + 600
        while c.status(wf_id).job_counts["completed"] < short:
            if time.monotonic() > deadline:
                raise RuntimeError("the short jobs did not finish")
            time.sleep(0.5)
        results = [r for r in c.list_results(wf_id, all_runs=True)
                   if r.job_name.startswith("short_") and r.status == S.COMPLETED]
        running_long = c.status(wf_id).job_counts["running"]
        c.cancel(wf_id)
        for p in procs:
            p.wait()
    if running_long < long:
        print(f"  note: only {running_long} long jobs were running at the end",
              file=sys.stderr)
    first = min(r.start_time for r in results)
    last = max(r.end_time for r in results)
    return len(results) / (last - first)


def figures(long: int, short: int, slots: int, tmp: Path,
            repeats: int = 3) -> list[tuple[str, float, float]]:
    """(name, monitored rate, unmonitored rate): medians of ``repeats`` alternating runs (off,
    on, off, on...), since one run of either moves by 10% or more from minute to minute on
    two shared cores; each pair's ratio is printed as it comes."""
    offs: list[float] = []
    ons: list[float] = []
    for _ in range(repeats):
        offs.append(short_rate(long, short, slots, False, tmp))
        ons.append(short_rate(long, short, slots, True, tmp))
        print(f"  (monitored {ons[-1]:,.0f} jobs/s, not {offs[-1]:,.0f}: "
              f"{ons[-1] / offs[-1]:.0%})", file=sys.stderr, flush=True)
    many = f", median of {repeats}" if repeats > 1 else ""
    return [(f"no-op jobs/s beside {long} jobs sampled every second{many}", median(ons),
             median(offs))]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--long", type=int, default=1000)
    p.add_argument("--short", type=int, default=2000)
    p.add_argument("--slots", type=int, default=8)
    p.add_argument("--repeats", type=int, default=3)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-bench-monitor-") as tmp:
        for name, on, off in figures(a.long, a.short, a.slots, Path(tmp), a.repeats):
            print(f"{name}: {on:,.0f} monitored, {off:,.0f} not ({on / off:.0%})")


if __name__ == "__main__":
    main()
