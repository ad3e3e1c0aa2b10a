"""Hostile input against a live coordinator: random specs, random protobuf messages, garbage
bytes, oversized requests. Every one gets a gRPC error or a valid answer; the coordinator stays
up and consistent, and restarts into the same state."""

from __future__ import annotations

import json
import re

import grpc
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from tests.conftest import Coordinator
from torc import auth
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc

CLIENT_ERRORS = {grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND,
                 grpc.StatusCode.FAILED_PRECONDITION, grpc.StatusCode.RESOURCE_EXHAUSTED}

KEYS = ["name", "jobs", "command", "depends_on", "depends_on_regexes", "files", "input_files",
        "output_files", "parameters", "parameter_mode", "resource_requirements", "num_cpus",
        "memory", "runtime", "actions", "trigger_type", "action_type", "commands", "jobs",
        "job_name_regexes", "scheduler", "slurm_schedulers", "priority", "user_data",
        "cancel_on_blocking_job_failure", "bogus"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-2**70, 2**70),
                    st.floats(allow_nan=True), st.text(max_size=12),
                    st.sampled_from(["a", "b", "1:3", "[x,y]", "PT1M", "4g", "on_jobs_ready",
                                     "run_commands", "(", ".*", "${files.input.f}", "{i}"]))
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=4),
    st.dictionaries(st.sampled_from(KEYS), inner, max_size=5)), max_leaves=25)
specs = st.one_of(
    values,
    st.fixed_dictionaries({"name": st.text(max_size=8),
                           "jobs": st.lists(st.dictionaries(st.sampled_from(KEYS), values,
                                                            max_size=5), max_size=5)},
                          optional={"actions": st.lists(st.dictionaries(
                              st.sampled_from(KEYS), values, max_size=5), max_size=3),
                              "files": values, "resource_requirements": values}),
)


@pytest.fixture(scope="module")
def coord(tmp_path_factory: pytest.TempPathFactory) -> Coordinator:
    c = Coordinator(tmp_path_factory.mktemp("fuzz") / "coord", "--max-message-mb", "4",
                    "--heartbeat-interval", "600")
    c.start()
    yield c
    c.close()


@pytest.fixture(scope="module")
def stub(coord: Coordinator):  # type: ignore[no-untyped-def]
    """One channel for every example (hundreds of them), closed at the end."""
    channel = auth.sync_channel(coord.url, [("grpc.max_send_message_length", 64 << 20)])
    yield pb_grpc.TorcStub(channel)
    channel.close()


# A refusal names what it refuses: a field, an id, a state or a limit.
NAMES_SOMETHING = re.compile(r"workflow|worker|job|action|report|resources|max_|claim|"
                             r"slurm|status|kind|spec|must|unknown|not |\d")


def state_of(c: Coordinator) -> list:
    out = []
    for w in c.client.list_workflows():
        jobs = [(j.id, j.status, j.return_code if j.HasField("return_code") else None,
                 j.worker_id) for j in c.client.list_jobs(w.id)]
        counts = dict(c.client.status(w.id).job_counts)
        assert sum(counts.values()) == len(jobs) == w.num_jobs
        out.append((w.id, w.run_id, w.canceled, jobs))
    return out


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(spec=specs)
@example(spec={"name": "a"})  # an empty workflow, accepted since issue 35
def test_random_specs(stub: pb_grpc.TorcStub, spec: object) -> None:
    try:
        text = json.dumps(spec)
    except ValueError:
        return
    try:
        wf = stub.CreateWorkflow(pb.CreateWorkflowRequest(spec_json=text, source="fuzz"),
                                 timeout=30)
        assert wf.id > 0
        # A spec without a "jobs" key is an empty workflow to add jobs to (issue 35);
        # one that names jobs and is accepted holds at least one.
        assert wf.num_jobs > 0 or "jobs" not in spec, text
    except grpc.RpcError as e:
        assert e.code() in CLIENT_ERRORS, (e.code(), e.details(), text)
        # Spec errors name the source, then where (key, job, line) and what.
        assert e.details().startswith("fuzz"), e.details()


ids = st.one_of(st.integers(-5, 12), st.integers(-2**63, 2**63 - 1))
doubles = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.just(0.0))
reports = st.builds(pb.JobReport, job_id=ids, kind=st.integers(-3, 5), run_id=ids,
                    attempt_id=ids, return_code=ids, status=st.integers(-2, 14),
                    start_time=doubles, end_time=doubles)
resources = st.builds(pb.Resources, num_cpus=ids, memory_bytes=ids, num_gpus=ids,
                      num_nodes=ids, time_left_seconds=doubles)
claims = st.builds(
    pb.ClaimJobRequest, workflow_id=ids, worker_id=ids, available=st.none() | resources,
    max_jobs=ids, wait_seconds=st.one_of(st.just(0.0), st.floats(-1, 0.05),
                                         st.just(float("nan"))),
    peek=st.booleans(), claim_id=ids, ahead=st.none() | resources, max_ahead=ids)
messages = st.one_of(
    st.tuples(st.just("ClaimJob"), claims),
    st.tuples(st.just("ReportStatus"), st.builds(
        pb.ReportStatusRequest, workflow_id=ids, worker_id=ids,
        reports=st.lists(reports, max_size=5), claim=st.none() | claims)),
    st.tuples(st.just("RegisterWorker"), st.builds(
        pb.RegisterWorkerRequest, workflow_id=ids, hostname=st.text(max_size=20),
        resources=resources, pid=ids, role=st.text(max_size=10))),
    st.tuples(st.just("ClaimAction"), st.builds(
        pb.ClaimActionRequest, workflow_id=ids, worker_id=ids,
        trigger_types=st.lists(st.text(max_size=20), max_size=3), claim_id=ids)),
    st.tuples(st.just("ReportActionResult"), st.builds(
        pb.ReportActionResultRequest, workflow_id=ids, worker_id=ids, action_id=ids,
        execution=st.builds(pb.ActionExecution, success=st.booleans(),
                            message=st.text(max_size=50), start_time=doubles))),
    st.tuples(st.just("RecordAllocation"), st.builds(
        pb.RecordAllocationRequest, workflow_id=ids, worker_id=ids, action_id=ids,
        slurm_job_id=st.text(max_size=10), num_nodes=ids)),
    st.tuples(st.sampled_from(["InitializeWorkflow", "ReinitializeWorkflow", "CancelWorkflow",
                               "GetStatus", "ListActions", "GetWorkflow"]),
              st.builds(pb.WorkflowRef, workflow_id=ids)),
    st.tuples(st.sampled_from(["ListWorkers", "ListFiles", "ListUserData"]),
              st.builds(pb.PageRequest, workflow_id=ids, offset=ids, limit=ids)),
    st.tuples(st.just("ResetStatus"), st.builds(
        pb.ResetStatusRequest, workflow_id=ids, failed_only=st.booleans(),
        reinitialize=st.booleans())),
    st.tuples(st.just("ListJobs"), st.builds(pb.ListJobsRequest, workflow_id=ids,
                                             status=st.integers(-3, 15), offset=ids,
                                             limit=ids)),
    st.tuples(st.just("UnregisterWorker"), st.builds(pb.UnregisterWorkerRequest,
                                                     worker_id=ids)),
    # Issue 36's RPCs: remote worker hosts, held failures judged, Slurm asked now.
    st.tuples(st.just("UpdateRemoteWorkers"), st.builds(
        pb.UpdateRemoteWorkersRequest, workflow_id=ids,
        add=st.lists(st.one_of(st.text(max_size=30), st.sampled_from(
            ["node1", "a@b:22", "[::1]:2222", "[::1", "h:0", "x y", "@", ""])), max_size=5),
        remove=st.lists(st.text(max_size=12), max_size=3))),
    st.tuples(st.just("FailPendingJobs"), st.builds(
        pb.FailPendingJobsRequest, workflow_id=ids, job_ids=st.lists(ids, max_size=4))),
    st.tuples(st.sampled_from(["ListRemoteWorkers"]), st.builds(pb.WorkflowRef,
                                                                workflow_id=ids)),
    st.tuples(st.just("SyncStatus"), st.builds(pb.SyncStatusRequest, workflow_id=ids,
                                               dry_run=st.booleans())),
)


@settings(max_examples=600, deadline=None, suppress_health_check=list(HealthCheck))
@given(calls=st.lists(messages, min_size=1, max_size=8))
def test_random_protobuf_messages(coord: Coordinator, stub: pb_grpc.TorcStub,
                                  calls: list) -> None:
    if not coord.client.list_workflows():
        wf = coord.client.create_workflow({"name": "target", "jobs": [
            {"name": f"j{i}", "command": "true", **({"depends_on": [f"j{i - 1}"]} if i else {})}
            for i in range(10)], "actions": [
            {"trigger_type": "on_jobs_ready", "action_type": "run_commands",
             "jobs": ["j3"], "commands": ["true"]}]})
        coord.client.initialize(wf)
    for method, request in calls:
        try:
            getattr(stub, method)(request, timeout=30)
        except grpc.RpcError as e:
            assert e.code() in CLIENT_ERRORS, (method, e.code(), e.details())
            assert NAMES_SOMETHING.search(e.details()), (method, e.details())


def test_garbage_bytes_and_oversized_requests(coord: Coordinator,
                                              stub: pb_grpc.TorcStub) -> None:
    channel = auth.sync_channel(coord.url, [("grpc.max_send_message_length", 64 << 20)])
    for method in ("CreateWorkflow", "ReportStatus", "ClaimJob", "ListJobs"):
        call = channel.unary_unary(f"/torc.v1.Torc/{method}")
        for junk in (b"\xff" * 7, b"\x0a\xff\xff\xff\xff\x0f", bytes(range(256))):
            with pytest.raises(grpc.RpcError) as e:
                call(junk, timeout=10)
            assert e.value.code() in (grpc.StatusCode.INTERNAL, grpc.StatusCode.INVALID_ARGUMENT,
                                      grpc.StatusCode.UNKNOWN)
    channel.close()
    big = pb.CreateWorkflowRequest(spec_json="x" * (8 << 20))
    with pytest.raises(grpc.RpcError) as e:
        stub.CreateWorkflow(big, timeout=30)
    assert e.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    huge = {"name": "huge", "jobs": [{"name": "j{i}", "command": "true",
                                      "parameters": {"i": "1:1000000000"}}]}
    with pytest.raises(grpc.RpcError) as e:
        stub.CreateWorkflow(pb.CreateWorkflowRequest(spec_json=json.dumps(huge)))
    assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "more than" in e.value.details()


def test_state_is_consistent_and_survives_a_restart(coord: Coordinator,
                                                    stub: pb_grpc.TorcStub) -> None:
    """After abuse (its own, whatever else ran before it), the state replays identically."""
    wf = coord.client.create_workflow({"name": "abused", "jobs": [
        {"name": f"j{i}", "command": "true", **({"depends_on": [f"j{i - 1}"]} if i else {})}
        for i in range(5)]})
    coord.client.initialize(wf)
    w = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf)).worker_id
    offer = pb.Resources(num_cpus=4, memory_bytes=1 << 30)
    abuse = [
        ("ClaimJob", pb.ClaimJobRequest(workflow_id=wf, worker_id=w, available=offer)),
        ("ReportStatus", pb.ReportStatusRequest(workflow_id=wf, worker_id=w, reports=[
            pb.JobReport(job_id=1, kind=pb.STARTED, run_id=1, attempt_id=1)])),
        ("ReportStatus", pb.ReportStatusRequest(workflow_id=wf, worker_id=w, reports=[
            pb.JobReport(job_id=3, kind=pb.FINISHED, run_id=1, attempt_id=1)])),  # not claimed
        ("ReportStatus", pb.ReportStatusRequest(workflow_id=wf, worker_id=w, reports=[
            pb.JobReport(job_id=1, kind=pb.FINISHED, run_id=9, attempt_id=1)])),  # wrong run
        ("ReportStatus", pb.ReportStatusRequest(workflow_id=wf, worker_id=w, reports=[
            pb.JobReport(job_id=1, kind=pb.FINISHED, run_id=1, attempt_id=1,
                         return_code=0)])),
        ("ClaimJob", pb.ClaimJobRequest(workflow_id=wf, worker_id=w + 99, available=offer)),
        ("ResetStatus", pb.ResetStatusRequest(workflow_id=wf, failed_only=True)),
        ("CancelWorkflow", pb.WorkflowRef(workflow_id=wf)),
        ("InitializeWorkflow", pb.WorkflowRef(workflow_id=wf)),
    ]
    for method, request in abuse:
        try:
            getattr(stub, method)(request, timeout=30)
        except grpc.RpcError as e:
            assert e.code() in CLIENT_ERRORS, (method, e.code(), e.details())
    before = state_of(coord)
    coord.restart(kill=True)
    assert state_of(coord) == before
    assert coord.proc is not None and coord.proc.poll() is None


def test_a_report_with_a_time_or_figure_that_is_no_number_is_refused(
        coord: Coordinator, stub: pb_grpc.TorcStub) -> None:
    """NaN and infinity are not times or resource figures: refused naming the job and the
    field, and nothing of the report is applied (a result holding one would also read back
    differently after a restart)."""
    wf = coord.client.create_workflow({"name": "nan", "jobs": [
        {"name": "a", "command": "true"}]})
    coord.client.initialize(wf)
    w = stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf)).worker_id
    job = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf, worker_id=w, available=pb.Resources(
        num_cpus=1, memory_bytes=1 << 30)), timeout=30).jobs[0]
    ids = {"job_id": job.id, "run_id": job.run_id, "attempt_id": job.attempt_id}
    bad = [("start_time", pb.JobReport(kind=pb.STARTED, start_time=float("nan"), **ids)),
           ("end_time", pb.JobReport(kind=pb.FINISHED, start_time=1.0, end_time=float("inf"),
                                     **ids)),
           ("peak_cpu_percent", pb.JobReport(kind=pb.FINISHED, start_time=1.0, end_time=2.0,
                                             peak_cpu_percent=float("-inf"), **ids)),
           ("output_mtimes", pb.JobReport(kind=pb.FINISHED, start_time=1.0, end_time=2.0,
                                          output_mtimes={1: float("nan")}, **ids))]
    for field, report in bad:
        with pytest.raises(grpc.RpcError) as e:
            stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf, worker_id=w,
                                                     reports=[report]), timeout=30)
        assert e.value.code() == grpc.StatusCode.INVALID_ARGUMENT, e.value.details()
        assert field in e.value.details() and f"job {job.id}" in e.value.details(), \
            e.value.details()
        assert [j.status for j in coord.client.list_jobs(wf)] == [pb.PENDING]
    stub.ReportStatus(pb.ReportStatusRequest(workflow_id=wf, worker_id=w, reports=[
        pb.JobReport(kind=pb.STARTED, start_time=1.5, **ids),
        pb.JobReport(kind=pb.FINISHED, start_time=1.5, end_time=2.25, peak_cpu_percent=50.0,
                     **ids)]), timeout=30)
    coord.restart(kill=True)
    [result] = coord.client.list_results(wf)
    assert (result.return_code, result.peak_cpu_percent) == (0, 50.0)
