"""The dashboard lets no one in who should not be: a request naming another host (DNS
rebinding) is refused, a loopback dashboard still needs the secret of its launch URL, controls
need the dashboard's own origin, and its log viewer shows only regular files under the output
directory, without ever blocking. Raw HTTP against a real ``torc dash`` process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Coordinator, free_port, start_worker, wait_for


class Dash:
    """A ``torc dash`` process, and the launch URL it printed."""

    def __init__(self, url: str, out: Path | None, host: str = "127.0.0.1") -> None:
        """``out``: the output directory it is told (None: where each worker said)."""
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        told = ["--output-dir", str(out)] if out is not None else []
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "torc.client.cli", "--url", url, "dash", "--host", host,
             "--port", str(self.port), *told],
            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("torc dash: "), line
        self.launch = line.split()[2]
        self.token = self.launch.split("?token=", 1)[1]
        wait_for(lambda: request(self.base + "/login")[0] != 0, timeout=60)

    def open(self, browser: Any, path: str) -> None:
        """Open ``path`` in a browser, logged in through the launch secret."""
        browser.get(f"{self.base}{path}?token={self.token}")

    def stop(self) -> int:
        self.proc.send_signal(signal.SIGTERM)
        return self.proc.wait(timeout=30)


def request(url: str, method: str = "GET", headers: dict[str, str] | None = None,
            data: bytes | None = None, timeout: float = 30) -> tuple[int, str, dict[str, str]]:
    """(status, body, headers) without following redirects; status 0 when nothing answers."""
    class NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args: Any) -> None:
            return None

    opener = urllib.request.build_opener(NoRedirect)
    req = urllib.request.Request(url, method=method, headers=headers or {}, data=data)
    try:
        with opener.open(req, timeout=timeout) as r:
            return r.status, r.read().decode(), {k.lower(): v for k, v in r.headers.items()}
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), {k.lower(): v for k, v in e.headers.items()}
    except (urllib.error.URLError, ConnectionError):
        return 0, "", {}


def session_of(dash: Dash) -> dict[str, str]:
    """Log in through the launch URL, as a browser opening it does."""
    status, _, headers = request(dash.launch)
    assert status == 303, status
    cookie = headers["set-cookie"]
    assert "httponly" in cookie.lower()
    assert "token=" not in headers["location"], "the secret must leave the address bar"
    return {"Cookie": cookie.split(";", 1)[0]}


@pytest.fixture
def dash(coordinator: Coordinator, tmp_path: Path) -> Any:
    d = Dash(coordinator.url, tmp_path / "out")
    yield d
    if d.proc.poll() is None:
        d.stop()


def test_a_rebound_host_gets_nothing_and_changes_nothing(coordinator: Coordinator,
                                                         dash: Dash) -> None:
    c = coordinator.client
    wf = c.create_workflow({"name": "secret-work", "jobs": [
        {"name": "a", "command": "echo the-secret-command"}]})
    c.initialize(wf)
    evil = {"Host": f"attacker.example:{dash.port}"}
    status, body, _ = request(dash.base + "/api/workflows", headers=evil)
    assert status in (400, 401, 403) and "secret-work" not in body, (status, body)
    status, body, _ = request(f"{dash.base}/workflows/{wf}", headers=evil)
    assert 'name="csrf"' not in body, "the CSRF token was handed to another site"
    status, body, _ = request(f"{dash.base}/api/workflows/{wf}/cancel", "POST",
                              headers={**evil, "Origin": f"http://attacker.example:{dash.port}"})
    assert status in (400, 401, 403)
    assert not c.get_workflow(wf).canceled
    # Even with the dashboard's session, a page served under another name is refused.
    status, body, _ = request(dash.base + "/api/workflows",
                              headers={**session_of(dash), **evil})
    assert status == 400 and "secret-work" not in body


def test_on_loopback_the_launch_secret_is_needed(coordinator: Coordinator, dash: Dash) -> None:
    c = coordinator.client
    wf = c.create_workflow({"name": "mine", "jobs": [{"name": "a", "command": "true"}]})
    assert request(dash.base + "/api/workflows")[0] == 401
    status, _, headers = request(f"{dash.base}/workflows/{wf}")
    assert status == 303 and headers["location"].startswith("/login")
    parsed = urllib.parse.urlsplit(dash.launch)
    assert parsed.hostname == "127.0.0.1" and "token=" in parsed.query
    assert request(f"{dash.base}/?token=wrong")[0] in (303, 403)
    assert request(dash.base + "/api/workflows",
                   headers={"Cookie": "torc_dash_session=guess"})[0] == 401
    session = session_of(dash)
    status, body, _ = request(dash.base + "/api/workflows", headers=session)
    assert status == 200 and "mine" in body
    # The user's own torc token also logs in (as beyond loopback).
    token = Path(os.environ["TORC_TOKEN_FILE"]).read_text().strip()
    status, _, headers = request(dash.base + "/login", "POST", data=f"token={token}".encode())
    assert status == 303 and "set-cookie" in headers


def test_controls_need_the_dashboard_s_own_origin_not_one_matching_the_host(
        coordinator: Coordinator, dash: Dash) -> None:
    c = coordinator.client
    wf = c.create_workflow({"name": "w", "jobs": [{"name": "a", "command": "true"}]})
    session = session_of(dash)
    status, page, _ = request(f"{dash.base}/workflows/{wf}", headers=session)
    csrf = page.split('name="csrf" content="', 1)[1].split('"', 1)[0]
    control = f"{dash.base}/api/workflows/{wf}/initialize"
    other_port = f"http://127.0.0.1:{dash.port + 1}"
    assert request(control, "POST", headers={**session, "X-Torc-CSRF": csrf,
                                             "Origin": other_port})[0] == 403
    assert not c.get_workflow(wf).initialized
    status, _, _ = request(control, "POST", headers={**session, "X-Torc-CSRF": csrf,
                                                     "Origin": dash.base})
    assert status == 200 and c.get_workflow(wf).initialized


def _job_log_api(dash: Dash, session: dict[str, str], wf: int, job: int,
                 timeout: float = 30) -> tuple[int, str]:
    status, body, _ = request(f"{dash.base}/api/workflows/{wf}/jobs/{job}", headers=session,
                              timeout=timeout)
    return status, body


def test_the_log_viewer_shows_only_regular_files_under_the_output_dir(
        coordinator: Coordinator, dash: Dash, tmp_path: Path) -> None:
    c, out = coordinator.client, tmp_path / "out"
    outside = tmp_path / "private.txt"
    outside.write_text("TOP-SECRET-OUTSIDE")
    # The job replaces its own stdout file with a link to a file outside the output dir.
    wf = c.create_workflow({"name": "sly", "jobs": [{
        "name": "a", "command": f"f=$(readlink /proc/$$/fd/1); rm -f \"$f\"; "
                                f"ln -s {outside} \"$f\""}]})
    c.initialize(wf)
    assert start_worker(coordinator.url, wf, out).wait(timeout=120) == 0
    session = session_of(dash)
    job = c.list_jobs(wf)[0].id
    status, body = _job_log_api(dash, session, wf, job)
    assert status == 200, body
    assert "TOP-SECRET-OUTSIDE" not in body
    assert "not a regular file" in body


def test_a_fifo_in_place_of_a_log_neither_hangs_the_dashboard_nor_its_stop(
        coordinator: Coordinator, dash: Dash, tmp_path: Path) -> None:
    c, out = coordinator.client, tmp_path / "out"
    wf = c.create_workflow({"name": "fifo", "jobs": [{
        "name": "a", "command": "f=$(readlink /proc/$$/fd/1); rm -f \"$f\"; mkfifo \"$f\""}]})
    c.initialize(wf)
    assert start_worker(coordinator.url, wf, out).wait(timeout=120) == 0
    session = session_of(dash)
    job = c.list_jobs(wf)[0].id
    status, body = _job_log_api(dash, session, wf, job, timeout=60)
    assert status == 200 and "not a regular file" in body, (status, body)
    assert request(dash.base + "/api/workflows", headers=session)[0] == 200
    assert dash.stop() in (0, -signal.SIGTERM)


def test_bad_query_values_are_refused_not_a_server_error(coordinator: Coordinator,
                                                          dash: Dash) -> None:
    c = coordinator.client
    wf = c.create_workflow({"name": "w", "jobs": [{"name": f"j{i}", "command": "true"}
                                                  for i in range(600)]})
    session = session_of(dash)
    api = f"{dash.base}/api/workflows/{wf}/jobs"
    for query in ("limit=abc", "offset=x", "limit=-1", "offset=-5", "limit=1e9"):
        status, body, _ = request(f"{api}?{query}", headers=session)
        assert status == 400 and query.split("=")[0] in body, (query, status, body)
    status, body, _ = request(f"{api}?limit=100000", headers=session)  # capped, not refused
    assert status == 200 and len(__import__("json").loads(body)["jobs"]) == 500
    for path in (f"/api/workflows/{2**70}", f"/api/workflows/{2**70}/jobs",
                 f"/api/workflows/{wf}/jobs/{2**70}"):
        status, body, _ = request(dash.base + path, headers=session)
        assert status in (400, 404), (path, status, body)
