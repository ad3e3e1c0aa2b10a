"""``torc dash`` in a real headless Chromium (Debian's chromium + chromium-driver, through
Selenium) against a real coordinator and worker. With TORC_DASH_SCREENSHOTS=DIR the run saves
the screenshots of docs/dashboard.md there."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Coordinator, free_port, run_cli, start_worker, wait_for
from tests.test_dash_security import Dash, request

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver")
pytestmark = pytest.mark.skipif(CHROMIUM is None or DRIVER is None,
                                reason="chromium and chromium-driver are not installed")
SHOTS = os.environ.get("TORC_DASH_SCREENSHOTS")
SCRIPT_NAME = "<script>document.title='pwned'</script>"
# Pairs of graph nodes whose boxes, labels included, overlap: unreadable labels.
OVERLAPS = """const bs = window.torcGraph.nodes().map((n) => [n.data('label'),
    n.boundingBox({includeLabels: true, includeOverlays: false})]);
const out = [];
for (let i = 0; i < bs.length; i++) for (let j = i + 1; j < bs.length; j++) {
  const [p, a] = bs[i], [q, b] = bs[j];
  if (!(a.x2 <= b.x1 || b.x2 <= a.x1 || a.y2 <= b.y1 || b.y2 <= a.y1)) out.push([p, q]);
}
return out;"""


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage",
                "--window-size=1400,1800"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.set_page_load_timeout(60)
    yield driver
    driver.quit()


def js(driver: Any, script: str) -> Any:
    return driver.execute_script(script)


def shot(driver: Any, name: str, element_id: str = "") -> None:
    """With TORC_DASH_SCREENSHOTS set, the window (or one element of the page) as a PNG."""
    if SHOTS:
        Path(SHOTS).mkdir(parents=True, exist_ok=True)
        path = str(Path(SHOTS) / f"{name}.png")
        if element_id:
            driver.find_element("id", element_id).screenshot(path)
        else:
            driver.save_screenshot(path)


def test_the_dashboard_follows_a_workflow_live(coordinator: Coordinator, tmp_path: Path,
                                               browser: Any) -> None:
    c, out = coordinator.client, tmp_path / "out"
    wf_id = c.create_workflow({
        "name": "diamond", "resource_monitor": {"enabled": True},
        "jobs": [{"name": "prepare", "command": "echo prepared"},
                 {"name": "left", "command": "while [ ! -e go ]; do sleep 0.05; done",
                  "depends_on": ["prepare"]},
                 {"name": SCRIPT_NAME, "command": "true", "depends_on": ["prepare"]},
                 {"name": "merge", "command": "echo merged", "depends_on": ["left",
                                                                            SCRIPT_NAME]}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out)
    # Not told where the worker writes: its job page finds the logs where the worker said.
    dash = Dash(coordinator.url, None)
    try:
        # The workflows page lists the running workflow.
        dash.open(browser, "/")
        wait_for(lambda: "diamond" in browser.find_element("id", "workflows").text)
        shot(browser, "workflows")
        browser.get(f"{dash.base}/workflows/{wf_id}")
        # One graph node per job, colored by its state.
        wait_for(lambda: js(browser, "return window.torcGraph ? "
                                     "window.torcGraph.nodes().length : 0") == 4)
        assert js(browser, OVERLAPS) == []  # every label readable, the long one too
        wait_for(lambda: js(browser, "return window.torcGraph.$id('j2').data('state')")
                 == "running")
        colors = js(browser, "return window.torcGraph.nodes().map("
                             "n => [n.data('state'), n.style('background-color')])")
        by_state = {state: color for state, color in colors}
        assert by_state["running"] != by_state["completed"]

        def counts() -> dict[str, int]:
            text = js(browser, "return document.querySelector('#counts tbody')"
                               ".dataset.counts || '{}'")
            return json.loads(text)

        wait_for(lambda: counts().get("running") == 1)
        shot(browser, "workflow-running")
        # A name with markup is text on the page, never run.
        cell = browser.find_element("link text", SCRIPT_NAME)
        assert cell.text == SCRIPT_NAME and browser.title != "pwned"
        # The counts change without a reload as jobs finish.
        browser.execute_script("window.sameDocument = true")
        (out / "go").touch()
        wait_for(lambda: counts().get("completed") == 4, timeout=60)
        assert js(browser, "return window.sameDocument") is True
        # The timeline shows each finished job.
        wait_for(lambda: js(browser, "return Number(document.getElementById('timeline')"
                                     ".dataset.runs || 0)") == 4)
        runs = json.loads(js(browser, "return document.getElementById('timeline')"
                                      ".dataset.jobs"))
        assert sorted(runs) == sorted(["prepare", "left", SCRIPT_NAME, "merge"])
        # The graph's legend names the states shown now (it named the first draw's).
        wait_for(lambda: js(browser, "return [...document.querySelectorAll("
                                     "'#legend .legend-item')].map((i) => i.dataset.state)")
                 == ["completed"])
        shot(browser, "workflow-complete")
        # A job's page: its attempts and the tail of its output.
        browser.get(f"{dash.base}/workflows/{wf_id}/jobs/1")
        wait_for(lambda: browser.find_element("id", "stdout").text == "prepared")
        shot(browser, "job")
        assert browser.title != "pwned"
    finally:
        dash.stop()
        worker.wait(timeout=60)


def test_cancel_from_the_page(coordinator: Coordinator, tmp_path: Path, browser: Any) -> None:
    c, out = coordinator.client, tmp_path / "out"
    wf_id = c.create_workflow({"name": "long", "jobs": [
        {"name": "sleeper", "command": "sleep 600", "supports_termination": True}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out)
    dash = Dash(coordinator.url, out)
    try:
        wait_for(lambda: c.status(wf_id).job_counts["running"] == 1)
        dash.open(browser, f"/workflows/{wf_id}")
        wait_for(lambda: browser.find_element("id", "wf-name").text == "long")
        browser.find_element("css selector", "button[data-control='cancel']").click()
        alert = browser.switch_to.alert  # the confirmation
        assert f"workflow {wf_id}" in alert.text
        alert.accept()
        wait_for(lambda: c.get_workflow(wf_id).canceled)
        wait_for(lambda: "cancel: done" in browser.find_element("id", "control-result").text)
        assert worker.wait(timeout=120) == 0
        assert c.status(wf_id).job_counts["terminated"] + c.status(wf_id).job_counts[
            "canceled"] == 1
    finally:
        dash.stop()


def test_bound_beyond_loopback_it_asks_for_the_token_and_refuses_cross_site_controls(
        coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "guarded", "jobs": [{"name": "a", "command": "true"}]})
    dash = Dash(coordinator.url, tmp_path / "out", host="0.0.0.0")
    try:
        status, _, headers = request(dash.base + "/")
        assert status == 303 and headers["location"] == "/login"
        assert request(dash.base + "/api/workflows")[0] == 401
        assert request(dash.base + "/login", "POST", data=b"token=wrong")[0] == 403
        token = Path(os.environ["TORC_TOKEN_FILE"]).read_text().strip()
        status, _, headers = request(dash.base + "/login", "POST",
                                      data=f"token={token}".encode())
        cookie = headers["set-cookie"]
        assert status == 303 and "httponly" in cookie.lower() and "samesite=strict" in \
            cookie.lower()
        session = {"Cookie": cookie.split(";", 1)[0]}
        status, page, _ = request(dash.base + f"/workflows/{wf_id}", headers=session)
        assert status == 200
        csrf = page.split('name="csrf" content="', 1)[1].split('"', 1)[0]
        control = dash.base + f"/api/workflows/{wf_id}/initialize"
        assert request(control, "POST", headers=session)[0] == 403  # no CSRF token
        assert request(control, "POST", headers={**session, "X-Torc-CSRF": csrf,
                                                  "Origin": "http://evil.example"})[0] == 403
        assert not c.get_workflow(wf_id).initialized
        status, body, _ = request(control, "POST", headers={**session, "X-Torc-CSRF": csrf})
        assert status == 200 and json.loads(body)["initialized"]
    finally:
        dash.stop()


def test_torc_run_dash_serves_the_embedded_coordinators_workflow(tmp_path: Path) -> None:
    out, port = tmp_path / "out", free_port()
    spec = tmp_path / "w.yaml"
    spec.write_text("name: with_dash\njobs:\n  - name: wait\n"
                    "    command: while [ ! -e go ]; do sleep 0.05; done\n")
    proc = subprocess.Popen([sys.executable, "-m", "torc.client.cli", "run", str(spec),
                             "--output-dir", str(out), "--dash", "--dash-port", str(port)],
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert proc.stdout is not None
        line = next(x for x in proc.stdout if x.startswith("dashboard: "))
        url = line.split()[1]
        assert url.startswith(f"http://127.0.0.1:{port}/workflows/1?token=")
        status, _, headers = request(url)  # the launch URL logs in and drops its secret
        assert status == 303 and headers["location"] == "/workflows/1"
        session = {"Cookie": headers["set-cookie"].split(";", 1)[0]}
        status, page, _ = request(f"http://127.0.0.1:{port}/workflows/1", headers=session)
        assert status == 200 and "torcDash.workflowPage(1)" in page
        assert request(f"http://127.0.0.1:{port}/api/workflows/1")[0] == 401
        status, body, _ = request(f"http://127.0.0.1:{port}/api/workflows/1",
                                   headers=session)
        assert json.loads(body)["name"] == "with_dash"
        (tmp_path / "go").touch()  # where the job runs
        assert proc.wait(timeout=120) == 0
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # torc run stops its worker and coordinator
            proc.wait(timeout=60)


def test_the_dashboard_shows_a_finished_torc_run(tmp_path: Path) -> None:
    """After ``torc run`` has ended, ``torc dash`` in the same directory (no --url, nothing at
    the default address) serves that run's workflow, as the read verbs do, and its job pages
    show the logs."""
    (tmp_path / "w.yaml").write_text("name: finished\njobs:\n  - name: say\n"
                                     "    command: echo said\n")
    assert run_cli("run", "w.yaml", cwd=tmp_path).returncode == 0
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "torc.client.cli", "dash", "--port",
                             str(port)], cwd=tmp_path, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("torc dash: "), line + proc.stderr.read()
        wait_for(lambda: request(f"http://127.0.0.1:{port}/login")[0] != 0, timeout=60)
        status, _, headers = request(line.split()[2])
        session = {"Cookie": headers["set-cookie"].split(";", 1)[0]}
        status, body, _ = request(f"http://127.0.0.1:{port}/api/workflows/1", headers=session)
        assert json.loads(body)["name"] == "finished"
        status, body, _ = request(f"http://127.0.0.1:{port}/api/workflows/1/jobs/1",
                                  headers=session)
        assert json.loads(body)["logs"]["stdout"]["text"] == "said\n"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert "reading the one torc run left" in proc.stderr.read()
