"""Canceling and terminating single jobs (the TUI's ``c`` and ``t``; the CancelJobs RPC): a
running one is killed where it runs and its attempt recorded, what depends on it is canceled
(or unblocked when it tolerates failures), the rest of the workflow goes on, and a restart
after SIGKILL keeps it all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Coordinator, job_states, start_worker, wait_for
from torc.client.stub import ClientError


def _ids(c, wf_id: int) -> dict[str, int]:
    return {j.name: j.id for j in c.list_jobs(wf_id)}


def test_a_running_job_canceled_alone_is_killed_and_its_dependents_canceled(
        coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "one", "jobs": [
        {"name": "stuck", "command": "exec sleep 300"},
        {"name": "after", "command": "true", "depends_on": ["stuck"]},
        {"name": "tolerant", "command": "true", "depends_on": ["stuck"],
         "cancel_on_blocking_job_failure": False},
        {"name": "other", "command": "true"}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out")
    wait_for(lambda: job_states(c, wf_id)["stuck"] == "running")
    canceled = c.cancel_jobs(wf_id, [_ids(c, wf_id)["stuck"]])
    assert sorted(j.name for j in canceled) == ["after", "stuck"]
    # The worker kills it (told on its heartbeat stream at once), runs the tolerant
    # dependent and the other job, and leaves: the workflow is done.
    assert worker.wait(timeout=120) == 0
    assert job_states(c, wf_id) == {"stuck": "canceled", "after": "canceled",
                                    "tolerant": "completed", "other": "completed"}
    (killed,) = [r for r in c.list_results(wf_id, all_runs=True) if r.job_name == "stuck"]
    assert killed.return_code != 0 and "canceled" in killed.message
    coordinator.restart()  # SIGKILL: the log holds it all
    assert job_states(coordinator.client, wf_id)["stuck"] == "canceled"


def test_terminate_ends_a_running_job_terminated(coordinator: Coordinator,
                                                 tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "t", "jobs": [
        {"name": "stuck", "command": "exec sleep 300"}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out")
    wait_for(lambda: job_states(c, wf_id)["stuck"] == "running")
    c.cancel_jobs(wf_id, [_ids(c, wf_id)["stuck"]], terminate=True)
    assert worker.wait(timeout=120) == 0
    assert job_states(c, wf_id) == {"stuck": "terminated"}
    assert c.status(wf_id).complete


def test_canceling_waiting_jobs_and_what_cannot_be_canceled(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "w", "jobs": [
        {"name": "a", "command": "true"},
        {"name": "b", "command": "true", "depends_on": ["a"]},
        {"name": "c", "command": "true", "depends_on": ["b"]},
        {"name": "d", "command": "true"}]})
    c.initialize(wf_id)
    ids = _ids(c, wf_id)
    canceled = c.cancel_jobs(wf_id, [ids["b"]])  # blocked: with its downstream
    assert sorted(j.name for j in canceled) == ["b", "c"]
    c.cancel_jobs(wf_id, [ids["d"]])  # ready: no worker will claim it
    assert job_states(c, wf_id) == {"a": "ready", "b": "canceled", "c": "canceled",
                                    "d": "canceled"}
    with pytest.raises(ClientError, match="is canceled: there is nothing to cancel"):
        c.cancel_jobs(wf_id, [ids["a"], ids["d"]])
    assert job_states(c, wf_id)["a"] == "ready"  # refused whole: nothing changed
    with pytest.raises(ClientError, match="job 999999 does not exist"):
        c.cancel_jobs(wf_id, [999_999])
