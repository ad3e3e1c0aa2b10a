"""A run that did not end well says why: each job that did not complete with the reason and
the last lines of its stderr, the workflow actions that failed, and an exit code of 1."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Coordinator, run_cli, start_worker, write_spec

SPEC = {"name": "explain", "jobs": [
    {"name": "reads_missing", "command": "cat no_such_input.txt"},
    {"name": "after", "command": "true", "depends_on": ["reads_missing"]},
    {"name": "fine", "command": "true"}]}


def test_torc_run_says_why_each_job_did_not_complete(tmp_path: Path) -> None:
    write_spec(tmp_path, SPEC, "w.yaml")
    r = run_cli("run", "w.yaml", cwd=tmp_path)
    assert r.returncode == 1
    assert "No such file or directory" in r.stdout  # reads_missing's stderr, shown
    assert "canceled: a job it depends on did not complete" in r.stdout
    r = run_cli("-f", "json", "run", "1", cwd=tmp_path)  # the same run again, as JSON
    by = {j["name"]: j for j in json.loads(r.stdout)["failed_jobs"]}
    assert "no_such_input.txt" in by["reads_missing"]["stderr"]
    assert by["reads_missing"]["why"] == "exited 1" and by["reads_missing"]["return_code"] == 1
    assert set(by) == {"reads_missing", "after"}


def test_a_failed_action_fails_the_run(tmp_path: Path) -> None:
    write_spec(tmp_path, {"name": "act", "jobs": [{"name": "a", "command": "true"}],
                          "actions": [{"trigger_type": "on_workflow_complete",
                                       "action_type": "run_commands",
                                       "commands": ["echo before", "exit 3"]}]}, "w.yaml")
    r = run_cli("-f", "json", "run", "w.yaml", cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    out = json.loads(r.stdout)
    assert out["job_counts"]["completed"] == 1 and out["failed_jobs"] == []
    (action,) = out["failed_actions"]
    assert action["trigger_type"] == "on_workflow_complete" and "exited 3" in action["message"]


def test_jobs_logs_shows_a_job_s_output(tmp_path: Path) -> None:
    write_spec(tmp_path, {"name": "logs", "jobs": [
        {"name": "talk", "command": "echo one; echo two; echo oops >&2; exit 5"}]}, "w.yaml")
    assert run_cli("run", "w.yaml", cwd=tmp_path).returncode == 1
    r = run_cli("jobs", "logs", "1", cwd=tmp_path)  # the only workflow, job 1
    assert r.returncode == 0 and r.stdout == "one\ntwo\n", r.stderr
    assert run_cli("jobs", "logs", "1", "--stderr", cwd=tmp_path).stdout == "oops\n"
    assert run_cli("jobs", "logs", "1", "--tail", "1", cwd=tmp_path).stdout == "two\n"
    r = run_cli("jobs", "logs", "1", "--attempt-id", "7", cwd=tmp_path)
    assert r.returncode == 1 and "no such attempt" in r.stderr


def test_torc_watch_ends_saying_why_as_torc_run_does(coordinator: Coordinator,
                                                     tmp_path: Path) -> None:
    """Watching a workflow that workers run elsewhere (into a log: no terminal), the end says
    which jobs did not complete and why, with their stderr, found where the worker wrote."""
    c = coordinator.client
    wf = c.create_workflow(SPEC)
    c.initialize(wf)
    assert start_worker(coordinator.url, wf, tmp_path / "elsewhere",
                        cwd=tmp_path).wait(timeout=120) == 0
    r = run_cli("watch", str(wf), url=coordinator.url, cwd=tmp_path / "elsewhere")
    assert r.returncode == 1, r.stdout + r.stderr
    assert "jobs that did not complete" in r.stdout
    assert "No such file or directory" in r.stdout  # reads_missing's stderr
    assert "canceled: a job it depends on did not complete" in r.stdout
