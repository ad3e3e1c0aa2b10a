"""Workflow ids left out, as Torc allows (``torc results list``): the only workflow is taken;
with several, a terminal gets a picker and a script an error listing the candidates."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

from tests.conftest import Coordinator, run_cli

CLI = [sys.executable, "-m", "torc.client.cli"]


def _workflow(coordinator: Coordinator, name: str) -> int:
    return coordinator.client.create_workflow(
        {"name": name, "jobs": [{"name": "a", "command": "true"}]})


def test_the_only_workflow_is_taken_when_the_id_is_left_out(coordinator: Coordinator) -> None:
    url = coordinator.url
    wf = _workflow(coordinator, "only")
    run_cli("workflows", "initialize", url=url, check=True)
    assert coordinator.client.get_workflow(wf).initialized
    r = run_cli("-f", "json", "workflows", "status", url=url, check=True)
    assert json.loads(r.stdout)["workflow_id"] == wf
    assert json.loads(run_cli("-f", "json", "jobs", "list", url=url,
                              check=True).stdout)["jobs"][0]["name"] == "a"


def test_several_workflows_without_a_terminal_list_the_candidates(
        coordinator: Coordinator) -> None:
    first, second = _workflow(coordinator, "first"), _workflow(coordinator, "second")
    r = run_cli("workflows", "status", url=coordinator.url)
    assert r.returncode == 1
    assert f"{first} (first)" in r.stderr and f"{second} (second)" in r.stderr
    assert "give its id" in r.stderr


def test_several_workflows_on_a_terminal_get_a_picker(coordinator: Coordinator) -> None:
    _workflow(coordinator, "first")
    second = _workflow(coordinator, "second")
    controller, terminal = pty.openpty()
    proc = subprocess.Popen([*CLI, "--url", coordinator.url, "-f", "json", "workflows",
                             "get"], stdin=terminal, stdout=terminal, stderr=terminal)
    os.close(terminal)
    seen = b""
    while b"which workflow?" not in seen:
        chunk = os.read(controller, 4096)
        assert chunk, seen
        seen += chunk
    assert b"second" in seen
    os.write(controller, b"2\n")
    while True:
        try:
            chunk = os.read(controller, 4096)
        except OSError:  # the terminal closed: the command ended
            break
        if not chunk:
            break
        seen += chunk
    assert proc.wait(timeout=60) == 0
    body = seen[seen.index(b"{"):].decode()
    assert json.loads(body[:body.rindex("}") + 1])["id"] == second
    os.close(controller)
