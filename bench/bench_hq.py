"""Side by side with HyperQueue: the same no-op jobs on 8 slots, in the same run.

    python bench/bench_hq.py [--jobs 10000]

Needs the ``hyperqueue`` package (``pip install hyperqueue``, in the ``bench`` extra); without
it the comparison is skipped. Both sides are timed from handing over the jobs (HyperQueue's
``submit``; torc's create + initialize) to the last one done, each with one worker of 8
slots already running, and both write each job's stdout and stderr to files (their defaults).
Not a test: figures for reading.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Coord, independent_spec, start_workers  # noqa: E402

from torc.client import TorcClient  # noqa: E402

SLOTS = 8


def available() -> bool:
    """Whether HyperQueue's Python package is installed."""
    try:
        import hyperqueue  # noqa: F401
    except ImportError:
        return False
    return True


def hyperqueue_rate(n: int, tmp: Path) -> float:
    """HyperQueue LocalCluster, one worker of 8 cores: ``bash -c true`` jobs per second."""
    from hyperqueue import Job, LocalCluster
    from hyperqueue.cluster import WorkerConfig

    work = tmp / "hq-work"
    work.mkdir(parents=True)
    server = str(tmp / "hq-server")  # its FFI takes a str, not a Path
    # Its server table (stdout) and progress bar (stderr) would fill the benchmark's output.
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()), \
            LocalCluster(server, WorkerConfig(cores=SLOTS)) as cluster:  # type: ignore[arg-type]
        client = cluster.client()
        job = Job(work)
        for _ in range(n):
            job.program(["bash", "-c", "true"])
        t0 = time.perf_counter()
        submitted = client.submit(job)
        client.wait_for_jobs([submitted])
        return n / (time.perf_counter() - t0)


def torc_rate(n: int, tmp: Path) -> float:
    """torc, one worker of 8 slots: the same jobs, from create to the last one done."""
    spec = independent_spec(n)
    with Coord(tmp / "torc-coord") as coord, TorcClient(coord.url, timeout=600) as c:
        # The worker needs a workflow to attach to: an empty one would be refused, so the
        # worker starts on the real one right after its create, and the clock starts there.
        t0 = time.perf_counter()
        wf_id = c.create_workflow(spec)
        procs = start_workers(coord.url, wf_id, 1, SLOTS, tmp / "torc-out")
        c.initialize(wf_id)
        for p in procs:
            p.wait()
        elapsed = time.perf_counter() - t0
        assert c.status(wf_id).job_counts["completed"] == n
    return n / elapsed


def figures(n: int, tmp: Path) -> list[tuple[str, float, float]] | None:
    """[(figure, torc jobs/s, HyperQueue jobs/s)], or None without HyperQueue."""
    if not available():
        return None
    hq = hyperqueue_rate(n, tmp)
    torc = torc_rate(n, tmp)
    return [(f"{n:,} no-op jobs, 1 worker x {SLOTS}, hand-over to done", torc, hq)]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--jobs", type=int, default=10_000)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-hq-") as tmp:
        rows = figures(a.jobs, Path(tmp))
    if rows is None:
        print("hyperqueue is not installed (pip install hyperqueue): nothing to compare")
        return
    for name, torc, hq in rows:
        print(f"{name}: torc {torc:,.0f} jobs/s, HyperQueue {hq:,.0f} jobs/s "
              f"({torc / hq:.2f}x)")


if __name__ == "__main__":
    main()
