"""Torc's barrier pattern at 1,000 x 1,000: every job of stage 2 depends on every job of
stage 1 through one ``depends_on_regexes`` (a million dependencies). Creating it (validation on
the coordinator, in-process here) and unblocking stage 2 when stage 1 ends, timed. Target:
3 s for both (Torc's own tutorial reports about 45 s).

    python bench/bench_barrier.py [--width 1000]
"""

from __future__ import annotations

import argparse
import time

from torc import states as S
from torc.server.state import events as E
from torc.server.state.events import ReportRow
from torc.server.state.store import Store
from torc.spec.validate import normalize


def spec(width: int) -> dict:
    """Stage 1 and stage 2, joined by one regex each."""
    return {"name": "barrier", "jobs": [
        {"name": "s1_{i}", "command": "true", "parameters": {"i": f"1:{width}"}},
        {"name": "s2_{i}", "command": "true", "parameters": {"i": f"1:{width}"},
         "depends_on_regexes": ["s1_.*"]}]}


def figures(width: int) -> list[tuple[str, float]]:
    """(what, seconds): validate + create, initialize, stage 1 ends and stage 2 is ready."""
    t0 = time.perf_counter()
    norm = normalize(spec(width), "barrier")
    store = Store()
    store.apply(E.CreateWorkflow(1, norm, "bench", 1.0))
    t_create = time.perf_counter() - t0
    t0 = time.perf_counter()
    store.apply(E.InitializeWorkflow(1, 2.0))
    t_init = time.perf_counter() - t0
    store.apply(E.RegisterWorker(1, 1, 3.0))
    stage1 = list(range(1, width + 1))
    t0 = time.perf_counter()
    store.apply(E.ClaimJobs(1, 1, tuple(stage1), 1))
    rows = tuple(ReportRow(j, 2, 0, 0, 4.0, 5.0, 1, 1) for j in stage1)
    store.apply(E.Report(1, 1, rows))
    t_unblock = time.perf_counter() - t0
    assert store.workflows[1].counts[S.READY] == width
    return [(f"create {width:,} x {width:,} barrier ({width * width:,} dependencies)",
             t_create), ("initialize", t_init),
            (f"stage 1 ends ({width:,} reports): stage 2 ready", t_unblock)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--width", type=int, default=1000)
    a = p.parse_args()
    total = 0.0
    for name, secs in figures(a.width):
        total += secs
        print(f"{name}: {secs:.2f} s")
    print(f"total: {total:.2f} s")


if __name__ == "__main__":
    main()
