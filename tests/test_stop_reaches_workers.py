"""Deleting or canceling a workflow reaches its workers at once, not at their next heartbeat:
their running jobs stop and nothing after them starts. The coordinator here asks for a
heartbeat every 10 minutes, so a worker that only hears at its next beat fails these tests."""

from __future__ import annotations

from pathlib import Path

import psutil
import pytest

from tests.conftest import Coordinator, start_worker, wait_for


@pytest.fixture
def slow_beats(make_coordinator) -> Coordinator:  # type: ignore[no-untyped-def]
    return make_coordinator("--heartbeat-interval", "600", name="slow")


@pytest.mark.parametrize("how", ["delete", "cancel"])
def test_a_stopped_workflow_stops_its_running_jobs_at_once(slow_beats: Coordinator,
                                                           tmp_path: Path, how: str) -> None:
    c, out = slow_beats.client, tmp_path / "out"
    pid_file = tmp_path / "job.pid"
    wf = c.create_workflow({"name": "long", "jobs": [
        {"name": "long", "command": f"echo $$ > {pid_file}; exec sleep 600",
         "supports_termination": True},
        {"name": "after", "command": f"touch {tmp_path / 'after-ran'}",
         "depends_on": ["long"]}]})
    c.initialize(wf)
    # One slot, taken: the worker is not long-polling for work, which would also tell it.
    worker = start_worker(slow_beats.url, wf, out, "--num-cpus", "1", "--max-parallel-jobs", "1")
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip())
    pid = int(pid_file.read_text())
    assert psutil.pid_exists(pid)
    try:
        if how == "delete":
            c.delete_workflow(wf)
        else:
            c.cancel(wf)
        # Well within the heartbeat interval (600 s): the worker was told, not left to find
        # out at its next beat.
        worker.wait(timeout=120)
    finally:
        if worker.poll() is None:
            worker.kill()
            worker.wait()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert not (tmp_path / "after-ran").exists()


def test_heartbeat_streams_end_without_a_lost_exception(coordinator: Coordinator,
                                                        tmp_path: Path) -> None:
    c = coordinator.client
    for _ in range(3):
        wf = c.create_workflow({"name": "w", "jobs": [{"name": "a", "command": "true"}]})
        c.initialize(wf)
        assert start_worker(coordinator.url, wf, tmp_path / "out").wait(timeout=120) == 0
    coordinator.stop()  # the log is complete once the coordinator has exited
    assert "never retrieved" not in coordinator.log.read_text()
