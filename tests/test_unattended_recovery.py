"""Unattended recovery on the real local Slurm cluster. ``torc watch --auto-schedule``: ready
jobs that no worker or allocation will run get new Slurm allocations by themselves (Torc's
automatic-recovery chapter; the rules checked look by look, the loop with an allocation
canceled mid-run). ``torc workflows sync-status``: jobs of an allocation that ended are failed
at once, not after missed heartbeats."""

from __future__ import annotations

import os
import signal
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Coordinator, cli_json, cli_rows, job_states, run_cli, wait_for
from tests.test_slurm import _start_victim, schedule, scheduler, slurm_jobs_alive, submit
from torc.client.auto_schedule import Look, Options, can_run, decide

OPTS = Options(threshold=5, cooldown=1800, stranded_timeout=7200)


def test_ready_jobs_with_nobody_to_run_them_are_scheduled_at_once() -> None:
    # Stranded: at once, cooldown or not, retries or not.
    assert decide(OPTS, Look(3, 0, stranded=3, since_last=0)) is not None
    assert decide(OPTS, Look(3, 0, stranded=1, since_last=0)) is not None
    # Nothing ready, or someone to run it all: nothing.
    assert decide(OPTS, Look(0, 0, 0, since_last=10**6)) is None
    assert decide(OPTS, Look(3, 0, 0, since_last=10**6)) is None


def test_who_can_run_a_ready_job() -> None:
    # A job for scheduler "gpu": a worker of "gpu" or of none, or a gpu allocation, or one
    # submitted by hand or regenerated (its workers take any job).
    assert can_run("gpu", ["gpu"], []) and can_run("gpu", [""], [])
    assert not can_run("gpu", ["cpu"], [("cpu", False)])
    assert can_run("gpu", [], [("gpu", False)]) and can_run("gpu", [], [("x", True)])
    # A job for no scheduler: anyone.
    assert can_run("", ["cpu"], []) and can_run("", [], [("cpu", False)])
    assert not can_run("", [], [])


def test_waiting_retries_call_for_more_after_the_threshold_or_the_stranded_timeout() -> None:
    # While allocations run, retries count: at the threshold once the cooldown passed...
    assert decide(OPTS, Look(9, 5, 0, since_last=1800)) is not None
    assert decide(OPTS, Look(9, 5, 0, since_last=1799)) is None
    assert decide(OPTS, Look(9, 4, 0, since_last=1800)) is None
    # ...and fewer once they have waited the stranded timeout; 0 turns that off.
    assert decide(OPTS, Look(9, 1, 0, since_last=7200)) is not None
    assert decide(Options(5, 1800, 0), Look(9, 1, 0, since_last=10**6)) is None
    # First attempts waiting for running allocations are not stranded.
    assert decide(OPTS, Look(9, 0, 0, since_last=10**6)) is None


@pytest.fixture
def profile_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    home = tmp_path / "config"
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home))
    return home


def test_watch_brings_a_workflow_whose_allocation_was_canceled_to_completion(
        coord: Coordinator, tmp_path: Path, profile_home: Path) -> None:
    cli_json("hpc", "generate", "--name", "here", url="")  # what regeneration plans on
    spec = {"name": "stranded", "slurm_schedulers": [scheduler()], "actions": [schedule()],
            # One job at a time (the allocation has one CPU): most are still ready when
            # the allocation goes.
            "resource_requirements": [{"name": "node", "num_cpus": 1, "memory": "500m",
                                       "runtime": "PT2M"}],
            "jobs": [{"name": f"step_{i}", "command": "sleep 1",
                      "resource_requirements": "node"} for i in range(6)]}
    wf_id, out = submit(coord, tmp_path, spec)
    c = coord.client
    wait_for(lambda: "completed" in job_states(c, wf_id).values(), timeout=120)
    (first,) = c.list_allocations(wf_id)
    subprocess.run(["scancel", first.slurm_job_id], check=True)
    r = run_cli("watch", str(wf_id), "--interval", "0.5", "--auto-schedule", "--recover",
                "--retry-unknown", "--output-dir", str(out), url=coord.url, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "no worker or allocation left can run" in r.stdout, r.stdout
    assert set(job_states(c, wf_id).values()) == {"completed"}
    allocations = c.list_allocations(wf_id)
    assert len(allocations) >= 2 and allocations[0].slurm_job_id == first.slurm_job_id


def test_sync_status_fails_the_jobs_of_an_ended_allocation_at_once(cluster: None,
                                                                    tmp_path: Path) -> None:
    """The coordinator would notice only after its next squeue look (an hour here) or three
    missed heartbeats (half an hour): sync-status asks Slurm now."""
    c = Coordinator(tmp_path / "coord", "--heartbeat-interval", "600",
                    "--slurm-poll-interval", "3600")
    c.start()
    try:
        wf_id, _, worker, victim_pid = _start_victim(c, tmp_path)
        for pid in (worker.pid, victim_pid):
            os.kill(pid, signal.SIGKILL)
        (alloc,) = c.client.list_allocations(wf_id)
        subprocess.run(["scancel", alloc.slurm_job_id], check=True)
        wait_for(lambda: not slurm_jobs_alive([alloc.slurm_job_id]), timeout=60)
        dry = cli_json("workflows", "sync-status", str(wf_id), "--dry-run", url=c.url)
        assert [j["job_name"] for j in dry["failed_job_details"]] == ["victim"]
        assert dry["failed_job_details"][0]["slurm_job_id"] == alloc.slurm_job_id
        assert job_states(c.client, wf_id)["victim"] == "running"  # nothing changed
        r = run_cli("workflows", "sync-status", str(wf_id), url=c.url)
        assert r.returncode == 0, r.stderr
        assert "victim" in r.stdout and f"torc recover {wf_id}" in r.stdout, r.stdout
        assert job_states(c.client, wf_id) == {"victim": "failed", "after": "canceled"}
        (lost,) = [w for w in cli_rows("workers", "list", str(wf_id), url=c.url)
                   if w["role"] == "worker"]
        assert lost["state"] == "lost"
        assert c.client.list_allocations(wf_id)[0].state not in ("RUNNING", "SUBMITTED")
        again = cli_json("workflows", "sync-status", str(wf_id), url=c.url)
        assert again["failed_job_details"] == [] and "in sync" in again["message"]
    finally:
        c.close()
