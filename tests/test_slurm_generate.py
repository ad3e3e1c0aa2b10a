"""Slurm without hand-written schedulers, on the real local cluster: an HPC profile generated
from sinfo, ``torc slurm generate`` for three resource classes run to completion by ``torc
submit --generate``, jobs steered to their scheduler's allocations, and allocations that end
when nothing left can run there."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import (
    NODES,
    Coordinator,
    cli_json,
    cli_rows,
    job_states,
    run_cli,
    wait_for,
    write_spec,
)
from tests.test_slurm import schedule, scheduler, submit
from torc import slurm


@pytest.fixture
def profile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Saved HPC profiles go to a directory of the test's own."""
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def test_hpc_generate_describes_the_local_cluster(cluster: None, profile_home: Path) -> None:
    gen = cli_json("hpc", "generate", "--name", "here", url="")
    parts = {p["name"]: p for p in gen["partitions"]}
    assert set(parts) == {"debug", "other"}
    for p in parts.values():
        assert (p["cpus_per_node"], p["memory_mb"], p["max_nodes"]) == (4, 4000, NODES)
    # debug is Slurm's default partition; other must be asked for.
    assert not parts["debug"]["requires_explicit_request"]
    assert parts["other"]["requires_explicit_request"]
    assert (profile_home / "torc" / "hpc_profiles" / "here.json").exists()
    assert cli_json("hpc", "detect", url="")["name"] == "here"
    (best,) = [p for p in cli_json("hpc", "match", "--num-cpus", "2", "--memory", "3g",
                                   url="") if p["best"]]
    assert best["name"] == "other"  # never a debug partition when another fits
    r = run_cli("hpc", "match", "--num-cpus", "8", url="")
    assert r.returncode == 0 and "debug" not in r.stdout


THREE = {
    "name": "three_classes",
    "compute_node_wait_for_new_jobs_seconds": 3,
    "resource_requirements": [
        {"name": "small", "num_cpus": 1, "memory": "500m", "runtime": "PT2M"},
        {"name": "medium", "num_cpus": 2, "memory": "1500m", "runtime": "PT5M"},
        {"name": "large", "num_cpus": 4, "memory": "3500m", "runtime": "PT10M"}],
    "jobs": [
        {"name": "prep_{i}", "command": "echo prep {i}", "resource_requirements": "small",
         "parameters": {"i": "1:6"}},
        {"name": "work_{i}", "command": "echo work {i}", "resource_requirements": "medium",
         "depends_on": ["prep_{i}"], "parameters": {"i": "1:6"}},
        {"name": "merge", "command": "echo merge", "resource_requirements": "large",
         "depends_on_regexes": ["work_.*"]}]}


def test_generate_plans_three_classes_and_submit_runs_them(
        coord: Coordinator, tmp_path: Path, profile_home: Path) -> None:
    cli_json("hpc", "generate", "--name", "here", url="")
    spec = write_spec(tmp_path, THREE)
    plan = cli_json("slurm", "generate", "--account", "torc", "--dry-run", str(spec), url="")
    scheds = {s["name"]: s for s in plan["schedulers"]}
    assert set(scheds) == {"small_scheduler", "medium_deferred_scheduler",
                           "large_deferred_scheduler"}
    assert all(s["partition"] == "other" and s["mem"] == "4000m" for s in scheds.values())
    triggers = {a["scheduler"]: a["trigger_type"] for a in plan["actions"]}
    assert triggers == {"small_scheduler": "on_workflow_start",
                        "medium_deferred_scheduler": "on_jobs_ready",
                        "large_deferred_scheduler": "on_jobs_ready"}
    out = tmp_path / "out"
    r = run_cli("-f", "json", "submit", str(spec), "--generate", "--account", "torc",
                "--output-dir", str(out), url=coord.url)
    assert r.returncode == 0, r.stderr
    wf_id = json.loads(r.stdout)["id"]
    c = coord.client
    wait_for(lambda: c.get_workflow(wf_id).complete, timeout=180)
    assert set(job_states(c, wf_id).values()) == {"completed"}
    # Every job ran in an allocation of its own scheduler.
    workers = {w.id: w for w in c.list_workers(wf_id)}
    scheduler_of = {j.id: j.scheduler for j in c.list_jobs(wf_id)}
    assert all(workers[r.worker_id].scheduler == scheduler_of[r.job_id]
               for r in c.list_results(wf_id))
    ids = [a.slurm_job_id for a in c.list_allocations(wf_id)]
    assert len(ids) == 3
    wait_for(lambda: not [j for j, i in slurm.squeue(ids).items()
                          if i.state not in slurm.FINAL_STATES], timeout=120)


def test_an_allocation_whose_remaining_jobs_cannot_run_there_ends(
        coord: Coordinator, tmp_path: Path) -> None:
    spec = {"name": "idle_alloc", "compute_node_wait_for_new_jobs_seconds": 2,
            "slurm_schedulers": [scheduler(walltime="00:30:00")],
            "resource_requirements": [{"name": "huge", "num_cpus": 64}],
            "jobs": [{"name": "small", "command": "true"},
                     {"name": "too_big", "command": "true", "resource_requirements": "huge"}],
            "actions": [schedule()]}
    wf_id, out = submit(coord, tmp_path, spec)
    c = coord.client
    (alloc,) = c.list_allocations(wf_id)
    # Its 30-minute walltime is not what ends it: its worker leaves after the idle wait.
    wait_for(lambda: slurm.squeue([alloc.slurm_job_id])[alloc.slurm_job_id].state
             in slurm.FINAL_STATES, timeout=120)
    assert slurm.squeue([alloc.slurm_job_id])[alloc.slurm_job_id].state == "COMPLETED"
    assert job_states(c, wf_id) == {"small": "completed", "too_big": "ready"}
    # The worker's log, named as Torc names its Slurm job runner's.
    (log,) = out.glob(f"job_runner_slurm_wf{wf_id}_sl{alloc.slurm_job_id}_n0_pid*.log")
    assert "idle for 2s with no job left that fits" in log.read_text()


def test_jobs_as_slurm_steps_are_limited_and_accounted_by_slurm(
        coord: Coordinator, tmp_path: Path) -> None:
    spec = {"name": "steps", "execution_config": {"mode": "slurm"},
            "compute_node_wait_for_new_jobs_seconds": 2,
            "slurm_schedulers": [scheduler(mem="3000m", extra="--exclusive")],
            "resource_requirements": [{"name": "r", "num_cpus": 1, "memory": "100m",
                                       "runtime": "PT5M"}],
            "jobs": [{"name": "ok", "command": "echo step=$SLURM_STEP_ID",
                      "resource_requirements": "r"},
                     {"name": "hog", "resource_requirements": "r", "command":
                      "python3 -c 'import time; b = b\"x\" * (300 * 1024 * 1024); "
                      "time.sleep(3)'"}],
            "actions": [schedule()]}
    wf_id, out = submit(coord, tmp_path, spec)
    c = coord.client
    wait_for(lambda: c.get_workflow(wf_id).complete, timeout=120)
    by = {x["job_name"]: x for x in cli_rows("results", "list", str(wf_id), url=coord.url)}
    assert by["ok"]["status"] == "completed"
    assert (out / "job_stdio" / f"job_wf{wf_id}_j1_r1_a1.o").read_text().startswith("step=")
    # Slurm, not the worker, killed the step over its memory; recorded as such.
    assert by["hog"]["return_code"] == 137
    assert by["hog"]["message"] == "out of memory: Slurm killed the step over its 100 MiB"
    steps = {}

    def accounted() -> bool:
        steps.update({s["job_name"]: s for s in cli_json("slurm", "sacct", str(wf_id),
                                                         url=coord.url)})
        return {"ok", "hog"} <= set(steps) and steps["hog"]["max_rss_bytes"] is not None

    wait_for(accounted, timeout=60)  # slurmdbd records steps a moment after they end
    assert steps["ok"]["state"] == "COMPLETED" and steps["ok"]["attempt_id"] == 1
    assert steps["hog"]["max_rss_bytes"] > 100 * 2**20
    saved = cli_json("slurm", "sacct", str(wf_id), "--save-json", "-o", str(out),
                     url=coord.url)
    assert json.loads((out / f"sacct_wf{wf_id}.json").read_text()) == saved
    hits = cli_json("slurm", "parse-logs", str(wf_id), "--output-dir", str(out),
                    url=coord.url)
    assert {(h["kind"], h["jobs"]) for h in hits} == {("out_of_memory", "hog")}


def test_schedule_nodes_by_hand(coord: Coordinator, tmp_path: Path) -> None:
    c = coord.client
    wf_id = c.create_workflow({"name": "by_hand", "slurm_schedulers": [scheduler()],
                               "jobs": [{"name": f"j{i}", "command": "true",
                                         "scheduler": "short"} for i in range(3)]})
    c.initialize(wf_id)
    r = run_cli("slurm", "schedule-nodes", str(wf_id), "--scheduler", "nope", url=coord.url)
    assert r.returncode == 1 and "has no scheduler 'nope'; it has short" in r.stderr
    # Torc's flags: the scheduler by its number in the spec, -n/--num-hpc-jobs, a job prefix.
    (sub,) = cli_json("slurm", "schedule-nodes", str(wf_id), "--scheduler-config-id", "1",
                      "--num-hpc-jobs", "1", "--job-prefix", "mine_", "-o",
                      str(tmp_path / "out"), url=coord.url)
    wait_for(lambda: c.get_workflow(wf_id).complete, timeout=120)
    assert set(job_states(c, wf_id).values()) == {"completed"}
    assert [a.slurm_job_id for a in c.list_allocations(wf_id)] == [sub["slurm_job_id"]]
    script = next((tmp_path / "out" / "slurm_scripts").iterdir()).read_text()
    assert f"#SBATCH --job-name=mine_torc_wf{wf_id}_short" in script
    listed = cli_json("scheduled-compute-nodes", "list", str(wf_id), "--scheduler-config-id",
                      "1", url=coord.url)["scheduled_compute_nodes"]
    assert [x["slurm_job_id"] for x in listed] == [sub["slurm_job_id"]]
    ran = cli_json("scheduled-compute-nodes", "list-jobs", sub["slurm_job_id"], "-w",
                   str(wf_id), url=coord.url)["jobs"]
    assert sorted(r["job_name"] for r in ran) == ["j0", "j1", "j2"]


def test_regenerate_submits_allocations_for_the_jobs_left(
        coord: Coordinator, tmp_path: Path, profile_home: Path) -> None:
    cli_json("hpc", "generate", "--name", "here", url="")
    c = coord.client
    wf_id = c.create_workflow({
        "name": "left", "compute_node_wait_for_new_jobs_seconds": 2,
        "resource_requirements": [{"name": "small", "num_cpus": 1, "memory": "500m",
                                   "runtime": "PT2M"}],
        "jobs": [{"name": f"j{i}", "command": "true", "resource_requirements": "small"}
                 for i in range(4)] + [{"name": "last", "command": "true",
                                        "depends_on": ["j0"], "resource_requirements": "small"}]})
    c.initialize(wf_id)
    planned = cli_json("slurm", "regenerate", str(wf_id), "--account", "torc", url=coord.url)
    assert {p["name"]: p["jobs"] for p in planned} == {"small_scheduler": 4,
                                                      "small_deferred_scheduler": 1}
    # --dry-run submits nothing even with --submit.
    dry = cli_json("slurm", "regenerate", str(wf_id), "--account", "torc", "--submit",
                   "--dry-run", url=coord.url)
    assert dry == planned and c.list_allocations(wf_id) == []
    subs = cli_json("slurm", "regenerate", str(wf_id), "--account", "torc", "--submit",
                    "--output-dir", str(tmp_path / "out"), url=coord.url)
    assert [s["slurm_job_id"] is not None for s in subs] == [True, False]
    # The allocation for the ready jobs runs everything (its workers take any job).
    wait_for(lambda: c.get_workflow(wf_id).complete, timeout=120)
    assert set(job_states(c, wf_id).values()) == {"completed"}


def test_submit_slurm_and_workflows_submit_as_torc_types_them(
        coord: Coordinator, tmp_path: Path, profile_home: Path) -> None:
    """``torc submit-slurm SPEC`` with the account from Torc's profile_overrides, run from
    the spec's directory: the job's relative paths are read and written there."""
    cli_json("hpc", "generate", "--name", "here", url="")
    (profile_home / "torc" / "config.toml").write_text(
        '[client.hpc.profile_overrides.here]\ndefault_account = "torc"\n')
    (tmp_path / "in.txt").write_text("hello\n")
    spec = write_spec(tmp_path, {
        "name": "ss", "files": [{"name": "i", "path": "in.txt"},
                                {"name": "o", "path": "copied.txt"}],
        "resource_requirements": [{"name": "small", "num_cpus": 1, "memory": "100m",
                                   "runtime": "PT5M"}],
        "jobs": [{"name": "copy", "command": "cp ${files.input.i} ${files.output.o}",
                  "resource_requirements": "small"}]})
    r = run_cli("-f", "json", "submit-slurm", spec.name, url=coord.url)
    assert r.returncode == 0, r.stderr
    wf = json.loads(r.stdout)["id"]
    c = coord.client
    wait_for(lambda: c.get_workflow(wf).complete, timeout=180)
    assert (tmp_path / "copied.txt").read_text() == "hello\n"
    script = next((tmp_path / "output" / "slurm_scripts").iterdir()).read_text()
    assert "#SBATCH --account=torc" in script

    c.delete_workflow(wf)
    other = c.create_workflow({"name": "by_id", "slurm_schedulers": [scheduler()],
                               "jobs": [{"name": "a", "command": "true"}],
                               "actions": [schedule()]})
    r = run_cli("workflows", "submit", url=coord.url)  # the only workflow
    assert r.returncode == 0, r.stderr
    wait_for(lambda: c.get_workflow(other).complete, timeout=180)
