"""The dashboard at scale: a workflow of ``--jobs`` jobs (default 100,000), its page and its job
table's pages (by id, sorted by name, filtered by state) timed through HTTP as a browser asks
for them. Target: each under a second. Printed, never asserted.

    python bench/bench_dash.py [--jobs 100000]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Coord, free_port, layered_spec  # noqa: E402

from torc.client import TorcClient  # noqa: E402

SESSION: dict[str, str] = {}  # the Cookie header of a logged-in browser


def timed(url: str, repeat: int = 5) -> float:
    """Median seconds of a GET, logged in."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        with urllib.request.urlopen(urllib.request.Request(url, headers=SESSION),
                                    timeout=120) as r:
            r.read()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def figures(n: int, tmp: Path) -> list[tuple[str, float]]:
    """(what, seconds) for the workflow page and its job table."""
    with Coord(tmp / "coord") as coord, TorcClient(coord.url, timeout=600) as c:
        wf_id = c.create_workflow(layered_spec(n))
        c.initialize(wf_id)
        port = free_port()
        dash = subprocess.Popen([sys.executable, "-m", "torc.client.cli", "--url", coord.url,
                                 "dash", "--port", str(port), "--output-dir", str(tmp)],
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        base = f"http://127.0.0.1:{port}"
        assert dash.stdout is not None
        secret = dash.stdout.readline().split()[2].split("?token=", 1)[1]
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(base + "/login", timeout=2)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)
            # The launch URL's secret, exchanged for a session cookie as a browser does.
            login = urllib.request.Request(f"{base}/login", data=f"token={secret}".encode())
            opener = urllib.request.build_opener(_NoRedirect)
            try:
                opener.open(login, timeout=30)
            except urllib.error.HTTPError as e:
                SESSION["Cookie"] = e.headers["set-cookie"].split(";", 1)[0]
            api = f"{base}/api/workflows/{wf_id}"
            return [
                ("workflow page (HTML)", timed(f"{base}/workflows/{wf_id}")),
                ("its counts", timed(api)),
                ("job table, first page of 50", timed(f"{api}/jobs?offset=0&limit=50")),
                ("job table, a page deep in it", timed(f"{api}/jobs?offset={n // 2}&limit=50")),
                ("job table sorted by name", timed(f"{api}/jobs?sort=name&limit=50")),
                ("job table, ready jobs only", timed(f"{api}/jobs?status=ready&limit=50")),
                ("job table, name filter", timed(f"{api}/jobs?name=job_9999&limit=50")),
                ("events history (job events from results)", timed(f"{api}/history")),
                # The coordinator groups the graph: the first draw works out the groups (once
                # per job count), every later one only counts states.
                (f"graph, first draw ({n:,} jobs grouped)", timed(f"{api}/graph", repeat=1)),
                ("graph, drawn again (states counted)", timed(f"{api}/graph")),
            ]
        finally:
            dash.terminate()
            dash.wait()


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object) -> None:
        return None


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=100_000)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-bench-dash-") as tmp:
        for name, secs in figures(a.jobs, Path(tmp)):
            print(f"{name}: {secs * 1000:,.0f} ms")


if __name__ == "__main__":
    main()
