"""Workflow ids left out, as Torc allows (``torc results list``): the only workflow is taken;
with several, a terminal gets a picker and a script an error listing the candidates."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys

from tests.conftest import Coordinator, cli_json, cli_rows, run_cli, start_worker

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


def _pair(name: str) -> dict:
    """Two jobs, a file between them and a user data entry the second reads."""
    return {"name": name,
            "files": [{"name": "mid", "path": f"{name}-mid.txt"}],
            "user_data": [{"name": "cfg", "data": {"who": name}}],
            "jobs": [{"name": "make", "command": f"echo $TORC_JOB_ID > {name}-mid.txt",
                      "output_files": ["mid"]},
                     {"name": "use", "command": "echo job $TORC_JOB_ID; cat "
                      f"{name}-mid.txt; {sys.executable} -m torc.client.cli -f json "
                      "user-data get ${user_data.input.cfg} > " f"{name}-cfg.json",
                      "input_files": ["mid"]}]}


def test_job_file_user_data_and_result_ids_are_global_as_torc_s(
        coordinator: Coordinator, tmp_path) -> None:
    """As in Torc, ``torc jobs get 3`` names one job whatever the workflow: the second
    workflow's jobs, files, user data and results are numbered after the first's, the
    numbers hold across a SIGKILL, and a deleted workflow's numbers are never given again."""
    url, c = coordinator.url, coordinator.client
    first, second = c.create_workflow(_pair("one")), c.create_workflow(_pair("two"))
    jobs = cli_rows("jobs", "list", str(second), url=url)
    assert [(j["id"], j["name"]) for j in jobs] == [(3, "make"), (4, "use")]
    assert jobs[1]["depends_on_job_ids"] == [3] and jobs[1]["input_file_ids"] == [2]
    assert jobs[1]["input_user_data_ids"] == [2]

    # The workflow is left out: the id alone says which.
    got = cli_json("jobs", "get", "3", url=url)
    assert (got["workflow_id"], got["name"]) == (second, "make")
    assert cli_json("user-data", "get", "2", url=url)["data"] == {"who": "two"}
    assert cli_json("files", "get", "2", url=url)["path"] == "two-mid.txt"
    assert cli_json("files", "get", "1", url=url)["path"] == "one-mid.txt"
    wrong = run_cli("jobs", "get", "99", url=url)
    assert wrong.returncode == 1 and "job 99 does not exist" in wrong.stderr

    # Run the second workflow: its jobs see their global ids, as do its results.
    run_cli("workflows", "initialize", str(second), url=url, check=True)
    out = tmp_path / "output"
    worker = start_worker(url, second, out, cwd=tmp_path)
    assert worker.wait(timeout=120) == 0
    assert (tmp_path / "two-mid.txt").read_text().strip() == "3"
    # ${user_data.input.cfg} became the entry's global id, which the job read.
    assert json.loads((tmp_path / "two-cfg.json").read_text())["data"] == {"who": "two"}
    assert "user-data get 2 >" in cli_json("jobs", "get", "4", url=url)["command"]
    results = cli_rows("results", "list", str(second), url=url)
    assert sorted(r["job_id"] for r in results) == [3, 4]
    assert sorted(r["id"] for r in results) == [1, 2]
    by_id = cli_json("results", "get", str(results[0]["id"]), url=url)
    assert (by_id["job_id"], by_id["workflow_id"]) == (results[0]["job_id"], second)
    logs = run_cli("jobs", "logs", "4", url=url, cwd=tmp_path, check=True)
    assert "job 4" in logs.stdout
    assert c.get_workflow(first).initialized is False  # the first one was not touched

    # The numbers hold across a SIGKILL (snapshot or log, whichever holds them).
    coordinator.restart(kill=True)
    assert cli_json("jobs", "get", "4", url=url)["name"] == "use"
    assert cli_json("results", "get", "2", url=url)["workflow_id"] == second

    # A deleted workflow's numbers are not given again.
    run_cli("workflows", "delete", str(first), "--no-prompts", url=url, check=True)
    third = c.create_workflow(_pair("three"))
    assert [j["id"] for j in cli_rows("jobs", "list", str(third), url=url)] == [5, 6]
    gone = run_cli("jobs", "get", "1", url=url)
    assert gone.returncode == 1 and "job 1 does not exist" in gone.stderr
