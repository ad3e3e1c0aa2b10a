"""Slurm-native operation against a real local cluster (scripts/slurm-cluster: slurmctld,
three slurmd, munge): torc submit, schedule_nodes, one worker per node, cancel, lost nodes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import (
    NODES,
    Coordinator,
    cli_json,
    cli_rows,
    job_states,
    run_cli,
    wait_for,
    wait_heartbeats,
    write_spec,
)
from torc import slurm
from torc.slurm import commands


def scheduler(name: str = "short", **extra: Any) -> dict[str, Any]:
    return {"name": name, "account": "torc", "partition": "debug", "nodes": 1,
            "walltime": "00:10:00", **extra}


def schedule(trigger: str = "on_workflow_start", scheduler_name: str = "short",
             **extra: Any) -> dict[str, Any]:
    return {"trigger_type": trigger, "action_type": "schedule_nodes",
            "scheduler": scheduler_name, "scheduler_type": "slurm", "num_allocations": 1,
            **extra}


def submit(c: Coordinator, tmp_path: Path, spec: dict[str, Any]) -> tuple[int, Path]:
    out = tmp_path / "out"
    r = run_cli("-f", "json", "submit", str(write_spec(tmp_path, spec)), "--output-dir",
                str(out), url=c.url)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout)["id"], out


def slurm_jobs_alive(ids: list[str]) -> list[str]:
    info = slurm.squeue(ids)
    return [j for j, i in info.items() if i.state not in slurm.FINAL_STATES]


def test_submit_starts_an_allocation_whose_worker_runs_the_workflow(coord: Coordinator,
                                                                    tmp_path: Path) -> None:
    spec = {"name": "hello", "slurm_schedulers": [scheduler()],
            "jobs": [{"name": f"hello_{i}", "command": "echo $SLURMD_NODENAME $SLURM_JOB_ID"}
                     for i in range(4)],
            "actions": [schedule()]}
    wf_id, out = submit(coord, tmp_path, spec)
    c = coord.client
    wait_for(lambda: c.get_workflow(wf_id).complete, timeout=60)
    assert set(job_states(c, wf_id).values()) == {"completed"}
    (alloc,) = c.list_allocations(wf_id)
    workers = [w for w in c.list_workers(wf_id) if w.role == "worker"]
    assert [w.slurm_job_id for w in workers] == [alloc.slurm_job_id]
    assert workers[0].node_name.startswith("node")
    stdout = (out / "job_stdio" / f"job_wf{wf_id}_j1_r1_a1.o").read_text().split()
    assert stdout == [workers[0].node_name, alloc.slurm_job_id]
    script = next((out / "slurm_scripts").iterdir()).read_text()
    assert "#SBATCH --account=torc" in script and "#SBATCH --time=00:10:00" in script
    assert f"#SBATCH --output={out}/slurm_output_wf{wf_id}_sl%j.o" in script
    wait_for(lambda: c.list_allocations(wf_id)[0].state == "COMPLETED", timeout=30)
    table = run_cli("allocations", "list", str(wf_id), url=coord.url).stdout
    assert alloc.slurm_job_id in table and "COMPLETED" in table


def test_one_worker_per_node(coord: Coordinator, tmp_path: Path) -> None:
    spec = {"name": "per_node", "slurm_schedulers": [scheduler(nodes=NODES)],
            "jobs": [{"name": f"j{i}", "command": "sleep 0.5; echo $SLURMD_NODENAME"}
                     for i in range(9)],
            "actions": [schedule(start_one_worker_per_node=True),
                        {"trigger_type": "on_worker_start", "action_type": "run_commands",
                         "commands": ["echo $SLURMD_NODENAME $TORC_WORKER_ID >> starts.txt"]}]}
    wf_id, out = submit(coord, tmp_path, spec)
    c = coord.client
    wait_for(lambda: c.get_workflow(wf_id).complete, timeout=90)
    workers = [w for w in c.list_workers(wf_id) if w.role == "worker"]
    assert sorted(w.node_name for w in workers) == [f"node{k}" for k in range(1, NODES + 1)]
    assert len({w.slurm_job_id for w in workers}) == 1
    starts = [line.split() for line in (out / "starts.txt").read_text().splitlines()]
    assert sorted(n for n, _ in starts) == [f"node{k}" for k in range(1, NODES + 1)]
    assert len({w for _, w in starts}) == NODES
    assert set(job_states(c, wf_id).values()) == {"completed"}


def test_on_jobs_ready_schedules_nodes_only_when_the_jobs_are_ready(coord: Coordinator,
                                                                    tmp_path: Path) -> None:
    spec = {"name": "phases",
            "slurm_schedulers": [scheduler("first"), scheduler("second")],
            "jobs": [{"name": "stage1", "command": "sleep 2"},
                     *({"name": f"stage2_{i}", "command": "sleep 1", "depends_on": ["stage1"]}
                       for i in range(2))],
            "actions": [schedule("on_workflow_start", "first"),
                        schedule("on_jobs_ready", "second", job_name_regexes=["stage2_.*"])]}
    wf_id, _ = submit(coord, tmp_path, spec)
    c = coord.client
    assert [a.scheduler for a in c.list_allocations(wf_id)] == ["first"]
    wait_for(lambda: c.get_workflow(wf_id).complete, timeout=90)
    wait_for(lambda: len(c.list_allocations(wf_id)) == 2, timeout=30)
    first, second = c.list_allocations(wf_id)
    assert second.scheduler == "second"
    stage1 = next(r for r in c.list_results(wf_id) if r.job_name == "stage1")
    assert second.submitted_at >= stage1.end_time
    (action,) = [a for a in c.list_actions(wf_id) if a.trigger_type == "on_jobs_ready"]
    assert action.executions[0].success and second.slurm_job_id in action.executions[0].message


def test_cancel_leaves_no_slurm_job_behind(coord: Coordinator, tmp_path: Path) -> None:
    spec = {"name": "cancel_me", "slurm_schedulers": [scheduler()],
            "jobs": [{"name": "long", "command": "sleep 300"}],
            "actions": [schedule(num_allocations=2)]}
    wf_id, _ = submit(coord, tmp_path, spec)
    c = coord.client
    wait_for(lambda: c.status(wf_id).job_counts["running"] == 1, timeout=60)
    ids = [a.slurm_job_id for a in c.list_allocations(wf_id)]
    assert len(ids) == 2
    run_cli("workflows", "cancel", str(wf_id), url=coord.url, check=True)
    wait_for(lambda: not slurm_jobs_alive(ids), timeout=30)
    assert job_states(c, wf_id) == {"long": "canceled"} or \
        job_states(c, wf_id) == {"long": "terminated"}
    wait_for(lambda: c.get_workflow(wf_id).complete, timeout=30)


def _start_victim(c: Coordinator, tmp_path: Path) -> tuple[int, Path, Any, int]:
    spec = {"name": "node_down", "slurm_schedulers": [scheduler()],
            "jobs": [{"name": "victim", "command": "echo $$ > victim.pid; exec sleep 300"},
                     {"name": "after", "command": "true", "depends_on": ["victim"]}],
            "actions": [schedule()]}
    wf_id, out = submit(c, tmp_path, spec)
    client = c.client
    wait_for(lambda: client.status(wf_id).job_counts["running"] == 1, timeout=60)
    (worker,) = [w for w in client.list_workers(wf_id) if w.role == "worker"]
    pid = int(wait_for(lambda: (tmp_path / "victim.pid").exists()
                       and (tmp_path / "victim.pid").read_text().strip()))
    return wf_id, out, worker, pid


def _down(node: str) -> None:
    subprocess.run(["scontrol", "update", f"NodeName={node}", "State=DOWN",
                    "Reason=torc-test"], check=True)


def _restore(node: str) -> None:
    # ReturnToService=2 brings the node back by itself; make sure before the next test.
    wait_for(lambda: "idle" in slurm.sinfo().get(node, ""), timeout=60, interval=0.3)


def test_a_node_set_down_terminates_its_jobs_and_cancels_dependents(coord: Coordinator,
                                                                     tmp_path: Path) -> None:
    wf_id, _, worker, _ = _start_victim(coord, tmp_path)
    c = coord.client
    try:
        _down(worker.node_name)
        wait_for(lambda: job_states(c, wf_id)["victim"] == "terminated", timeout=30)
        assert job_states(c, wf_id)["after"] == "canceled"
        wait_for(lambda: c.list_allocations(wf_id)[0].state == "NODE_FAIL", timeout=30)
        wait_for(lambda: c.get_workflow(wf_id).complete, timeout=30)
    finally:
        _restore(worker.node_name)


def test_a_node_lost_without_a_word_is_detected_from_squeue(cluster: None,
                                                            tmp_path: Path) -> None:
    """The node dies at once (its processes never report); Slurm marks it DOWN. The
    coordinator's squeue check finds the allocation ended and fails the job with -128 without
    waiting for three missed heartbeats: its log says which of the two declared the worker
    lost (no clock is read here)."""
    c = Coordinator(tmp_path / "coord", "--heartbeat-interval", "5",
                    "--slurm-poll-interval", "0.5")
    c.start()
    try:
        wf_id, _, worker, victim_pid = _start_victim(c, tmp_path)
        client = c.client
        for pid in (worker.pid, victim_pid):
            os.kill(pid, signal.SIGKILL)
        _down(worker.node_name)
        wait_for(lambda: job_states(client, wf_id)["victim"] == "failed", timeout=60)
        log = c.log.read_text()
        assert re.search(r"Slurm job \S+ is (NODE_FAIL|FAILED); worker \d+ lost", log), log
        assert "missed heartbeats" not in log
        victim = next(j for j in client.list_jobs(wf_id) if j.name == "victim")
        assert victim.return_code == -128
        assert job_states(client, wf_id)["after"] == "canceled"
        # NODE_FAIL, or FAILED when Slurm saw the batch step die before the node went down.
        assert client.list_allocations(wf_id)[0].state in ("NODE_FAIL", "FAILED")
        (lost,) = [w for w in cli_rows("workers", "list", str(wf_id), url=c.url)
                   if w["role"] == "worker"]
        assert lost["state"] == "lost"
    finally:
        c.close()
        _restore(worker.node_name)


def test_a_bad_partition_is_a_clear_error_in_the_action_and_events(coord: Coordinator,
                                                                   tmp_path: Path) -> None:
    spec = {"name": "bad", "slurm_schedulers": [scheduler(partition="no_such_partition")],
            "jobs": [{"name": "j", "command": "true"}], "actions": [schedule()]}
    r = run_cli("submit", str(write_spec(tmp_path, spec)), "--output-dir",
                str(tmp_path / "out"), url=coord.url)
    assert r.returncode == 1
    assert "sbatch failed" in r.stderr and "invalid partition" in r.stderr.lower()
    wf_id = coord.client.list_workflows()[0].id
    (action,) = cli_json("workflows", "list-actions", str(wf_id), url=coord.url)
    (execution,) = action["executions"]
    assert not execution["success"] and "invalid partition" in execution["message"].lower()
    assert coord.client.list_allocations(wf_id) == []
    events = coord.client.watch_events(wf_id, history=True)
    seen = []
    for ev in events:
        seen.append(ev)
        if ev.kind == "action":
            break
    events.cancel()
    assert "invalid partition" in seen[-1].message.lower()


def test_batch_script_carries_every_scheduler_key(tmp_path: Path) -> None:
    script = slurm.batch_script(
        7, {"name": "gpu", "account": "proj", "partition": "gpu", "nodes": 2,
            "walltime": "04:00:00", "mem": "100G", "gres": "gpu:2", "qos": "high",
            "ntasks_per_node": 1, "tmp": "50G", "extra": "--exclusive --constraint=a100"},
        "login1:50051", tmp_path, "/usr/bin/python3", one_worker_per_node=True)
    for line in ("#SBATCH --account=proj", "#SBATCH --partition=gpu", "#SBATCH --nodes=2",
                 "#SBATCH --time=04:00:00", "#SBATCH --mem=100G", "#SBATCH --gres=gpu:2",
                 "#SBATCH --qos=high", "#SBATCH --ntasks-per-node=1", "#SBATCH --tmp=50G",
                 "#SBATCH --exclusive --constraint=a100", "#SBATCH --job-name=torc_wf7_gpu",
                 f"#SBATCH --error={tmp_path}/slurm_output_wf7_sl%j.e"):
        assert line in script.splitlines()
    last = script.strip().splitlines()[-1]
    assert last.startswith("exec srun --ntasks-per-node=1")
    assert "torc.worker.main --url login1:50051 --workflow-id 7" in last


def test_slurm_command_failures_and_timeouts_are_clear(cluster: None) -> None:
    with pytest.raises(slurm.SlurmError, match=r"sbatch failed \(exit \d+\): .*"):
        slurm.sbatch(Path("/nonexistent/script.sh"))
    assert slurm.squeue(["99999999"])["99999999"].state == "GONE"
    with pytest.raises(slurm.SlurmError, match="timed out after 0.001s"):
        commands._run("sleep", "5", timeout=0.001)
    with pytest.raises(slurm.SlurmError, match="not found"):
        commands._run("no-such-slurm-command")
    assert set(slurm.sinfo()) >= {f"node{k}" for k in range(1, NODES + 1)}


def test_walltime_from_squeue_inside_an_allocation(coord: Coordinator, tmp_path: Path) -> None:
    """A worker learns its allocation's end from squeue and claims only jobs that fit."""
    spec = {"name": "fit", "slurm_schedulers": [scheduler(walltime="00:03:00")],
            "resource_requirements": [{"name": "short", "runtime": "PT1M"},
                                      {"name": "long", "runtime": "PT2H"}],
            "jobs": [{"name": "fits", "command": "true", "resource_requirements": "short"},
                     {"name": "too_long", "command": "true", "resource_requirements": "long"}],
            "actions": [schedule()]}
    wf_id, out = submit(coord, tmp_path, spec)
    c = coord.client
    wait_for(lambda: job_states(c, wf_id)["fits"] == "completed", timeout=60)
    (worker,) = [w for w in c.list_workers(wf_id) if w.role == "worker"]
    wait_heartbeats(c, wf_id, worker.id)  # it has gone round its loop, and left too_long alone
    assert job_states(c, wf_id)["too_long"] == "ready"
    assert 0 < worker.resources.time_left_seconds <= 180
    run_cli("workflows", "cancel", str(wf_id), url=coord.url, check=True)


def test_a_slow_sbatch_and_an_output_dir_with_a_space(cluster: None, tmp_path: Path) -> None:
    # A busy controller: each sbatch takes 3 s, longer than the coordinator waits for a
    # silent worker (3 × 0.5 s). The submitter heartbeats, so it is not declared lost, and
    # every allocation sbatch accepted is recorded.
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    real = subprocess.run(["which", "sbatch"], capture_output=True, text=True).stdout.strip()
    slow = bin_dir / "sbatch"
    slow.write_text(f'#!/bin/bash\nsleep 3\nexec {real} "$@"\n')
    slow.chmod(0o755)
    c = Coordinator(tmp_path / "coord", "--heartbeat-interval", "0.5",
                    "--slurm-poll-interval", "0.5")
    c.start()
    try:
        spec = {"name": "slow", "slurm_schedulers": [scheduler()],
                "jobs": [{"name": f"j{i}", "command": "echo hi"} for i in range(4)],
                "actions": [schedule(num_allocations=2)]}
        out = tmp_path / "out dir"
        env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
        r = subprocess.run(["python", "-m", "torc.client.cli", "--url", c.url, "-f", "json",
                            "submit", str(write_spec(tmp_path, spec)), "--output-dir",
                            str(out)], env=env, capture_output=True, text=True, timeout=300)
        assert r.returncode == 0, r.stderr
        wf_id = json.loads(r.stdout)["id"]
        assert len(c.client.list_allocations(wf_id)) == 2
        submitters = [w for w in c.client.list_workers(wf_id) if w.role == "submitter"]
        assert len(submitters) == 1 and not submitters[0].lost
        wait_for(lambda: c.client.get_workflow(wf_id).complete, timeout=120)
        assert set(job_states(c.client, wf_id).values()) == {"completed"}
        assert list(out.glob("slurm_output_wf*_sl*.o"))
    finally:
        subprocess.run(["scancel", "--user", "root"], check=False)
        c.close()


def test_an_actions_max_parallel_jobs_limits_the_workers_it_starts(coord: Coordinator,
                                                                   tmp_path: Path) -> None:
    spec = {"name": "limited", "slurm_schedulers": [scheduler()],
            "jobs": [{"name": f"j{i}", "command": "true"} for i in range(3)],
            "actions": [schedule(max_parallel_jobs=1)]}
    wf_id, out = submit(coord, tmp_path, spec)
    script = next((out / "slurm_scripts").iterdir()).read_text()
    assert "--max-parallel-jobs 1" in script.splitlines()[-1]
    wait_for(lambda: coord.client.get_workflow(wf_id).complete, timeout=60)
    assert set(job_states(coord.client, wf_id).values()) == {"completed"}
