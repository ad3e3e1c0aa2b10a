"""Where jobs run, as Torc's do: in the directory the worker (or ``torc run``) was started
from, with their logs under ``--output-dir``, default ``output``; ``run_commands`` actions
in the output directory (the actions contract). Relative file paths mean the same for
``initialize``, the jobs and ``reinitialize``."""

from __future__ import annotations

import json
import socket
from pathlib import Path

from tests.conftest import Coordinator, run_cli, write_spec

STEP = """#!/bin/bash
# step.sh -i IN... -o OUT...: every output gets the inputs' words
ins=(); outs=()
while [ $# -gt 0 ]; do
  case "$1" in -i) ins+=("$2"); shift 2;; -o) outs+=("$2"); shift 2;; *) exit 9;; esac
done
for o in "${outs[@]}"; do cat "${ins[@]}" > "$o"; echo "$o" >> "$o"; done
"""


def _diamond(directory: Path) -> Path:
    """Torc's examples/yaml/diamond_workflow.yaml in shape: relative paths everywhere."""
    (directory / "scripts").mkdir()
    (directory / "scripts" / "step.sh").write_text(STEP)
    (directory / "f1.json").write_text('{"start": 1}\n')
    files = [{"name": f"f{i}", "path": f"f{i}.json"} for i in range(1, 7)]
    return write_spec(directory, {"name": "diamond_workflow", "files": files, "jobs": [
        {"name": "preprocess", "command": "bash scripts/step.sh -i ${files.input.f1} "
                                          "-o ${files.output.f2} -o ${files.output.f3}"},
        {"name": "work1", "command": "bash scripts/step.sh -i ${files.input.f2} "
                                     "-o ${files.output.f4}"},
        {"name": "work2", "command": "bash scripts/step.sh -i ${files.input.f3} "
                                     "-o ${files.output.f5}"},
        {"name": "postprocess", "command": "bash scripts/step.sh -i ${files.input.f4} "
                                           "-i ${files.input.f5} -o ${files.output.f6}"}]},
        "diamond.yaml")


def test_torc_run_of_a_spec_with_relative_paths_from_its_directory(tmp_path: Path) -> None:
    _diamond(tmp_path)
    r = run_cli("-f", "json", "run", "diamond.yaml", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    # The jobs wrote beside the spec, where the user is; nothing of theirs in output/.
    assert "f2.json" in (tmp_path / "f6.json").read_text()
    assert not list((tmp_path / "output").glob("f*.json"))
    # Logs under output/, named as Torc names them.
    wf = json.loads(r.stdout)["id"]
    stdio = tmp_path / "output" / "job_stdio"
    assert (stdio / f"job_wf{wf}_j1_r1_a1.o").exists()
    host = socket.gethostname()
    assert (tmp_path / "output" / f"job_runner_{host}_wf{wf}_r1.log").exists()
    assert not (tmp_path / "torc_output").exists()


def test_initialize_checks_inputs_where_the_jobs_will_run(coordinator: Coordinator,
                                                          tmp_path: Path) -> None:
    _diamond(tmp_path)
    url = coordinator.url
    created = json.loads(run_cli("-f", "json", "workflows", "create", "diamond.yaml",
                                 url=url, cwd=tmp_path, check=True).stdout)
    wf = created["workflow_id"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_cli("workflows", "initialize", str(wf), url=url, cwd=elsewhere)
    assert r.returncode != 0 and "f1.json" in r.stderr, r.stderr
    run_cli("workflows", "initialize", str(wf), url=url, cwd=tmp_path, check=True)
    r = run_cli("workflows", "run", str(wf), url=url, cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "f6.json").exists()
    assert (tmp_path / "output" / "job_stdio").is_dir()


def test_initialize_force_ignores_missing_inputs(coordinator: Coordinator,
                                                 tmp_path: Path) -> None:
    _diamond(tmp_path)
    (tmp_path / "f1.json").unlink()
    url = coordinator.url
    wf = json.loads(run_cli("-f", "json", "workflows", "create", "diamond.yaml", url=url,
                            cwd=tmp_path, check=True).stdout)["workflow_id"]
    r = run_cli("workflows", "initialize", str(wf), url=url, cwd=tmp_path)
    assert r.returncode != 0 and "f1.json" in r.stderr, r.stderr
    run_cli("workflows", "initialize", str(wf), "--force", url=url, cwd=tmp_path, check=True)
    assert coordinator.client.get_workflow(wf).initialized


def test_run_commands_actions_run_in_the_output_directory(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"name": "acts", "jobs": [
        {"name": "a", "command": "pwd > where_job.txt"}], "actions": [
        {"trigger_type": "on_workflow_complete", "action_type": "run_commands",
         "commands": ["pwd > where_action.txt"]}]})
    out = tmp_path / "logs"
    r = run_cli("run", spec.name, "-o", "logs", cwd=tmp_path)
    assert r.returncode == 0, r.stdout + r.stderr
    assert Path((tmp_path / "where_job.txt").read_text().strip()) == tmp_path
    assert Path((out / "where_action.txt").read_text().strip()) == out


def test_a_finished_run_is_read_without_a_url(tmp_path: Path) -> None:
    """After ``torc run`` (its embedded coordinator), the read verbs find that run's data in
    ``output/coordinator`` when no coordinator is named and none listens by default."""
    write_spec(tmp_path, {"name": "done", "jobs": [
        {"name": "ok", "command": "echo fine"}, {"name": "bad", "command": "exit 4"}]},
        "w.yaml")
    assert run_cli("run", "w.yaml", cwd=tmp_path).returncode == 1
    r = run_cli("-f", "json", "results", "list", cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    codes = {row["job_name"]: row["return_code"] for row in json.loads(r.stdout)["results"]}
    assert codes == {"ok": 0, "bad": 4}
    assert "output/coordinator" in r.stderr  # it says where it read from
    r = run_cli("-f", "json", "workflows", "status", cwd=tmp_path)
    assert json.loads(r.stdout)["job_counts"]["failed"] == 1
    # Elsewhere there is nothing to read: the usual error.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    r = run_cli("results", "list", cwd=elsewhere)
    assert r.returncode == 1 and "cannot reach" in r.stderr


def test_reports_and_logs_find_the_files_where_each_worker_wrote(
        coordinator: Coordinator, tmp_path: Path) -> None:
    """A workflow's workers may write under any ``--output-dir`` (one per allocation, say):
    each records its own, so ``reports results``, ``jobs logs`` and the dashboard point at
    files that exist without being told where, from any directory."""
    from tests.conftest import cli_json, start_worker
    url, c = coordinator.url, coordinator.client
    wf = c.create_workflow({"name": "elsewhere", "jobs": [
        {"name": "say", "command": "echo said here"}]})
    c.initialize(wf)
    logs = tmp_path / "scratch" / "logs"
    assert start_worker(url, wf, logs, cwd=tmp_path).wait(timeout=120) == 0
    other = tmp_path / "other"
    other.mkdir()
    rows = cli_json("reports", "results", str(wf), url=url)["results"]
    assert Path(rows[0]["stdout"]).parent == logs / "job_stdio"
    assert Path(rows[0]["stdout"]).read_text() == "said here\n"
    out = run_cli("jobs", "logs", "1", url=url, cwd=other, check=True)
    assert out.stdout == "said here\n"
    assert c.list_workers(wf)[0].output_dir == str(logs.resolve())
    # Told where, they look there (the files were moved, say).
    moved = tmp_path / "moved"
    logs.rename(moved)
    out = run_cli("jobs", "logs", "1", "-o", str(moved), url=url, cwd=other, check=True)
    assert out.stdout == "said here\n"


def test_a_second_coordinator_does_not_write_into_anothers_output_directory(
        coordinator: Coordinator, make_coordinator, tmp_path: Path) -> None:
    """Both coordinators have a workflow 1 with a job 1: their workers would write
    job_wf1_j1_r1_a1.o over each other's. The second one's worker refuses, saying what to do,
    runs nothing, and the first one's files are as they were."""
    from tests.conftest import start_worker
    other = make_coordinator()
    out = tmp_path / "out"
    for coord, word in ((coordinator, "first"), (other, "second")):
        wf = coord.client.create_workflow({"name": word, "jobs": [
            {"name": "say", "command": f"echo {word}"}]})
        coord.client.initialize(wf)
    assert start_worker(coordinator.url, 1, out, cwd=tmp_path).wait(timeout=120) == 0
    stdout = out / "job_stdio" / "job_wf1_j1_r1_a1.o"
    assert stdout.read_text() == "first\n"
    refused = start_worker(other.url, 1, out, cwd=tmp_path, log_name="second.log")
    assert refused.wait(timeout=120) == 1
    log = (out / "second.log").read_text()
    assert "holds the job logs of another coordinator" in log and "--output-dir" in log
    assert stdout.read_text() == "first\n"
    assert [w.active for w in other.client.list_workers(1)] == [False]  # it unregistered
    assert other.client.list_jobs(1)[0].status == 3  # still ready: nothing ran
    elsewhere = tmp_path / "out2"
    assert start_worker(other.url, 1, elsewhere, cwd=tmp_path).wait(timeout=120) == 0
    assert (elsewhere / "job_stdio" / "job_wf1_j1_r1_a1.o").read_text() == "second\n"
