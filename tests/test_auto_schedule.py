"""``torc watch --auto-schedule``: ready jobs that no worker or allocation will run get new
Slurm allocations by themselves (Torc's automatic-recovery chapter). The rules are checked
look by look; the whole loop on the real local Slurm cluster, with an allocation canceled
mid-run."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from tests.conftest import Coordinator, cli_json, job_states, run_cli, wait_for
from tests.test_slurm import schedule, scheduler, submit
from torc.client.auto_schedule import Look, Options, decide

OPTS = Options(threshold=5, cooldown=1800, stranded_timeout=7200)


def test_ready_jobs_with_nobody_to_run_them_are_scheduled_at_once() -> None:
    # No worker, no allocation: at once, cooldown or not, retries or not.
    assert decide(OPTS, Look(3, 0, 0, 0, since_last=0)) is not None
    # Nothing ready, or someone to run it: nothing.
    assert decide(OPTS, Look(0, 0, 0, 0, since_last=10**6)) is None
    assert decide(OPTS, Look(3, 0, 1, 0, since_last=10**6)) is None
    assert decide(OPTS, Look(3, 0, 0, 1, since_last=10**6)) is None


def test_waiting_retries_call_for_more_after_the_threshold_or_the_stranded_timeout() -> None:
    # While allocations run, retries count: at the threshold once the cooldown passed...
    assert decide(OPTS, Look(9, 5, 2, 1, since_last=1800)) is not None
    assert decide(OPTS, Look(9, 5, 2, 1, since_last=1799)) is None
    assert decide(OPTS, Look(9, 4, 2, 1, since_last=1800)) is None
    # ...and fewer once they have waited the stranded timeout; 0 turns that off.
    assert decide(OPTS, Look(9, 1, 2, 1, since_last=7200)) is not None
    assert decide(Options(5, 1800, 0), Look(9, 1, 2, 1, since_last=10**6)) is None
    # First attempts waiting for running allocations are not stranded.
    assert decide(OPTS, Look(9, 0, 2, 1, since_last=10**6)) is None


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
    assert "no worker or allocation left" in r.stdout, r.stdout
    assert set(job_states(c, wf_id).values()) == {"completed"}
    allocations = c.list_allocations(wf_id)
    assert len(allocations) >= 2 and allocations[0].slurm_job_id == first.slurm_job_id
