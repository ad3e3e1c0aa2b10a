"""``TorcExecutor.map`` of ``--calls`` no-op calls (default 1,000) against
``concurrent.futures.ProcessPoolExecutor.map`` of the same function with as many processes as
cores, in the same run: a job a call (each a durable job run by a new Python process; the pool
reuses its processes), and in chunks of calls a job (``map(chunksize=...)``, a quarter of the
calls a core a job) over 10,000 calls, the issue's scale; and against Dask's ``client.map``
on a LocalCluster when ``distributed`` is installed (not a dependency). Target (issue 35):
at least half the pool's rate. Printed, never asserted.

    python bench/bench_executor.py [--calls 300] [--chunked 10000]
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


def _pool_rate(n: int) -> float:
    t0 = time.perf_counter()
    with ProcessPoolExecutor(os.cpu_count()) as pool:
        assert list(pool.map(noop, range(n))) == list(range(n))
    return n / (time.perf_counter() - t0)


def _dask_rate(n: int) -> float | None:
    """Dask ``client.map`` on a LocalCluster of a process a core (None: not installed)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        return None
    with LocalCluster(n_workers=os.cpu_count() or 1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        client.gather(client.map(noop, range(10)))  # the workers are up
        t0 = time.perf_counter()
        assert client.gather(client.map(noop, range(n))) == list(range(n))
        return n / (time.perf_counter() - t0)


def figures(n: int, tmp: Path, chunked: int = 10_000) -> list[tuple[str, float]]:
    """(what, value): calls/s each way and the ratios; ``n`` calls a job each (slow: a
    process a call), ``chunked`` calls in chunks of a quarter of them a core."""
    chunk = max(1, chunked // (4 * (os.cpu_count() or 1)))
    pool_n, pool_chunked = _pool_rate(n), _pool_rate(chunked)
    with TorcExecutor(output_dir=tmp / "ex", workers=1) as ex:
        t0 = time.perf_counter()
        assert list(ex.map(noop, range(n))) == list(range(n))
        each = n / (time.perf_counter() - t0)
        t0 = time.perf_counter()  # other inputs: other calls (none is found done)
        got = list(ex.map(noop, range(n, n + chunked), chunksize=chunk))
        assert got == list(range(n, n + chunked))
        in_chunks = chunked / (time.perf_counter() - t0)
    dask = _dask_rate(chunked)
    extra = [] if dask is None else [
        (f"Dask LocalCluster client.map, {chunked:,} no-op calls (its start excluded)", dask),
        ("TorcExecutor chunked / Dask", in_chunks / dask)]
    return extra + [(f"ProcessPoolExecutor.map, {n:,} no-op calls", pool_n),
            (f"TorcExecutor.map, {n:,} no-op calls, a job each (embedded coordinator, 1 "
             "local worker)", each),
            (f"ProcessPoolExecutor.map, {chunked:,} no-op calls", pool_chunked),
            (f"TorcExecutor.map, {chunked:,} no-op calls, chunksize {chunk:,}", in_chunks),
            ("TorcExecutor / ProcessPoolExecutor, a job a call", each / pool_n),
            ("TorcExecutor / ProcessPoolExecutor, chunked", in_chunks / pool_chunked)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--calls", type=int, default=300, help="calls a job each")
    p.add_argument("--chunked", type=int, default=10_000, help="calls in chunks")
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-bench-executor-") as tmp:
        for name, value in figures(a.calls, Path(tmp), a.chunked):
            print(f"{name}: {value:,.3f}" + ("" if "/" in name else " calls/s"))


if __name__ == "__main__":
    main()
