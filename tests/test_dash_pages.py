"""The dashboard's heavier views in a real headless Chromium against a real coordinator: a
large workflow's grouped graph and execution plan, and the resource plots page (each saved
as a screenshot for docs/dashboard.md when TORC_DASH_SCREENSHOTS is set)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.conftest import Coordinator, start_worker, wait_for
from tests.test_dash import OVERLAPS, browser, js, pytestmark, shot  # noqa: F401
from tests.test_dash_security import Dash
from torc.client.dash.views import GRAPH_JOB_LIMIT


def test_a_large_workflow_draws_its_groups_and_plan(coordinator: Coordinator, tmp_path: Path,
                                                   browser: Any) -> None:  # noqa: F811
    """Past GRAPH_JOB_LIMIT jobs the graph shows the coordinator's groups, each labelled
    with its pattern and size and coloured by its state; the plan lists the stages."""
    n = GRAPH_JOB_LIMIT + 1000
    c = coordinator.client
    wf_id = c.create_workflow({"name": "sweep", "jobs": [
        {"name": "prepare", "command": "true"},
        {"name": "case_{i}", "command": "true", "depends_on": ["prepare"],
         "parameters": {"i": f"1:{n}"}},
        {"name": "summarize", "command": "true", "depends_on_regexes": ["case_.*"]}]})
    c.initialize(wf_id)
    dash = Dash(coordinator.url, tmp_path / "out")
    try:
        dash.open(browser, f"/workflows/{wf_id}")
        wait_for(lambda: js(browser, "return window.torcGraph ? "
                                     "window.torcGraph.nodes().length : 0") == 3, timeout=60)
        labels = js(browser, "return window.torcGraph.nodes().map((n) => "
                             "[n.data('label'), n.data('state')])")
        assert sorted(map(tuple, labels)) == [
            (f"case_* × {n:,}", "blocked"), ("prepare × 1", "ready"),
            ("summarize × 1", "blocked")]
        assert js(browser, "return window.torcGraph.edges().length") == 2
        wait_for(lambda: js(browser, "return window.torcGraph.zoom()") > 0)  # laid out
        assert js(browser, OVERLAPS) == []  # every label readable
        assert "grouped" in browser.find_element("id", "graph-note").text
        wait_for(lambda: "3 stage(s)" in browser.find_element("id", "plan-note").text)
        browser.execute_script("document.getElementById('graph-section').scrollIntoView()")
        shot(browser, "workflow-graph-grouped", "graph-section")
        shot(browser, "workflow-plan", "plan-section")
    finally:
        dash.stop()


def test_the_resource_plots_page_draws_in_a_browser(coordinator: Coordinator, tmp_path: Path,
                                                    browser: Any) -> None:  # noqa: F811
    """A monitored run's plots (Plotly, shipped with torc) draw offline: CPU and memory
    over time for each job."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "plotted", "resource_monitor": {
        "enabled": True, "granularity": "time_series", "sample_interval_seconds": 1},
        "jobs": [{"name": "busy", "command": "timeout 3 sh -c 'while :; do :; done'; true"}]})
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=60) == 0
    dash = Dash(coordinator.url, None)
    try:
        dash.open(browser, f"/workflows/{wf_id}/plots")  # the launch URL works here too
        wait_for(lambda: js(browser, "return document.querySelectorAll("
                                     "'.js-plotly-plot .main-svg').length") > 0, timeout=60)
        traces = js(browser, "return [...document.querySelectorAll('.js-plotly-plot')]"
                             ".map((p) => p.data.length)")
        assert traces and all(t >= 1 for t in traces)
        shot(browser, "workflow-plots")
    finally:
        dash.stop()
