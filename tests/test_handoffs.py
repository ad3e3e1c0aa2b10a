"""Hand-offs: a job's dependent started by the same worker the moment the job succeeds,
claimed by the report of the end (real coordinator processes, raw gRPC and real workers)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Coordinator, job_states, start_worker
from torc.client.stub import raw_stub
from torc.proto import torc_pb2 as pb

CHAIN = {"name": "chain", "jobs": [
    {"name": "c0", "command": "true"},
    *({"name": f"c{i}", "command": "true", "depends_on": [f"c{i - 1}"]} for i in range(1, 6))]}
ROOM = pb.Resources(num_cpus=1, memory_bytes=1 << 30)


def _setup(coordinator: Coordinator, spec: dict[str, Any]) -> tuple[Any, int, int]:
    c = coordinator.client
    wf_id = c.create_workflow(spec)
    c.initialize(wf_id)
    stub = raw_stub(coordinator.url)
    w = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id)).worker_id
    return stub, wf_id, w


def _end(cj: pb.ClaimedJob, rc: int = 0) -> pb.JobReport:
    return pb.JobReport(job_id=cj.id, kind=pb.FINISHED, run_id=cj.run_id,
                        attempt_id=cj.attempt_id, return_code=rc, start_time=1, end_time=2)


def _start_after(cj: pb.ClaimedJob) -> pb.JobReport:
    return pb.JobReport(job_id=cj.id, kind=pb.STARTED, run_id=cj.run_id,
                        attempt_id=cj.attempt_id, start_time=2, after_job_id=cj.after_job_id)


def test_a_claim_names_the_next_links_and_their_start_claims_them(
        coordinator: Coordinator) -> None:
    stub, wf_id, w = _setup(coordinator, CHAIN)
    resp = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w, available=ROOM))
    [c0] = resp.jobs
    nexts = {j.name: j.after_job_id for j in resp.next_jobs}
    assert c0.name == "c0" and list(nexts)[:2] == ["c1", "c2"]
    assert nexts["c1"] == c0.id and all(n not in nexts for n in ("c0",))
    # A hand-off is not a claim: c1 is still blocked, and nobody holds it.
    assert job_states(coordinator.client, wf_id)["c1"] == "blocked"
    c1 = resp.next_jobs[0]
    r = stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w,
                                                 reports=[_end(c0), _start_after(c1)]))
    assert list(r.refused_job_ids) == [] and list(r.rejected) == []
    states = job_states(coordinator.client, wf_id)
    assert (states["c0"], states["c1"], states["c2"]) == ("completed", "running", "blocked")
    # The answer hands on down the chain from the job just started.
    assert [j.name for j in r.next_jobs][:1] == ["c2"] and r.next_jobs[0].after_job_id == c1.id


def test_a_hand_off_is_refused_when_its_parent_failed_and_nothing_changes_for_it(
        coordinator: Coordinator) -> None:
    stub, wf_id, w = _setup(coordinator, CHAIN)
    resp = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w, available=ROOM))
    [c0], c1 = resp.jobs, resp.next_jobs[0]
    r = stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w,
                                                 reports=[_end(c0, rc=1), _start_after(c1)]))
    assert list(r.refused_job_ids) == [c1.id]
    assert any("cannot start after job" in m for m in r.rejected)
    states = job_states(coordinator.client, wf_id)
    assert states["c0"] == "failed" and states["c1"] == "canceled"  # not running anywhere


def test_a_start_after_a_job_still_running_is_refused(coordinator: Coordinator) -> None:
    stub, wf_id, w = _setup(coordinator, CHAIN)
    resp = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w, available=ROOM))
    c1 = resp.next_jobs[0]
    r = stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w,
                                                 reports=[_start_after(c1)]))
    assert list(r.refused_job_ids) == [c1.id]
    assert job_states(coordinator.client, wf_id)["c1"] == "blocked"


def test_another_worker_waiting_for_work_never_gets_the_hand_off(
        coordinator: Coordinator) -> None:
    stub, wf_id, w1 = _setup(coordinator, CHAIN)
    w2 = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id)).worker_id
    resp = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w1, available=ROOM))
    [c0], c1 = resp.jobs, resp.next_jobs[0]
    # w2 long-polls; c0's end makes c1 ready, and w2's poll is woken by it.
    waiting = stub.ClaimJob.future(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w2,
                                                      available=ROOM, wait_seconds=5))
    r = stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w1,
                                                 reports=[_end(c0), _start_after(c1)]))
    assert list(r.refused_job_ids) == []
    assert [j.name for j in waiting.result().jobs] == []
    jobs = {j.name: j for j in coordinator.client.list_jobs(wf_id)}
    assert jobs["c1"].worker_id == w1 and job_states(coordinator.client, wf_id)["c1"] == "running"


def test_no_hand_off_while_other_jobs_are_ready(coordinator: Coordinator) -> None:
    spec = {"name": "busy", "jobs": [
        {"name": "a", "command": "true"}, {"name": "b", "command": "true", "depends_on": ["a"]},
        *({"name": f"x{i}", "command": "true"} for i in range(3))]}
    stub, wf_id, w = _setup(coordinator, spec)
    resp = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w, available=ROOM,
                                            max_jobs=1))
    assert len(resp.jobs) == 1 and list(resp.next_jobs) == []


def test_a_claimed_hand_off_survives_sigkill(coordinator: Coordinator) -> None:
    stub, wf_id, w = _setup(coordinator, CHAIN)
    resp = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w, available=ROOM))
    [c0], c1 = resp.jobs, resp.next_jobs[0]
    stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w,
                                             reports=[_end(c0), _start_after(c1)]))
    coordinator.restart(kill=True)
    states = job_states(coordinator.client, wf_id)
    assert (states["c0"], states["c1"]) == ("completed", "running")
    jobs = {j.name: j for j in coordinator.client.list_jobs(wf_id)}
    assert jobs["c1"].worker_id == w
    # The worker's retry of the same report (its answer lost) changes nothing more.
    again = raw_stub(coordinator.url).ReportStatus(pb.ReportStatusRequest(
        workflow_id=wf_id, worker_id=w, reports=[_end(c0), _start_after(c1)]))
    assert list(again.refused_job_ids) == [] and list(again.rejected) == []


def test_a_real_worker_runs_a_chain_through_hand_offs_and_stops_at_a_failure(
        coordinator: Coordinator, tmp_path: Path) -> None:
    marks = tmp_path / "marks"
    marks.mkdir()
    jobs: list[dict[str, Any]] = [{"name": "s0", "command": f"echo 0 > {marks}/s0"}]
    for i in range(1, 30):
        jobs.append({"name": f"s{i}", "depends_on": [f"s{i - 1}"],
                     "command": f"test -e {marks}/s{i - 1} && echo {i} > {marks}/s{i}"})
    jobs[20]["command"] = "exit 3"  # s20 fails: s21.. must never run
    c = coordinator.client
    wf_id = c.create_workflow({"name": "handoff_chain", "jobs": jobs})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--log-level", "DEBUG",
                          log_name="worker.log")
    assert worker.wait(timeout=120) == 0
    # The links went through hand-offs (not only through claims).
    assert "(hand-off)" in (tmp_path / "out" / "worker.log").read_text()
    states = job_states(c, wf_id)
    assert all(states[f"s{i}"] == "completed" for i in range(20))
    assert states["s20"] == "failed"
    assert all(states[f"s{i}"] == "canceled" for i in range(21, 30))
    assert sorted(p.name for p in marks.iterdir()) == sorted(f"s{i}" for i in range(20))
    results = {r.job_name: r for r in c.list_results(wf_id)}
    assert len(results) == 21 and results["s20"].return_code == 3
    for i in range(1, 21):  # each link started after its parent ended
        assert results[f"s{i}"].start_time >= results[f"s{i - 1}"].end_time


@pytest.mark.parametrize("spawner", ["_spawn", "posix_spawn"])
def test_a_job_that_cannot_start_fails_with_127_whether_handed_off_or_claimed(
        coordinator: Coordinator, tmp_path: Path, spawner: str) -> None:
    # The first link puts a file where the job stdio directory was: the next link's stdout
    # file cannot be opened, so its process cannot start. It fails with 127 (as a shell says
    # of a command it cannot run), the worker goes on and exits 0, and what depends on it is
    # canceled. With torc.worker._spawn the hand-off's process exists, fails to open its
    # stdout and exits 127, and the worker says why once it is reaped. With posix_spawn
    # (TORC_POSIX_SPAWN=1) the spawn itself fails, first as c0's hand-off, then when the
    # worker claims it.
    out = tmp_path / "out"
    c = coordinator.client
    wf_id = c.create_workflow({"name": "unstartable", "jobs": [
        {"name": "c0", "command": 'rm -rf "$TORC_OUTPUT_DIR/job_stdio" && '
                                  'touch "$TORC_OUTPUT_DIR/job_stdio"'},
        {"name": "c1", "command": "true", "depends_on": ["c0"]},
        {"name": "c2", "command": "true", "depends_on": ["c1"]}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out, "--log-level", "DEBUG",
                          log_name="worker.log",
                          env={"TORC_POSIX_SPAWN": "1" if spawner == "posix_spawn" else ""})
    assert worker.wait(timeout=120) == 0
    assert job_states(c, wf_id) == {"c0": "completed", "c1": "failed", "c2": "canceled"}
    results = {r.job_name: r for r in c.list_results(wf_id)}
    assert results["c1"].return_code == 127
    log = (out / "worker.log").read_text()
    if spawner == "_spawn":
        stdout = out / "job_stdio" / "job_wf1_j2_r1_a1.o"
        assert f"(c1) could not start: [Errno 20] Not a directory (stdout): '{stdout}'" in log
        assert log.count("(c1) could not start") == 1
    else:
        assert log.count("(c1) could not start") == 2  # the hand-off, then the claimed job
