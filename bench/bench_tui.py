"""``torc tui`` at scale: a workflow of ``--jobs`` jobs (default 100,000) in layers, opened in
the real application (Textual's headless pilot, 80x24), each step timed from the key press to
the screen showing its result: the first page of jobs, the next page, a state filter, the
Events tab (the history) and the DAG (the coordinator's groups). Target
(issue 34): under 200 ms a step. Printed, never asserted.

    python bench/bench_tui.py [--jobs 100000]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Coord, layered_spec  # noqa: E402
from textual.widgets import Static, TabbedContent  # noqa: E402

from torc.client import TorcClient  # noqa: E402
from torc.client.tui.app import TorcTui  # noqa: E402
from torc.client.tui.server import Connection  # noqa: E402


async def _until(pilot: Any, cond: Callable[[], bool], timeout: float = 600) -> float:
    """Seconds until ``cond()`` holds, the app running meanwhile."""
    t0 = time.perf_counter()
    while not cond():
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError("the TUI did not get there")
        await pilot.pause(0.002)
    return time.perf_counter() - t0


def _text(app: TorcTui, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


async def _steps(url: str, n: int, tmp: Path, repeat: int) -> list[tuple[str, float]]:
    app = TorcTui(Connection(url, tmp / "unused"), user="")
    found: dict[str, list[float]] = {}

    def note(name: str, secs: float) -> None:
        found.setdefault(name, []).append(secs)

    t0 = time.perf_counter()
    async with app.run_test(size=(80, 24)) as pilot:
        await _until(pilot, lambda: f"of {n}" in _text(app, "#jobs-info"))
        note("open: start, workflows, the first page of jobs", time.perf_counter() - t0)
        tabs = app.screen.query_one(TabbedContent)
        for _ in range(repeat):
            await pilot.press("right")
            t0 = time.perf_counter()
            await pilot.press("right_square_bracket")
            await _until(pilot, lambda: "jobs 201–400" in _text(app, "#jobs-info"))
            note("] next page of 200 jobs", time.perf_counter() - t0)
            await pilot.press("left_square_bracket")
            await _until(pilot, lambda: "jobs 1–200" in _text(app, "#jobs-info"))
            await pilot.press("f")
            for key in "status:ready":
                await pilot.press(key)
            t0 = time.perf_counter()
            await pilot.press("enter")
            await _until(pilot, lambda: "filter status:ready" in _text(app, "#jobs-info"))
            note("f status:ready, from its Enter", time.perf_counter() - t0)
            app.screen.job_filter = type(app.screen.job_filter)()  # type: ignore[attr-defined]
            for tab, shown in (("events", "#events-info"), ("dag", "#dag-text")):
                app.screen.query_one(shown, Static).update("")
                t0 = time.perf_counter()
                tabs.active = tab
                await _until(pilot, lambda shown=shown: _text(app, shown) != "")
                secs = time.perf_counter() - t0
                if tab == "dag" and not any(k.startswith("Tab to DAG") for k in found):
                    note("Tab to DAG, first (the coordinator works out the groups)", secs)
                else:
                    note(f"Tab to {tab.upper() if tab == 'dag' else tab.capitalize()}", secs)
            tabs.active = "jobs"
            await _until(pilot, lambda: "jobs 1–200" in _text(app, "#jobs-info"))
        await pilot.press("q")
    return [(name, statistics.median(times)) for name, times in found.items()]


def figures(n: int, tmp: Path, repeat: int = 3) -> list[tuple[str, float]]:
    """(what, seconds): the median of ``repeat`` times of each step."""
    with Coord(tmp / "coord") as coord, TorcClient(coord.url, timeout=600) as c:
        wf_id = c.create_workflow(layered_spec(n))
        c.initialize(wf_id)
        return asyncio.run(_steps(coord.url, n, tmp, repeat))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=100_000)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-bench-tui-") as tmp:
        for name, secs in figures(a.jobs, Path(tmp)):
            print(f"{name}: {secs * 1000:,.0f} ms")


if __name__ == "__main__":
    main()
