"""Job processes never outlive their job or their worker; a worker that cannot account for its
work says so with its exit code."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import psutil

from tests.conftest import Coordinator, job_states, start_worker, wait_for


def alive(pid: int) -> bool:
    """Running (a zombie waiting for a parent that does not reap is not running)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def pids(directory: Path, *names: str) -> dict[str, int]:
    return {n: int((directory / f"{n}.pid").read_text()) for n in names}


# A job whose processes try every way of outliving it: a background child, a subshell's
# orphan, and a daemon in its own session.
TREE = ("sleep 1000 & echo $! > bg.pid; (sleep 1001 & echo $! > orphan.pid); "
        "setsid sleep 1002 & echo $! > daemon.pid; echo $$ > leader.pid; wait")
TREE_PIDS = ("bg", "orphan", "daemon", "leader")


def test_sigkilled_worker_takes_its_job_tree_with_it(coordinator: Coordinator,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    wf_id = coordinator.client.create_workflow({"name": "tree", "jobs": [
        {"name": "t", "command": TREE}]})
    coordinator.client.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out)
    wait_for(lambda: all((out / f"{n}.pid").exists() for n in TREE_PIDS))
    wait_for(lambda: job_states(coordinator.client, wf_id)["t"] == "running")
    procs = pids(out, *TREE_PIDS)
    assert all(alive(p) for p in procs.values())
    worker.send_signal(signal.SIGKILL)
    worker.wait()
    wait_for(lambda: not any(alive(p) for p in procs.values()))
    # The coordinator, meanwhile, declares the worker lost and fails the job (-128).
    wait_for(lambda: job_states(coordinator.client, wf_id)["t"] == "failed")


def test_a_retried_attempt_never_runs_beside_the_lost_one(coordinator: Coordinator,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "out"
    # Attempt 1 runs forever; attempt 2 records whether attempt 1 still runs, then ends.
    command = ('echo $$ > a$TORC_ATTEMPT_ID.pid; if [ "$TORC_ATTEMPT_ID" = 2 ]; then '
               'ps -o stat= -p "$(cat a1.pid)" > a1_when_a2_started; exit 0; fi; sleep 1000')
    wf_id = coordinator.client.create_workflow({"name": "retry", "jobs": [
        {"name": "r", "command": command, "retry_on_worker_loss": 1}]})
    coordinator.client.initialize(wf_id)
    first = start_worker(coordinator.url, wf_id, out)
    wait_for(lambda: (out / "a1.pid").exists())
    wait_for(lambda: job_states(coordinator.client, wf_id)["r"] == "running")
    first.send_signal(signal.SIGKILL)
    first.wait()
    second = start_worker(coordinator.url, wf_id, out)
    assert second.wait(timeout=120) == 0
    assert job_states(coordinator.client, wf_id)["r"] == "completed"
    state = (out / "a1_when_a2_started").read_text().strip()
    assert state in ("", "Z"), f"attempt 1 was still running ({state}) when attempt 2 started"


def test_termination_kills_children_that_ignore_sigterm(coordinator: Coordinator,
                                                        tmp_path: Path) -> None:
    out = tmp_path / "out"
    command = ("bash -c 'trap \"\" TERM; echo $$ > stubborn.pid; while :; do sleep 1; done' & "
               "wait")
    wf_id = coordinator.client.create_workflow({"name": "term", "jobs": [
        {"name": "t", "command": command, "supports_termination": True}]})
    coordinator.client.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out)
    wait_for(lambda: (out / "stubborn.pid").exists())
    stubborn = int((out / "stubborn.pid").read_text())
    worker.send_signal(signal.SIGTERM)
    worker.wait(timeout=120)
    wait_for(lambda: not alive(stubborn))
    assert job_states(coordinator.client, wf_id)["t"] == "terminated"


def test_a_worker_whose_reports_are_refused_exits_non_zero(coordinator: Coordinator,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "out"
    wf_id = coordinator.client.create_workflow({"name": "lost", "jobs": [
        {"name": "a", "command": "sleep 2"}, {"name": "b", "command": "sleep 2"}]})
    coordinator.client.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out, "--max-parallel-jobs", "1")
    wait_for(lambda: "running" in job_states(coordinator.client, wf_id).values())
    os.kill(worker.pid, signal.SIGSTOP)  # silent: the coordinator declares it lost
    try:
        wait_for(lambda: [w for w in coordinator.client.list_workers(wf_id) if w.lost])
    finally:
        os.kill(worker.pid, signal.SIGCONT)
    # Its report of the job's end is refused (it was failed with -128 meanwhile): the worker
    # cannot account for its work and must not exit 0 (Slurm would record success).
    assert worker.wait(timeout=120) == 1
    log = next(out.glob("worker-*.log")).read_text()
    assert "could not finish its work" in log


def test_a_finished_job_leaves_no_background_process(coordinator: Coordinator,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    wf_id = coordinator.client.create_workflow({"name": "bg", "jobs": [
        {"name": "b", "command": "(sleep 1000 & echo $! > sub.pid); sleep 1001 & "
                                 "echo $! > bg.pid; setsid sleep 1002 & echo $! > daemon.pid"}]})
    coordinator.client.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out)
    assert worker.wait(timeout=120) == 0
    assert job_states(coordinator.client, wf_id)["b"] == "completed"
    procs = pids(out, "sub", "bg", "daemon")
    # In the job's group: killed when the job ended; the daemon: when the worker ended.
    wait_for(lambda: not any(alive(p) for p in procs.values()))
