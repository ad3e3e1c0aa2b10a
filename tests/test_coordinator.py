"""The coordinator as a real process over loopback: API, errors, CLI formats, claims."""

from __future__ import annotations

import threading
from pathlib import Path

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from tests.conftest import Coordinator, cli_json, cli_rows, job_states, run_cli, write_spec
from torc.client import ClientError
from torc.client.stub import raw_stub as stub_for
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc

DIAMOND = {
    "name": "diamond",
    "jobs": [
        {"name": "a", "command": "true"},
        {"name": "b", "command": "true", "depends_on": ["a"]},
        {"name": "c", "command": "true", "depends_on": ["a"]},
        {"name": "d", "command": "true", "depends_on": ["b", "c"]},
    ],
}


def raw_stub(c: Coordinator) -> pb_grpc.TorcStub:
    return stub_for(c.url)


def test_cli_create_initialize_status_and_jobs_json(coordinator: Coordinator,
                                                    tmp_path: Path) -> None:
    spec = write_spec(tmp_path, DIAMOND)
    created = cli_json("workflows", "create", str(spec), url=coordinator.url)
    wf_id = created["id"]
    listed = cli_rows("workflows", "list", url=coordinator.url)
    assert [(w["id"], w["name"]) for w in listed] == [(wf_id, "diamond")]
    run_cli("workflows", "initialize", str(wf_id), url=coordinator.url, check=True)
    status = cli_json("workflows", "status", str(wf_id), url=coordinator.url)
    assert status["job_counts"]["ready"] == 1 and status["job_counts"]["blocked"] == 3
    jobs = cli_json("jobs", "list", str(wf_id), url=coordinator.url)["jobs"]
    assert {j["name"]: (j["status"], j["return_code"]) for j in jobs} == {
        "a": ("ready", None), "b": ("blocked", None), "c": ("blocked", None),
        "d": ("blocked", None)}
    blocked = cli_json("jobs", "list", str(wf_id), "--status", "blocked",
                       url=coordinator.url)["jobs"]
    assert sorted(j["name"] for j in blocked) == ["b", "c", "d"]
    table = run_cli("workflows", "status", str(wf_id), url=coordinator.url, check=True).stdout
    assert "blocked" in table and "ready" in table


def test_cli_errors_are_one_line_with_nonzero_exit(coordinator: Coordinator,
                                                   tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: x\njobs:\n  - name: a\n    comand: true\n")
    r = run_cli("workflows", "create", str(bad), url=coordinator.url)
    assert r.returncode != 0
    assert r.stderr.strip() == f"error: {bad}:4: jobs[0]: unknown key 'comand'"
    r = run_cli("workflows", "initialize", "42", url=coordinator.url)
    assert r.returncode != 0 and r.stderr.strip() == "error: workflow 42 does not exist"
    r = run_cli("jobs", "list", "1", "--status", "bogus", url=coordinator.url)
    assert r.returncode != 0 and "unknown job status 'bogus'" in r.stderr
    assert "Traceback" not in r.stderr
    r = run_cli("workflows", "list", url="127.0.0.1:1")
    assert r.returncode != 0 and "cannot reach the coordinator" in r.stderr
    assert coordinator.client.list_workflows() == []


@pytest.mark.parametrize(("spec_json", "message"), [
    ("{not json", "not valid JSON"),
    ('{"name": "x", "jobs": [{"name": "a", "command": "b"}], "extra": 1}', "unknown key 'extra'"),
    ('{"name": "x", "jobs": [{"name": "a", "command": "b", "depends_on": ["a"]}]}',
     "cannot depend on itself"),
    ('{"name": "x", "jobs": [{"name": "a", "command": "b", "depends_on": ["b"]},'
     ' {"name": "b", "command": "b", "depends_on": ["a"]}]}', "dependency cycle"),
    ('[1, 2]', "expected a mapping"),
])
def test_coordinator_validates_what_it_receives(coordinator: Coordinator, spec_json: str,
                                                message: str) -> None:
    stub = raw_stub(coordinator)
    with pytest.raises(grpc.RpcError) as e:
        stub.CreateWorkflow(pb.CreateWorkflowRequest(spec_json=spec_json, source="wire"))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert message in e.value.details()
    assert coordinator.client.list_workflows() == []


def test_status_codes_for_illegal_requests(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow(DIAMOND)
    with pytest.raises(ClientError) as e:
        c.get_workflow(999)
    assert e.value.code == "NOT_FOUND"
    c.initialize(wf_id)
    with pytest.raises(ClientError) as e:
        c.initialize(wf_id)
    assert e.value.code == "FAILED_PRECONDITION" and "already initialized" in e.value.message
    stub = raw_stub(coordinator)
    with pytest.raises(grpc.RpcError) as e2:
        stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=77))
    assert e2.value.code() == grpc.StatusCode.NOT_FOUND and "worker 77" in e2.value.details()
    w = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id)).worker_id
    with pytest.raises(grpc.RpcError) as e2:
        stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w,
                                         available=pb.Resources(num_cpus=-1)))
    assert e2.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    resp = stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w, reports=[
        pb.JobReport(job_id=2, kind=pb.FINISHED, run_id=1, attempt_id=1),
        pb.JobReport(job_id=99, kind=pb.STARTED)]))
    assert "job 2 (b) is blocked" in resp.rejected[0]
    assert "job 99 does not exist" in resp.rejected[1]
    assert job_states(c, wf_id) == {"a": "ready", "b": "blocked", "c": "blocked",
                                    "d": "blocked"}


def test_health_and_reflection(coordinator: Coordinator) -> None:
    channel = grpc.insecure_channel(coordinator.url)
    health = health_pb2_grpc.HealthStub(channel)
    assert health.Check(health_pb2.HealthCheckRequest()).status == \
        health_pb2.HealthCheckResponse.SERVING
    refl = reflection_pb2_grpc.ServerReflectionStub(channel)
    resp = next(refl.ServerReflectionInfo(iter([reflection_pb2.ServerReflectionRequest(
        list_services="")])))
    names = {s.name for s in resp.list_services_response.service}
    assert "torc.v1.Torc" in names and "grpc.health.v1.Health" in names


def test_concurrent_claimers_never_share_a_job(coordinator: Coordinator) -> None:
    n = 2000
    spec = {"name": "many", "jobs": [{"name": f"j{i}", "command": "true"} for i in range(n)]}
    c = coordinator.client
    wf_id = c.create_workflow(spec)
    c.initialize(wf_id)
    claimed: dict[int, list[int]] = {}

    def claimer(k: int) -> None:
        stub = raw_stub(coordinator)
        w = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id)).worker_id
        got: list[int] = []
        while True:
            resp = stub.ClaimJob(pb.ClaimJobRequest(
                workflow_id=wf_id, worker_id=w, max_jobs=7,
                available=pb.Resources(num_cpus=64, memory_bytes=1 << 40)))
            if not resp.jobs:
                break
            got.extend(j.id for j in resp.jobs)
        claimed[k] = got

    threads = [threading.Thread(target=claimer, args=(k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [j for got in claimed.values() for j in got]
    assert len(everything) == n and len(set(everything)) == n
    assert sum(1 for got in claimed.values() if got) >= 2
    assert c.status(wf_id).job_counts["pending"] == n


def test_reset_and_reinitialize_over_rpc(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "r", "jobs": [
        {"name": "job1", "command": "false"}, {"name": "job2", "command": "true"},
        {"name": "post", "command": "true", "depends_on": ["job1", "job2"]}]})
    c.initialize(wf_id)
    stub = raw_stub(coordinator)
    w = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id)).worker_id
    jobs = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w, available=pb.Resources(
        num_cpus=8, memory_bytes=1 << 30))).jobs
    stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w, reports=[
        pb.JobReport(job_id=j.id, kind=pb.FINISHED, run_id=1, attempt_id=1,
                     return_code=1 if j.name == "job1" else 0) for j in jobs]))
    assert job_states(c, wf_id) == {"job1": "failed", "job2": "completed", "post": "canceled"}
    with pytest.raises(ClientError, match="already initialized"):
        c.initialize(wf_id)
    c.reset_status(wf_id, failed_only=True, reinitialize=True)
    assert job_states(c, wf_id) == {"job1": "ready", "job2": "completed", "post": "blocked"}
    assert c.get_workflow(wf_id).run_id == 2
    c.reset_status(wf_id)
    assert set(job_states(c, wf_id).values()) == {"uninitialized"}
    c.initialize(wf_id)
    assert job_states(c, wf_id)["job2"] == "ready"
    results = cli_rows("results", "list", str(wf_id), "--failed", url=coordinator.url)
    assert [(r["job_name"], r["return_code"]) for r in results] == [("job1", 1)]


def test_cancel_and_delete(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow(DIAMOND)
    c.initialize(wf_id)
    c.cancel(wf_id)
    assert set(job_states(c, wf_id).values()) == {"canceled"}
    assert c.get_workflow(wf_id).complete
    c.delete_workflow(wf_id)
    with pytest.raises(ClientError) as e:
        c.status(wf_id)
    assert e.value.code == "NOT_FOUND"


def test_generated_stubs_match_the_proto(tmp_path: Path) -> None:
    import subprocess

    root = Path(__file__).resolve().parent.parent
    subprocess.run([str(root / "scripts" / "gen-proto"), str(tmp_path)], check=True)
    for name in ("torc_pb2.py", "torc_pb2_grpc.py", "torc_pb2.pyi"):
        committed = (root / "torc" / "proto" / name).read_text()
        fresh = (tmp_path / "torc" / "proto" / name).read_text()
        assert committed == fresh, f"torc/proto/{name} is stale: run scripts/gen-proto"


def test_claims_over_rpc_respect_resources_and_priority(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({
        "name": "fit",
        "resource_requirements": [
            {"name": "gpu", "num_cpus": 2, "memory": "4g", "num_gpus": 1, "runtime": "PT10M"},
            {"name": "fat", "num_cpus": 8, "memory": "64g", "runtime": "PT10M"},
            {"name": "long", "num_cpus": 1, "memory": "1g", "runtime": "PT10H"},
            {"name": "tiny", "num_cpus": 1, "memory": "1g", "runtime": "PT1M"}],
        "jobs": [
            {"name": "gpu_job", "command": "x", "resource_requirements": "gpu"},
            {"name": "fat_job", "command": "x", "resource_requirements": "fat"},
            {"name": "long_job", "command": "x", "resource_requirements": "long"},
            {"name": "tiny_low", "command": "x", "resource_requirements": "tiny"},
            {"name": "tiny_high", "command": "x", "resource_requirements": "tiny",
             "priority": 9}]})
    c.initialize(wf_id)
    stub = raw_stub(coordinator)
    w = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id)).worker_id

    def claim(cpus: int, mem_gb: int, gpus: int = 0, hours: float = 0, n: int = 0) -> list:
        resp = stub.ClaimJob(pb.ClaimJobRequest(
            workflow_id=wf_id, worker_id=w, max_jobs=n, available=pb.Resources(
                num_cpus=cpus, memory_bytes=mem_gb << 30, num_gpus=gpus,
                time_left_seconds=hours * 3600)))
        return [j.name for j in resp.jobs]

    assert claim(4, 16, hours=1, n=1) == ["tiny_high"]
    assert claim(4, 16, hours=1) == ["tiny_low"]  # no GPU, too little memory, too little time
    assert claim(4, 16, gpus=1, hours=1) == ["gpu_job"]
    assert claim(8, 63) == ["long_job"]
    assert claim(8, 64) == ["fat_job"]
    assert claim(64, 1024, gpus=8) == []


@pytest.mark.parametrize(("text", "message"), [
    ("name: x\njobs:\n  - name: a\n    command: [unclosed\n", "invalid YAML"),
    ("name: x\njobs:\n  - {name: a, command: b, depends_on: [c]}\n"
     "  - {name: c, command: d, depends_on: [a]}\n", "dependency cycle"),
    ("name: x\njobs:\n  - {name: a, command: b}\n  - {name: a, command: b}\n",
     "duplicate job name"),
    ("name: x\njobs:\n  - {name: a, command: b, depends_on: [ghost]}\n", "unknown job 'ghost'"),
    ("name: x\njobs:\n  - {name: a, command: b, depends_on_regexes: ['q.*']}\n",
     "matches no job"),
])
def test_malformed_specs_create_nothing(coordinator: Coordinator, tmp_path: Path, text: str,
                                        message: str) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(text)
    r = run_cli("workflows", "create", str(spec), url=coordinator.url)
    assert r.returncode == 1 and message in r.stderr and str(spec) in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    assert coordinator.client.list_workflows() == []


def test_report_with_a_malformed_claim_is_refused_and_changes_nothing(
        coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "piggyback", "jobs": [
        {"name": "a", "command": "x"}, {"name": "b", "command": "x", "depends_on": ["a"]}]})
    c.initialize(wf_id)
    stub = raw_stub(coordinator)
    w = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id)).worker_id
    [a] = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w, available=pb.Resources(
        num_cpus=1, memory_bytes=1 << 30))).jobs
    end = pb.JobReport(job_id=a.id, kind=pb.FINISHED, run_id=a.run_id, attempt_id=a.attempt_id,
                       status=pb.COMPLETED, start_time=1, end_time=2)
    bad = pb.ClaimJobRequest(available=pb.Resources(num_cpus=-1))
    with pytest.raises(grpc.RpcError) as e:
        stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w, reports=[end],
                                                 claim=bad))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "available" in e.value.details()
    assert job_states(c, wf_id) == {"a": "pending", "b": "blocked"}
    # The same report with a good claim ends a and hands out b in one round trip.
    good = pb.ClaimJobRequest(claim_id=7, available=pb.Resources(num_cpus=1,
                                                                 memory_bytes=1 << 30))
    resp = stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf_id, worker_id=w,
                                                    reports=[end], claim=good))
    assert [j.name for j in resp.jobs] == ["b"]
    assert job_states(c, wf_id) == {"a": "completed", "b": "pending"}
