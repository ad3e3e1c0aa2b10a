"""The dashboard's resource plots: ``torc plot-resources``'s page for a workflow, drawn from
the time_series samples its worker wrote, behind the dashboard's session; a workflow without
samples gets a page saying how to have them. Raw HTTP against a real ``torc dash``."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Coordinator, start_worker
from tests.test_dash_security import Dash, request, session_of

MONITOR = {"enabled": True, "granularity": "time_series", "sample_interval_seconds": 1}


def test_a_workflow_s_resource_plots(coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    watched = c.create_workflow({"name": "watched", "resource_monitor": MONITOR, "jobs": [
        {"name": "</script><b>busy</b>", "command": "sleep 3"}]})
    plain = c.create_workflow({"name": "plain", "jobs": [{"name": "a", "command": "true"}]})
    for wf in (watched, plain):
        c.initialize(wf)
        assert start_worker(coordinator.url, wf, tmp_path / "out").wait(timeout=60) == 0
    dash = Dash(coordinator.url, None)  # where each worker said it writes
    try:
        assert request(f"{dash.base}/workflows/{watched}/plots")[0] == 303  # log in first
        session = session_of(dash)
        status, page, headers = request(f"{dash.base}/workflows/{watched}/plots",
                                        headers=session)
        assert status == 200 and headers["content-type"].startswith("text/html")
        assert "Plotly.newPlot" in page and "(job " in page
        assert "</script><b>busy" not in page  # a job's name is text, not markup
        status, page, _ = request(f"{dash.base}/workflows/{plain}/plots", headers=session)
        assert status == 200 and "No resource samples of workflow" in page
        assert "granularity: time_series" in page
    finally:
        dash.stop()
