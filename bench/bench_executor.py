"""``TorcExecutor.map`` of ``--calls`` no-op calls (default 1,000) against
``concurrent.futures.ProcessPoolExecutor.map`` of the same function with as many processes as
cores, in the same run. Each TorcExecutor call is a durable job (its call and result logged
and fsync'ed) run by a new Python process; the pool reuses its processes. Target (issue 35):
at least half the pool's rate. Printed, never asserted.

    python bench/bench_executor.py [--calls 1000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from torc import TorcExecutor


def noop(x: int) -> int:
    return x


def figures(n: int, tmp: Path) -> list[tuple[str, float]]:
    """(what, value): calls/s each way and the ratio."""
    t0 = time.perf_counter()
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        assert list(pool.map(noop, range(n))) == list(range(n))
    pool_rate = n / (time.perf_counter() - t0)
    with TorcExecutor(output_dir=tmp / "ex", workers=1) as ex:
        t0 = time.perf_counter()
        assert list(ex.map(noop, range(n))) == list(range(n))
        torc_rate = n / (time.perf_counter() - t0)
    return [(f"ProcessPoolExecutor.map, {n:,} no-op calls", pool_rate),
            (f"TorcExecutor.map, {n:,} no-op calls (embedded coordinator, 1 local worker)",
             torc_rate), ("TorcExecutor / ProcessPoolExecutor", torc_rate / pool_rate)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=1_000)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-bench-executor-") as tmp:
        for name, value in figures(a.calls, Path(tmp)):
            print(f"{name}: {value:,.3f}" + ("" if "/" in name else " calls/s"))


if __name__ == "__main__":
    main()
