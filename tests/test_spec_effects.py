"""Each Torc spec key has its effect, seen through real workers and the CLI: required inputs
at initialize, declared outputs after a job exits, reinitialize by file time, command and user
data, job updates, stdio modes, claim order, and the compute_node_* worker settings."""

from __future__ import annotations

import os
import time
from pathlib import Path

from tests.conftest import (
    Coordinator,
    cli_json,
    cli_rows,
    job_states,
    run_cli,
    start_worker,
    write_spec,
)


def test_initialize_names_each_missing_input_and_changes_nothing(coordinator: Coordinator,
                                                                 tmp_path: Path) -> None:
    url, out = coordinator.url, tmp_path  # jobs run here, where the test is
    spec = write_spec(tmp_path, {
        "name": "inputs",
        "files": [{"name": "raw", "path": "in/raw.csv"}, {"name": "made", "path": "made.txt"}],
        "user_data": [{"name": "cfg"}, {"name": "given", "data": {"k": 1}}],
        "jobs": [{"name": "make", "command": "cat in/raw.csv > made.txt",
                  "input_files": ["raw"], "output_files": ["made"],
                  "input_user_data": ["cfg", "given"]},
                 {"name": "use", "command": "cat made.txt", "input_files": ["made"]}]})
    wf_id = cli_json("workflows", "create", str(spec), url=url)["id"]
    r = run_cli("workflows", "initialize", str(wf_id), url=url)
    assert r.returncode == 1
    # Both problems at once; made.txt is written by a job, so it is not required.
    assert "input file 'raw' (in/raw.csv) does not exist" in r.stderr
    assert "input user data 'cfg'" in r.stderr and "made" not in r.stderr
    assert not coordinator.client.get_workflow(wf_id).initialized
    (out / "in").mkdir(parents=True)
    (out / "in" / "raw.csv").write_text("1,2\n")
    run_cli("user-data", "update", "1", "--workflow-id", str(wf_id), "--data", '{"x": 2}',
            url=url, check=True)
    files = {f["name"]: f for f in cli_rows("files", "list", str(wf_id), url=url)}
    assert files["raw"]["required"] and not files["made"]["required"]
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 0


def test_a_job_that_exits_0_without_its_output_fails_saying_so(coordinator: Coordinator,
                                                                tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({
        "name": "outputs", "files": [{"name": "res", "path": "res.txt"}],
        "jobs": [{"name": "lazy", "command": "true", "output_files": ["res"]},
                 {"name": "after", "command": "cat res.txt", "input_files": ["res"]}]})
    r = run_cli("run", str(wf_id), "--output-dir", str(tmp_path / "out"), url=url)
    assert r.returncode == 1
    assert job_states(coordinator.client, wf_id) == {"lazy": "failed", "after": "canceled"}
    (res,) = cli_rows("results", "list", str(wf_id), url=url)
    assert res["return_code"] == 0 and res["status"] == "failed"
    assert "did not write its output file(s) 'res' (res.txt)" in res["message"]


def test_reinitialize_reruns_what_changed_and_what_depends_on_it(coordinator: Coordinator,
                                                                 tmp_path: Path) -> None:
    url, out = coordinator.url, tmp_path  # jobs run here, where the test is
    (out / "a.in").write_text("a\n")
    (out / "b.in").write_text("b\n")
    wf_id = coordinator.client.create_workflow({
        "name": "changes",
        "files": [{"name": n, "path": p} for n, p in (("a_in", "a.in"), ("b_in", "b.in"),
                                                      ("a_out", "a.out"), ("b_out", "b.out"))],
        "user_data": [{"name": "knob", "data": 1}],
        "jobs": [
            {"name": "a", "command": "cat a.in >> runs; cp a.in a.out", "input_files": ["a_in"],
             "output_files": ["a_out"]},
            {"name": "a_next", "command": "echo a_next >> runs", "input_files": ["a_out"]},
            {"name": "b", "command": "cat b.in >> runs; cp b.in b.out", "input_files": ["b_in"],
             "output_files": ["b_out"]},
            {"name": "c", "command": "echo c >> runs", "input_user_data": ["knob"]}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 0
    runs = (out / "runs").read_text().split()
    assert sorted(runs) == ["a", "a_next", "b", "c"]

    # Nothing changed: nothing would run again.
    assert cli_json("workflows", "reinitialize", str(wf_id), "--dry-run", url=url) == []
    # An input file changes (a newer mtime), user data changes, an output disappears.
    later = time.time() + 5
    os.utime(out / "a.in", (later, later))
    run_cli("user-data", "update", "1", "--workflow-id", str(wf_id), "--data", "2", url=url,
            check=True)
    plan = {r["job_id"]: r["reason"] for r in cli_json(
        "workflows", "reinitialize", str(wf_id), "--dry-run", url=url)}
    assert plan == {1: "input file 'a_in' changed",
                    4: "its command or input user data changed"}
    (out / "b.out").unlink()
    cli_json("workflows", "reinitialize", str(wf_id), url=url)
    states = job_states(coordinator.client, wf_id)
    assert states == {"a": "ready", "a_next": "blocked", "b": "ready", "c": "ready"}
    (out / "runs").unlink()
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 0
    assert sorted((out / "runs").read_text().split()) == ["a", "a_next", "b", "c"]

    # A changed command reruns the job (and only it) at the next reinitialize.
    cli_json("jobs", "update", str(wf_id), "3", "--command", "echo b2 >> runs; cp b.in b.out",
             url=url)
    cli_json("workflows", "reinitialize", str(wf_id), url=url)
    assert job_states(coordinator.client, wf_id)["b"] == "ready"
    assert sum(s == "ready" for s in job_states(coordinator.client, wf_id).values()) == 1


def test_jobs_update_changes_what_a_job_needs_but_not_while_it_runs(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url, c = coordinator.url, coordinator.client
    wf_id = c.create_workflow({
        "name": "update", "resource_requirements": [{"name": "big", "num_cpus": 64}],
        "jobs": [{"name": "huge", "command": "nproc > cpus", "resource_requirements": "big"},
                 {"name": "slow", "command": "sleep 60", "supports_termination": True}]})
    c.initialize(wf_id)
    worker = start_worker(url, wf_id, tmp_path / "out", "--num-cpus", "2")
    try:
        from tests.conftest import wait_for
        wait_for(lambda: job_states(c, wf_id)["slow"] == "running")
        r = run_cli("jobs", "update", str(wf_id), "2", "--priority", "5", url=url)
        assert r.returncode == 1 and "job 2 (slow) is running" in r.stderr
        # The 64-CPU job cannot start on 2 CPUs; updated to 1 CPU, it runs.
        (job,) = cli_json("jobs", "update", str(wf_id), "1", "--num-cpus", "1", "--memory",
                          "10m", "--runtime", "PT5M", url=url)
        assert job["resource_requirements"] == "huge (updated)"
        wait_for(lambda: job_states(c, wf_id)["huge"] == "completed")
    finally:
        c.cancel(wf_id)
        worker.wait(timeout=60)
    r = run_cli("jobs", "update", str(wf_id), "1", "--resource-requirements", "nope", url=url)
    assert r.returncode == 1 and "has no resource requirements named 'nope'" in r.stderr


def test_stdio_modes_and_delete_on_success(tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {
        "name": "stdio",
        "execution_config": {"stdio": {"mode": "combined", "delete_on_success": True}},
        "jobs": [{"name": "ok", "command": "echo out; echo err >&2"},
                 {"name": "bad", "command": "echo out; echo err >&2; exit 3"},
                 {"name": "quiet", "command": "echo out; echo err >&2",
                  "stdio": {"mode": "none"}},
                 {"name": "split", "command": "echo out; echo err >&2",
                  "stdio": {"mode": "no_stderr", "delete_on_success": False}}]})
    out = tmp_path / "out"
    assert run_cli("run", str(spec), "--output-dir", str(out)).returncode == 1
    files = sorted(p.name for p in (out / "job_stdio").iterdir())
    # ok: deleted on success; bad: kept, both streams in .o; quiet: nothing; split: .o only.
    assert files == ["job_wf1_j2_r1_a1.o", "job_wf1_j4_r1_a1.o"], files
    assert (out / "job_stdio" / "job_wf1_j2_r1_a1.o").read_text().split() == ["out", "err"]


def test_jobs_sort_method_starts_the_biggest_first(coordinator: Coordinator,
                                                   tmp_path: Path) -> None:
    c = coordinator.client
    rrs = [{"name": f"r{m}", "num_cpus": 1, "memory": f"{m}m", "runtime": f"PT{m}M"}
           for m in (1, 3, 2)]
    wf_id = c.create_workflow({
        "name": "sorted", "jobs_sort_method": "gpus_runtime_memory",
        "resource_requirements": rrs,
        "jobs": [{"name": f"j{m}", "command": "true", "resource_requirements": f"r{m}"}
                 for m in (1, 3, 2)]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--max-parallel-jobs", "1")
    assert worker.wait(timeout=60) == 0
    order = [r.job_name for r in sorted(c.list_results(wf_id), key=lambda r: r.start_time)]
    assert order == ["j3", "j2", "j1"]


def test_a_worker_leaves_after_the_workflows_idle_wait_when_nothing_left_fits(
        coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({
        "name": "idle", "compute_node_wait_for_new_jobs_seconds": 1,
        "resource_requirements": [{"name": "huge", "num_cpus": 64}],
        "jobs": [{"name": "small", "command": "true"},
                 {"name": "too_big", "command": "true", "resource_requirements": "huge"}]})
    c.initialize(wf_id)
    out = tmp_path / "out"
    worker = start_worker(coordinator.url, wf_id, out, "--num-cpus", "2", log_name="w.log")
    assert worker.wait(timeout=60) == 0
    assert job_states(c, wf_id) == {"small": "completed", "too_big": "ready"}
    assert "idle for 1s with no job left that fits" in (out / "w.log").read_text()


def test_ignore_workflow_completion_keeps_the_worker_until_idle(coordinator: Coordinator,
                                                                tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({
        "name": "hold", "compute_node_ignore_workflow_completion": True,
        "compute_node_wait_for_new_jobs_seconds": 1,
        "jobs": [{"name": "a", "command": "true"}]})
    c.initialize(wf_id)
    out = tmp_path / "out"
    worker = start_worker(coordinator.url, wf_id, out, log_name="w.log")
    assert worker.wait(timeout=60) == 0
    log = (out / "w.log").read_text()
    assert "exits: idle for 1s" in log and "exits: workflow done" not in log


def test_an_on_workflow_start_action_with_jobs_fires_only_when_they_run(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url, out = coordinator.url, tmp_path / "out"
    wf_id = coordinator.client.create_workflow({
        "name": "start_jobs",
        "jobs": [{"name": "prep", "command": "true"}, {"name": "other", "command": "true"}],
        # Torc's subgraph examples name the jobs a start action (an allocation) is for.
        "actions": [{"trigger_type": "on_workflow_start", "action_type": "run_commands",
                     "jobs": ["prep"], "commands": ["echo for-prep >> starts"]}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 0
    assert (out / "starts").read_text().split() == ["for-prep"]
    # Rerun only `other`: prep stays completed, so its start action does not fire again.
    cli_json("jobs", "reset-status", str(wf_id), "--job-ids", "2", "--reinitialize", url=url)
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 0
    assert (out / "starts").read_text().split() == ["for-prep"]
    cli_json("jobs", "reset-status", str(wf_id), "--job-ids", "1", "--reinitialize", url=url)
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 0
    assert (out / "starts").read_text().split() == ["for-prep", "for-prep"]


def test_wait_for_healthy_database_minutes_bounds_how_long_workers_wait(
        coordinator: Coordinator, tmp_path: Path) -> None:
    c, out = coordinator.client, tmp_path / "out"
    wf_id = c.create_workflow({
        "name": "impatient", "compute_node_wait_for_healthy_database_minutes": 0,
        "jobs": [{"name": "a", "command": "touch started; sleep 5"}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out, log_name="w.log")
    from tests.conftest import wait_for
    wait_for(lambda: (out / "started").exists())
    coordinator.kill9()
    # With the default (20 minutes) it would keep retrying; 0 minutes: it gives up at once
    # and says it could not account for its work.
    assert worker.wait(timeout=120) == 1
    assert "could not finish its work" in (out / "w.log").read_text()
