"""Heartbeats notice a lost worker; the event feed and the workers list show what happened."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import grpc

from tests.conftest import Coordinator, cli_rows, job_states, start_worker, wait_for
from torc.client.stub import raw_stub
from torc.proto import torc_pb2 as pb


def test_killed_worker_is_detected_and_its_jobs_fail_with_minus_128(coordinator: Coordinator,
                                                                    tmp_path: Path) -> None:
    c = coordinator.client  # the fixture's heartbeat interval is 1 s
    wf_id = c.create_workflow({"name": "lost", "jobs": [
        {"name": "long", "command": "echo $$ > long.pid; exec sleep 300"},
        {"name": "after", "command": "true", "depends_on": ["long"]},
        {"name": "tolerant", "command": "true", "depends_on": ["long"],
         "cancel_on_blocking_job_failure": False}]})
    c.initialize(wf_id)
    out = tmp_path / "out"
    worker = start_worker(coordinator.url, wf_id, out)
    wait_for(lambda: c.status(wf_id).job_counts["running"] == 1)
    (w,) = c.list_workers(wf_id)
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    try:
        wait_for(lambda: job_states(c, wf_id)["long"] == "failed", timeout=60)
        # The heartbeats said so (three intervals missed), not anything slower.
        assert f"worker {w.id} missed heartbeats for" in coordinator.log.read_text()
        jobs = {j.name: j for j in c.list_jobs(wf_id)}
        assert jobs["long"].return_code == -128
        assert job_states(c, wf_id) == {"long": "failed", "after": "canceled",
                                        "tolerant": "ready"}
        workers = cli_rows("workers", "list", str(wf_id), url=coordinator.url)
        assert workers[0]["state"] == "lost" and workers[0]["pid"] == w.pid
        # A report that arrives later from the dead worker is rejected, not applied.
        stub = raw_stub(coordinator.url)
        try:
            stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w.id, reports=[
                pb.JobReport(job_id=1, kind=pb.FINISHED, run_id=1, attempt_id=1,
                             return_code=0)]))
            raise AssertionError("a lost worker's report was accepted")
        except grpc.RpcError as e:
            assert e.code() == grpc.StatusCode.FAILED_PRECONDITION
            assert "declared lost" in e.details()
        jobs = {j.name: j for j in c.list_jobs(wf_id)}  # read again, after the late report
        assert jobs["long"].return_code == -128 and job_states(c, wf_id)["long"] == "failed"
    finally:
        pid_file = out / "long.pid"
        if pid_file.exists():
            try:
                os.kill(int(pid_file.read_text()), signal.SIGKILL)
            except ProcessLookupError:
                pass


def test_a_live_worker_is_not_declared_lost(coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "alive", "jobs": [{"name": "j", "command": "sleep 5"}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out")
    assert worker.wait(timeout=60) == 0
    assert job_states(c, wf_id) == {"j": "completed"}
    (w,) = c.list_workers(wf_id)
    assert not w.lost and w.last_heartbeat > w.start_time + 3


def test_events_monitor_streams_workflow_events(coordinator: Coordinator,
                                                tmp_path: Path) -> None:
    monitor = subprocess.Popen(
        [sys.executable, "-m", "torc.client.cli", "--url", coordinator.url, "-f", "json",
         "events", "monitor", "--history"], stdout=subprocess.PIPE, text=True)
    try:
        # With --history, what happened before the stream was subscribed comes first: no
        # need to wait for the subscription.
        c = coordinator.client
        wf_id = c.create_workflow({"name": "ev", "jobs": [{"name": "bad", "command": "exit 4"}]})
        c.initialize(wf_id)
        assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=60) == 0
        seen = []
        assert monitor.stdout is not None
        while not any(e["kind"] == "complete" for e in seen):
            seen.append(json.loads(monitor.stdout.readline()))
        kinds = [e["kind"] for e in seen]
        assert kinds[:2] == ["created", "initialized"]
        assert "failed" in kinds
        failed = next(e for e in seen if e["kind"] == "failed")
        assert "bad" in failed["message"] and "return code 4" in failed["message"]
    finally:
        monitor.kill()
        monitor.wait()


def test_retry_on_worker_loss_requeues_the_job(coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    marker = tmp_path / "second_attempt_may_finish"
    wf_id = c.create_workflow({"name": "retry", "jobs": [
        {"name": "fragile", "retry_on_worker_loss": 1,
         "command": f"echo $$ >> fragile.pids; test -f {marker} || exec sleep 300"},
        {"name": "after", "command": "true", "depends_on": ["fragile"]}]})
    c.initialize(wf_id)
    out = tmp_path / "out"
    first = start_worker(coordinator.url, wf_id, out)
    wait_for(lambda: c.status(wf_id).job_counts["running"] == 1)
    first.send_signal(signal.SIGKILL)
    first.wait()
    wait_for(lambda: job_states(c, wf_id)["fragile"] == "ready", timeout=15)
    job = next(j for j in c.list_jobs(wf_id) if j.name == "fragile")
    assert job.attempt_id == 2 and job_states(c, wf_id)["after"] == "blocked"
    marker.touch()
    assert start_worker(coordinator.url, wf_id, out).wait(timeout=60) == 0
    assert job_states(c, wf_id) == {"fragile": "completed", "after": "completed"}
    attempts = [(r.attempt_id, r.return_code) for r in c.list_results(wf_id, all_runs=True)
                if r.job_name == "fragile"]
    assert attempts == [(1, -128), (2, 0)]
    assert (out / "job_stdio" / f"job_wf{wf_id}_j1_r1_a2.o").exists()
    for pid in (out / "fragile.pids").read_text().split()[:1]:
        try:
            os.kill(int(pid), signal.SIGKILL)
        except ProcessLookupError:
            pass


def test_a_worker_whose_coordinator_goes_away_during_its_last_actions_still_exits(
        coordinator: Coordinator, tmp_path: Path) -> None:
    c, out = coordinator.client, tmp_path / "out"
    wf_id = c.create_workflow({
        "name": "leaving", "jobs": [{"name": "a", "command": "true"}],
        "actions": [{"trigger_type": "on_worker_complete", "action_type": "run_commands",
                     "commands": ["touch last_action_started; sleep 2"]}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out)
    wait_for(lambda: (out / "last_action_started").exists(), timeout=60)
    coordinator.kill9()  # the action's result can never be delivered now
    # It gives up on the gone coordinator instead of holding its node (an allocation) for
    # the 20 minutes it allows a coordinator that is still running a workflow.
    assert worker.wait(timeout=180) is not None
