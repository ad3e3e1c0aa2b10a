"""``torc dash`` as a person watching a run sees it, in a real headless Chromium against a
real coordinator and worker: the history of a run already over (job events too), only the
controls that apply, a graph not blown up and a legend for its colours, the execution plan,
a Live indicator that says Reconnecting while the coordinator restarts and comes back by
itself, every attempt's logs on a job page, ``--standalone``, a workflow created from a
pasted spec and run from its page, and the data tabs."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Coordinator, free_port, start_worker, wait_for
from tests.test_dash import browser, js, pytestmark, shot  # noqa: F401 - fixture, skip
from tests.test_dash_security import Dash, request


def _ran(coordinator: Coordinator, tmp_path: Path, spec: dict[str, Any]) -> int:
    """A workflow created, initialized and run to its end by a real worker."""
    wf_id = coordinator.client.create_workflow(spec)
    coordinator.client.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=60) == 0
    return wf_id


def _event_kinds(driver: Any) -> list[str]:
    """The events panel's kinds, top (newest) first."""
    return js(driver, "return [...document.querySelectorAll('#events li')]"
                      ".map((li) => li.dataset.kind)")


def _controls(driver: Any) -> dict[str, bool]:
    return js(driver, "const r = {}; for (const b of document.querySelectorAll("
                      "'button[data-control]')) r[b.dataset.control] = !b.hidden; return r;")


def test_a_finished_run_shows_its_history_the_controls_that_apply_and_a_legend(
        coordinator: Coordinator, tmp_path: Path, browser: Any) -> None:  # noqa: F811
    wf_id = _ran(coordinator, tmp_path, {"name": "over", "jobs": [
        {"name": "good", "command": "true"},
        {"name": "bad", "command": "exit 2"}]})
    dash = Dash(coordinator.url, tmp_path / "out")
    try:
        dash.open(browser, f"/workflows/{wf_id}")
        # Opened after the run: its history is there, the newest first, job events too.
        wait_for(lambda: js(browser, "return document.getElementById('events')"
                                     ".dataset.history || ''") != "")
        kinds = _event_kinds(browser)
        # (the worker stopped after the workflow completed: Torc's compute-node event)
        assert kinds[:2] == ["compute_node_stopped", "complete"]
        assert "job_failed" in kinds and "created" in kinds and "compute_node_started" in kinds
        wait_for(lambda: js(browser, "return document.getElementById('live-state')"
                                     ".dataset.state") == "live")
        # Complete with a failure: nothing to initialize or cancel.
        wait_for(lambda: _controls(browser) == {"initialize": False, "cancel": False,
                                                "reset-failed": True, "reinitialize": True})
        wait_for(lambda: js(browser, "return window.torcGraph ? "
                                     "window.torcGraph.nodes().length : 0") == 2)
        assert js(browser, "return window.torcGraph.zoom()") <= 1  # two jobs, not two moons
        legend = js(browser, "return [...document.querySelectorAll('#legend .legend-item')]"
                             ".map((e) => e.dataset.state)")
        assert legend == ["completed", "failed"]
        # The execution plan: both jobs ready at once, between the start and the end.
        wait_for(lambda: js(browser, "return [...document.querySelectorAll('#plan tbody tr')]"
                                     ".map((r) => r.cells[0].textContent)")
                 == ["start", "0", "end"])
        assert "good, bad" in browser.find_element("id", "plan").text
    finally:
        dash.stop()


def test_the_events_panel_reconnects_when_the_coordinator_restarts(
        coordinator: Coordinator, tmp_path: Path, browser: Any) -> None:  # noqa: F811
    c = coordinator.client
    wf_id = c.create_workflow({"name": "again", "jobs": [{"name": "a", "command": "true"}]})
    dash = Dash(coordinator.url, tmp_path / "out")

    def state() -> str:
        return js(browser, "return document.getElementById('live-state').dataset.state")

    try:
        dash.open(browser, f"/workflows/{wf_id}")
        wait_for(lambda: state() == "live")
        assert _controls(browser)["initialize"] and not _controls(browser)["cancel"]
        coordinator.kill9()
        wait_for(lambda: state() == "reconnecting")
        coordinator.start()
        wait_for(lambda: state() == "live", timeout=60)
        # Live again for real: what happens now reaches the page without a reload.
        c.initialize(wf_id)
        wait_for(lambda: "initialized" in _event_kinds(browser))
        wait_for(lambda: _controls(browser)["cancel"])
    finally:
        dash.stop()


def test_the_job_page_shows_every_attempt_s_logs(coordinator: Coordinator, tmp_path: Path,
                                                browser: Any) -> None:  # noqa: F811
    wf_id = _ran(coordinator, tmp_path, {
        "name": "retried",
        "failure_handlers": [{"name": "again", "rules": [{"exit_codes": [3],
                                                           "max_retries": 2}]}],
        "jobs": [{"name": "flaky", "failure_handler": "again",
                  "command": "if [ -e tried ]; then echo second-try; "
                             "else touch tried; echo first-try; exit 3; fi"}]})
    (job,) = coordinator.client.list_jobs(wf_id)
    dash = Dash(coordinator.url, tmp_path / "out")
    try:
        dash.open(browser, f"/workflows/{wf_id}/jobs/{job.id}")
        wait_for(lambda: "second-try" in browser.find_element("id", "stdout").text)
        assert "attempt 2" in browser.find_element("id", "latest-attempt").text
        earlier = js(browser, "return [...document.querySelectorAll("
                              "'#earlier-attempts details')].map((d) => d.dataset.attempt)")
        assert earlier == ["1.1"]
        js(browser, "document.querySelector('#earlier-attempts details').open = true")
        shot(browser, "job-attempts")
        first = js(browser, "return document.querySelector("
                            "'#earlier-attempts pre[data-log=stdout]').textContent")
        assert first == "first-try\n"
    finally:
        dash.stop()


def test_torc_dash_standalone_starts_and_stops_its_own_coordinator(tmp_path: Path) -> None:
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "torc.client.cli", "dash", "--standalone",
                             "--port", str(port), "--output-dir", str(tmp_path / "out")],
                            cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert line.startswith("torc dash: "), line
        wait_for(lambda: request(f"http://127.0.0.1:{port}/login")[0] != 0, timeout=60)
        status, _, headers = request(line.split()[2])
        session = {"Cookie": headers["set-cookie"].split(";", 1)[0]}
        status, body, _ = request(f"http://127.0.0.1:{port}/api/workflows", headers=session)
        assert status == 200 and json.loads(body) == []
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    assert proc.stderr is not None
    assert "coordinator 127.0.0.1:" in proc.stderr.read()
    log = (tmp_path / "out" / "coordinator" / "coordinator.log").read_text()
    assert "shutting down" in log  # stopped with the dashboard, not left behind


def _click(driver: Any, selector: str) -> None:
    js(driver, "window.confirm = () => true;")  # the page asks first; a person says yes
    driver.find_element("css selector", selector).click()


def test_create_from_a_pasted_spec_then_run_it_here(coordinator: Coordinator,
                                                    tmp_path: Path,
                                                    browser: Any) -> None:  # noqa: F811
    """The workflows page creates a workflow from a pasted spec (a mistake is named with
    its line, and nothing is created); its page runs it here with the output shown."""
    dash = Dash(coordinator.url, tmp_path / "out")
    text = "name: pasted\njobs:\n  - name: hello\n    command: echo hello-from-dash\n"
    try:
        dash.open(browser, "/")
        wait_for(lambda: js(browser, "return document.querySelector('#workflows tbody')"
                                     ".dataset.loaded") == "1")
        area = browser.find_element("id", "spec-text")
        area.send_keys(text + "    bogus: 1\n")
        browser.find_element("id", "spec-create").click()
        wait_for(lambda: "spec.yaml:5" in browser.find_element("id", "spec-result").text)
        shot(browser, "workflows-new")
        assert "unknown key 'bogus'" in browser.find_element("id", "spec-result").text
        assert coordinator.client.list_workflows() == []
        area.clear()
        area.send_keys(text)
        browser.find_element("id", "spec-create").click()
        wait_for(lambda: "/workflows/1" in browser.current_url)
        wait_for(lambda: js(browser, "return document.getElementById('live-state')"
                                     ".dataset.state") == "live")
        _click(browser, "button[data-command=run]")
        wait_for(lambda: js(browser, "return document.getElementById('command-box')"
                                     ".dataset.exitCode || ''") == "0", timeout=120)
        assert "torc run 1" in browser.find_element("id", "command-title").text
        wait_for(lambda: json.loads(js(browser, "return document.querySelector("
                                                "'#counts tbody').dataset.counts || '{}'"))
                 .get("completed") == 1)
    finally:
        dash.stop()
    (r,) = coordinator.client.list_results(1)
    assert r.return_code == 0
    assert "hello-from-dash" in (tmp_path / "out" / "job_stdio" / "job_wf1_j1_r1_a1.o"
                                 ).read_text()


def test_data_tabs_filter_sort_and_page(coordinator: Coordinator, tmp_path: Path,
                                        browser: Any) -> None:  # noqa: F811
    (tmp_path / "in.txt").write_text("x")
    wf_id = _ran(coordinator, tmp_path, {
        "name": "tabs", "files": [{"name": "in", "path": str(tmp_path / "in.txt")}],
        "user_data": [{"name": "knob", "data": {"level": 3}}],
        "resource_requirements": [{"name": "small", "num_cpus": 1, "memory": "1g",
                                   "runtime": "PT5M"}],
        "slurm_schedulers": [{"name": "short", "account": "proj", "walltime": "01:00:00"}],
        "jobs": [{"name": f"j{i}", "command": f"exit {i % 2}", "input_files": ["in"],
                  "resource_requirements": "small"} for i in range(6)]})
    dash = Dash(coordinator.url, tmp_path / "out")

    def shown() -> tuple[str, int, list[list[str]]]:
        return js(browser, "const t = document.getElementById('data'); return [t.dataset.name,"
                           " +t.dataset.total, [...t.querySelectorAll('tbody tr')].map("
                           "(r) => [...r.cells].map((c) => c.textContent))];")

    def tab(name: str) -> None:
        browser.find_element("css selector", f"#data-tabs button[data-table={name}]").click()
        wait_for(lambda: shown()[0] == name)

    def tab_shot(name: str) -> None:  # the Data section: its tabs, filter and table
        browser.execute_script("document.getElementById('data-section').scrollIntoView()")
        shot(browser, f"workflow-data-{name}", "data-section")

    try:
        dash.open(browser, f"/workflows/{wf_id}")
        wait_for(lambda: shown()[0] == "files" and shown()[1] == 1)
        tab_shot("files")
        tab("results")
        wait_for(lambda: shown()[1] == 6)
        browser.find_element("id", "data-filter").send_keys("status:failed")
        wait_for(lambda: shown()[1] == 3)
        columns = js(browser, "return [...document.querySelectorAll('#data thead th')]"
                              ".map((th) => th.dataset.column)")
        assert "peak_memory" in columns and "exec_seconds" in columns
        name_at = columns.index("job_name")
        def header() -> str:
            return js(browser, "return document.querySelector("
                               "'#data th[data-column=job_name]').textContent")

        # A click sorts up, a second down; the table is redrawn after each (wait for it).
        browser.find_element("css selector", "#data th[data-column=job_name]").click()
        wait_for(lambda: header().endswith("▲"))
        browser.find_element("css selector", "#data th[data-column=job_name]").click()
        wait_for(lambda: header().endswith("▼"))
        wait_for(lambda: [r[name_at] for r in shown()[2]] == ["j5", "j3", "j1"])
        tab_shot("results")
        browser.find_element("id", "data-filter").clear()
        tab("user_data")
        wait_for(lambda: shown()[1] == 1 and "knob" in shown()[2][0])
        tab_shot("user_data")
        tab("resource_requirements")
        wait_for(lambda: any("small" in row for row in shown()[2]))
        tab_shot("resource_requirements")
        tab("schedulers")
        wait_for(lambda: shown()[1] == 1 and "proj" in shown()[2][0])
        tab_shot("schedulers")
        tab("compute_nodes")
        wait_for(lambda: shown()[1] == 1)
        tab_shot("compute_nodes")
    finally:
        dash.stop()


def test_recover_from_the_page_says_what_it_did(coordinator: Coordinator, tmp_path: Path,
                                                browser: Any) -> None:  # noqa: F811
    """Recover shows only once a job failed and nothing runs; it runs torc recover and
    shows its answer (a plain failure: nothing to change without --retry-unknown)."""
    wf_id = _ran(coordinator, tmp_path, {"name": "rec", "jobs": [
        {"name": "bad", "command": "exit 2"}]})
    dash = Dash(coordinator.url, tmp_path / "out")
    try:
        dash.open(browser, f"/workflows/{wf_id}")
        wait_for(lambda: js(browser, "return !document.querySelector("
                                     "'button[data-command=recover]').hidden"))
        assert js(browser, "return document.querySelector('button[data-command=run]')"
                           ".hidden")  # complete: nothing to run
        _click(browser, "button[data-command=recover]")
        wait_for(lambda: js(browser, "return document.getElementById('command-box')"
                                     ".dataset.exitCode || ''") == "0", timeout=120)
        assert "nothing to recover in workflow" in browser.find_element(
            "id", "command-output").text
    finally:
        dash.stop()
