"""Real workers running real jobs against a real coordinator, and ``torc run`` end to end."""

from __future__ import annotations

import json
import signal
import time
from pathlib import Path

from tests.conftest import (
    ROOT,
    Coordinator,
    cli_json,
    job_states,
    run_cli,
    start_worker,
    wait_for,
    wait_heartbeats,
    write_spec,
)


def stamp(name: str, log: Path, extra: str = "") -> str:
    """A command that records when it started and ended, and does ``extra`` in between."""
    return (f"echo start {name} $(date +%s.%N) >> {log}; {extra} "
            f"echo end {name} $(date +%s.%N) >> {log}")


def read_stamps(log: Path) -> dict[tuple[str, str], float]:
    out = {}
    for line in log.read_text().splitlines():
        what, name, ts = line.split()
        out[(what, name)] = float(ts)
    return out


def test_diamond_runs_in_dependency_order_with_stdio_files(coordinator: Coordinator,
                                                           tmp_path: Path) -> None:
    log = tmp_path / "stamps.txt"
    spec = {"name": "diamond", "jobs": [
        {"name": "a", "command": stamp("a", log, "sleep 0.2;") + "; echo out-a; echo err-a >&2"},
        {"name": "b", "command": stamp("b", log, "sleep 0.3;"), "depends_on": ["a"]},
        {"name": "c", "command": stamp("c", log, "sleep 0.3;"), "depends_on": ["a"]},
        {"name": "d", "command": stamp("d", log) + "; env | grep ^TORC_ | sort",
         "depends_on": ["b", "c"]},
    ]}
    c = coordinator.client
    wf_id = c.create_workflow(spec)
    c.initialize(wf_id)
    out = tmp_path / "out"
    worker = start_worker(coordinator.url, wf_id, out, "--num-cpus", "4")
    assert worker.wait(timeout=60) == 0
    assert job_states(c, wf_id) == dict.fromkeys("abcd", "completed")
    t = read_stamps(log)
    assert t[("end", "a")] <= t[("start", "b")] and t[("end", "a")] <= t[("start", "c")]
    assert max(t[("end", "b")], t[("end", "c")]) <= t[("start", "d")]
    # b and c ran at the same time (4 CPUs).
    assert t[("start", "c")] < t[("end", "b")] and t[("start", "b")] < t[("end", "c")]
    stdio = out / "job_stdio"
    assert (stdio / f"job_wf{wf_id}_j1_r1_a1.o").read_text() == "out-a\n"
    assert (stdio / f"job_wf{wf_id}_j1_r1_a1.e").read_text() == "err-a\n"
    env = dict(line.split("=", 1) for line in
               (stdio / f"job_wf{wf_id}_j4_r1_a1.o").read_text().splitlines())
    assert env["TORC_JOB_NAME"] == "d" and env["TORC_JOB_ID"] == "4"
    assert env["TORC_WORKFLOW_ID"] == str(wf_id) and env["TORC_RUN_ID"] == "1"
    assert env["TORC_ATTEMPT_ID"] == "1" and env["TORC_URL"] == coordinator.url
    assert env["TORC_OUTPUT_DIR"] == str(out.resolve())
    results = c.list_results(wf_id)
    assert sorted(r.job_name for r in results) == ["a", "b", "c", "d"]
    assert all(r.return_code == 0 and r.end_time >= r.start_time > 0 for r in results)


def test_resources_are_never_oversubscribed(coordinator: Coordinator, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    peak = tmp_path / "peak"
    # Each job takes a lock, bumps a counter, records it, sleeps, and decrements.
    body = (f"(flock 9; n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}; "
            f"echo $n >> {peak}) 9>{tmp_path}/lock; sleep 0.2; "
            f"(flock 9; echo $(( $(cat {counter}) - 1 )) > {counter}) 9>{tmp_path}/lock")
    spec = {
        "name": "packing",
        "resource_requirements": [{"name": "two", "num_cpus": 2, "memory": "1g"}],
        "jobs": [{"name": f"j{i}", "command": body, "resource_requirements": "two"}
                 for i in range(12)],
    }
    c = coordinator.client
    wf_id = c.create_workflow(spec)
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--num-cpus", "6",
                          "--memory", "100g")
    assert worker.wait(timeout=60) == 0
    seen = [int(x) for x in peak.read_text().split()]
    assert len(seen) == 12
    assert max(seen) == 3, seen  # 6 CPUs / 2 per job


def test_max_parallel_jobs(coordinator: Coordinator, tmp_path: Path) -> None:
    peak = tmp_path / "peak"
    counter = tmp_path / "count"
    body = (f"(flock 9; n=$(( $(cat {counter} 2>/dev/null || echo 0) + 1 )); echo $n > {counter}; "
            f"echo $n >> {peak}) 9>{tmp_path}/lock; sleep 0.1; "
            f"(flock 9; echo $(( $(cat {counter}) - 1 )) > {counter}) 9>{tmp_path}/lock")
    c = coordinator.client
    wf_id = c.create_workflow({"name": "p", "jobs": [{"name": f"j{i}", "command": body}
                                                    for i in range(10)]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--num-cpus", "8",
                          "--max-parallel-jobs", "2")
    assert worker.wait(timeout=60) == 0
    assert max(int(x) for x in peak.read_text().split()) == 2


def test_two_workers_never_run_the_same_job(coordinator: Coordinator, tmp_path: Path) -> None:
    runs = tmp_path / "runs.txt"
    c = coordinator.client
    wf_id = c.create_workflow({"name": "shared", "jobs": [
        {"name": f"j{i}", "command": f"echo {i} $TORC_WORKER_ID >> {runs}; sleep 0.02"}
        for i in range(200)]})
    c.initialize(wf_id)
    workers = [start_worker(coordinator.url, wf_id, tmp_path / f"out{k}", "--num-cpus", "4")
               for k in range(2)]
    assert [w.wait(timeout=120) for w in workers] == [0, 0]
    lines = [line.split() for line in runs.read_text().splitlines()]
    ids = [int(i) for i, _ in lines]
    assert sorted(ids) == list(range(200))
    assert len({w for _, w in lines}) == 2, "both workers should have run jobs"
    assert len(c.list_workers(wf_id)) == 2


def test_worker_started_before_initialize_waits_then_runs(coordinator: Coordinator,
                                                          tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "late", "jobs": [
        {"name": "only", "command": f"touch {tmp_path}/ran"}]})
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out")
    # Registered and waiting: it has asked for work a workflow not yet initialized cannot give.
    wait_for(lambda: [w.active for w in c.list_workers(wf_id)] == [True])
    assert worker.poll() is None and not (tmp_path / "ran").exists()
    c.initialize(wf_id)
    assert worker.wait(timeout=30) == 0
    assert (tmp_path / "ran").exists()


def test_sigterm_terminates_jobs_and_reports_terminated(coordinator: Coordinator,
                                                        tmp_path: Path) -> None:
    c = coordinator.client
    marker, trapping = tmp_path / "got_term", tmp_path / "trapping"
    wf_id = c.create_workflow({"name": "term", "jobs": [
        {"name": "graceful", "command": f"trap 'touch {marker}; exit 7' TERM; "
                                        f"touch {trapping}; while true; do sleep 0.05; done",
         "supports_termination": True},
        {"name": "stubborn", "command": "sleep 300"},
        {"name": "after", "command": "true", "depends_on": ["stubborn"]},
    ]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--num-cpus", "4")
    wait_for(lambda: c.status(wf_id).job_counts["running"] == 2 and trapping.exists())
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    assert marker.exists(), "a job that supports termination gets SIGTERM"
    jobs = {j.name: j for j in c.list_jobs(wf_id)}
    assert job_states(c, wf_id) == {"graceful": "terminated", "stubborn": "terminated",
                                    "after": "canceled"}
    assert jobs["graceful"].return_code == 7
    assert jobs["stubborn"].return_code == -9


def test_short_jobs_are_claimed_ahead_and_given_back_when_the_running_ones_are_long(
        coordinator: Coordinator, tmp_path: Path) -> None:
    """After short jobs, a worker queues jobs ahead (pending); when what runs turns out long it
    gives them back (ready again, for other workers); a stopped worker terminates only what
    runs."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "ahead", "jobs": [
        *({"name": f"quick{i}", "command": "true"} for i in range(20)),
        *({"name": f"slow{i}", "command": "sleep 300"} for i in range(6))]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--num-cpus", "2")
    wait_for(lambda: c.status(wf_id).job_counts["running"] == 2
             and c.status(wf_id).job_counts["pending"] > 0, timeout=20)
    wait_for(lambda: c.status(wf_id).job_counts["pending"] == 0, timeout=20)
    counts = c.status(wf_id).job_counts
    assert (counts["completed"], counts["running"], counts["ready"]) == (20, 2, 4), dict(counts)
    wait_heartbeats(c, wf_id, c.list_workers(wf_id)[0].id)  # round its loop, claiming none
    assert c.status(wf_id).job_counts["pending"] == 0, "no claiming ahead behind long jobs"
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(timeout=30) == 0
    counts = c.status(wf_id).job_counts
    assert (counts["completed"], counts["terminated"], counts["ready"]) == (20, 2, 4), \
        dict(counts)


def test_canceling_a_workflow_kills_running_jobs(coordinator: Coordinator,
                                                 tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "cancel", "jobs": [
        {"name": "long", "command": "sleep 300"}, {"name": "next", "command": "true",
                                                    "depends_on": ["long"]}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out")
    wait_for(lambda: c.status(wf_id).job_counts["running"] == 1)
    c.cancel(wf_id)
    assert worker.wait(timeout=30) == 0
    assert job_states(c, wf_id) == {"long": "canceled", "next": "canceled"}
    assert [j.return_code for j in c.list_jobs(wf_id)][0] == -9


def test_signal_exit_reports_negative_return_code(coordinator: Coordinator,
                                                  tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "sig", "jobs": [
        {"name": "segv", "command": "kill -SEGV $$"}]})
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=30) == 0
    job = c.list_jobs(wf_id)[0]
    assert job_states(c, wf_id) == {"segv": "failed"} and job.return_code == -11


def test_idle_timeout(coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({
        "name": "idle",
        "resource_requirements": [{"name": "huge", "num_cpus": 64}],
        "jobs": [{"name": "too_big", "command": "true", "resource_requirements": "huge"}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--num-cpus", "2",
                          "--idle-timeout", "1")
    assert worker.wait(timeout=30) == 0
    assert job_states(c, wf_id) == {"too_big": "ready"}


def test_torc_run_example_end_to_end(tmp_path: Path) -> None:
    r = run_cli("-f", "json", "run", str(ROOT / "examples" / "diamond.yaml"), "--output-dir",
                str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)
    assert summary["job_counts"]["completed"] == 4 and summary["success"]
    assert (tmp_path / "data" / "summary.txt").read_text().strip() == "5050"


def test_torc_run_exits_nonzero_when_a_job_fails(tmp_path: Path) -> None:
    r = run_cli("run", str(ROOT / "examples" / "failing_job.yaml"), "--output-dir",
                str(tmp_path / "out"))
    assert r.returncode == 1
    assert "flaky" in r.stdout and "canceled" in r.stdout
    # The embedded coordinator kept its state: the workflow can be inspected and rerun by id.
    r = run_cli("-f", "json", "run", "1", "--output-dir", str(tmp_path / "out"))
    assert r.returncode == 1
    counts = json.loads(r.stdout)["job_counts"]
    assert counts == {**counts, "completed": 2, "failed": 1, "canceled": 2}


def test_torc_run_of_a_bad_spec_names_the_line_and_leaves_nothing_running(
        tmp_path: Path) -> None:
    """The spec is read while the embedded coordinator starts: a mistake in it is named, and
    that coordinator is stopped (its data directory is free for the next run)."""
    bad = tmp_path / "bad.yaml"
    bad.write_text('name: bad\njobs:\n  - name: a\n    comand: "true"\n')
    r = run_cli("run", str(bad), "--output-dir", str(tmp_path / "out"))
    assert r.returncode == 1
    assert "bad.yaml:4" in r.stderr and "unknown key 'comand'" in r.stderr, r.stderr
    good = write_spec(tmp_path, {"name": "good", "jobs": [{"name": "a", "command": "true"}]})
    r = run_cli("-f", "json", "run", str(good), "--output-dir", str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["id"] == 1  # the bad spec created nothing


def test_torc_run_against_an_existing_coordinator(coordinator: Coordinator,
                                                  tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"name": "remote", "jobs": [
        {"name": f"square_{i}", "command": f"echo $(({i}*{i}))"} for i in range(5)]})
    r = run_cli("-f", "json", "run", str(spec), "--output-dir", str(tmp_path / "out"),
                url=coordinator.url)
    assert r.returncode == 0, r.stderr
    wf_id = json.loads(r.stdout)["id"]
    jobs = cli_json("jobs", "list", str(wf_id), url=coordinator.url)["jobs"]
    assert {j["status"] for j in jobs} == {"completed"}
    assert (tmp_path / "out" / "job_stdio" / f"job_wf{wf_id}_j4_r1_a1.o").read_text() == "9\n"


def test_allocation_end_limits_claims_and_terminates_jobs(coordinator: Coordinator,
                                                          tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({
        "name": "walltime",
        "resource_requirements": [{"name": "quick", "runtime": "PT1S"},
                                  {"name": "hour", "runtime": "PT1H"}],
        "jobs": [{"name": "overruns", "command": "sleep 300", "resource_requirements": "quick"},
                 {"name": "too_long", "command": "true", "resource_requirements": "hour"}]})
    c.initialize(wf_id)
    end = time.time() + 5
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--end-buffer", "2",
                          env={"SLURM_JOB_END_TIME": str(int(end))})
    assert worker.wait(timeout=60) == 0
    # The one-hour job does not fit in the allocation; the other was stopped before its end.
    assert job_states(c, wf_id) == {"overruns": "terminated", "too_long": "ready"}


def test_gpu_jobs_get_devices_no_running_job_shares(coordinator: Coordinator,
                                                    tmp_path: Path) -> None:
    c = coordinator.client
    record = ('echo "$TORC_JOB_NAME $CUDA_VISIBLE_DEVICES $ROCR_VISIBLE_DEVICES '
              '$(date +%s.%N)" >> gpus.log; sleep 0.5; echo "$TORC_JOB_NAME end $(date +%s.%N)"'
              ' >> gpus.log')
    wf_id = c.create_workflow({
        "name": "gpus",
        "resource_requirements": [{"name": "one", "num_gpus": 1, "num_cpus": 1},
                                  {"name": "two", "num_gpus": 2, "num_cpus": 1}],
        "jobs": [*({"name": f"one_{i}", "command": record, "resource_requirements": "one"}
                   for i in range(6)),
                 *({"name": f"two_{i}", "command": record, "resource_requirements": "two"}
                   for i in range(3))]})
    c.initialize(wf_id)
    out = tmp_path / "out"
    # Fake device ids: no GPU is needed to check who holds which.
    worker = start_worker(coordinator.url, wf_id, out, "--gpu-ids", "5,7,9", "--num-cpus", "8")
    assert worker.wait(timeout=120) == 0
    spans: dict[str, list] = {}
    for line in (out / "gpus.log").read_text().splitlines():
        name, *rest = line.split()
        if rest[0] == "end":
            spans[name].append(float(rest[1]))
        else:
            assert rest[0] == rest[1]  # CUDA and ROCR name the same devices
            spans[name] = [set(rest[0].split(",")), float(rest[2])]
    assert len(spans) == 9
    for name, (devices, _, _) in spans.items():
        assert devices <= {"5", "7", "9"} and len(devices) == (2 if name.startswith("two") else 1)
    for a, (da, sa, ea) in spans.items():
        for b, (db, sb, eb) in spans.items():
            if a < b and sa < eb and sb < ea:  # ran at the same time
                assert not da & db, f"{a} and {b} shared {da & db}"
