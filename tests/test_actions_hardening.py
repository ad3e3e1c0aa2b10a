"""Actions and registrations under retries and lost workers: a lost worker's claimed action is
offered to others and its late result refused; retried results and registrations are
idempotent; allocations sbatch accepted are always recorded; jobs wait for on_workflow_start."""

from __future__ import annotations

import grpc
import pytest

from tests.conftest import Coordinator, wait_for
from torc.client.stub import raw_stub
from torc.proto import torc_pb2 as pb

SETUP = {"name": "setup", "jobs": [{"name": f"j{i}", "command": "true"} for i in range(3)],
         "actions": [{"trigger_type": "on_workflow_start", "action_type": "run_commands",
                      "commands": ["mkdir -p out"]}]}
OFFER = pb.Resources(num_cpus=8, memory_bytes=1 << 34)


def register(stub, wf_id: int, instance: str = "") -> int:  # type: ignore[no-untyped-def]
    return stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=wf_id, hostname="test",
                                                        instance_id=instance)).worker_id


def claim_actions(stub, wf_id: int, w: int) -> list[int]:  # type: ignore[no-untyped-def]
    resp = stub.ClaimAction(pb.ClaimActionRequest(workflow_id=wf_id, worker_id=w))
    return [a.id for a in resp.actions]


def result(stub, wf_id: int, w: int, action_id: int,  # type: ignore[no-untyped-def]
           start: float = 1.0) -> None:
    stub.ReportActionResult(pb.ReportActionResultRequest(
        workflow_id=wf_id, worker_id=w, action_id=action_id,
        execution=pb.ActionExecution(start_time=start, end_time=start + 1, success=True,
                                     message="ok")))


def claim_jobs(stub, wf_id: int, w: int) -> list[int]:  # type: ignore[no-untyped-def]
    resp = stub.ClaimJob(pb.ClaimJobRequest(workflow_id=wf_id, worker_id=w, available=OFFER,
                                            wait_seconds=0))
    return [j.id for j in resp.jobs]


def workflow(c: Coordinator) -> int:
    wf_id = c.client.create_workflow(SETUP)
    c.client.initialize(wf_id)
    return wf_id


def test_a_lost_workers_action_is_offered_again_and_its_late_result_refused(
        coordinator: Coordinator) -> None:
    stub = raw_stub(coordinator.url)
    wf_id = workflow(coordinator)
    w1 = register(stub, wf_id)
    assert claim_actions(stub, wf_id, w1) == [1]
    # w1 never heartbeats: the coordinator (1 s interval) declares it lost.
    wait_for(lambda: [w for w in coordinator.client.list_workers(wf_id) if w.lost])
    w2 = register(stub, wf_id)
    assert claim_actions(stub, wf_id, w2) == [1]
    with pytest.raises(grpc.RpcError) as e:
        result(stub, wf_id, w1, 1)
    assert e.value.code() == grpc.StatusCode.FAILED_PRECONDITION
    assert "lost" in e.value.details()
    result(stub, wf_id, w2, 1)
    (action,) = coordinator.client.list_actions(wf_id)
    assert [x.worker_id for x in action.executions] == [w2]


def test_a_retried_action_result_is_recorded_once(coordinator: Coordinator) -> None:
    stub = raw_stub(coordinator.url)
    wf_id = workflow(coordinator)
    w = register(stub, wf_id)
    assert claim_actions(stub, wf_id, w) == [1]
    result(stub, wf_id, w, 1, start=5.0)
    result(stub, wf_id, w, 1, start=5.0)  # the first answer was lost; the worker re-sends
    (action,) = coordinator.client.list_actions(wf_id)
    assert len(action.executions) == 1
    coordinator.restart(kill=True)
    (action,) = coordinator.client.list_actions(wf_id)
    assert len(action.executions) == 1


def test_a_retried_registration_gets_the_same_worker(coordinator: Coordinator) -> None:
    stub = raw_stub(coordinator.url)
    wf_id = workflow(coordinator)
    first = register(stub, wf_id, instance="abc")
    assert register(stub, wf_id, instance="abc") == first
    assert register(stub, wf_id, instance="def") != first
    assert len(coordinator.client.list_workers(wf_id)) == 2


def test_allocations_are_recorded_from_a_lost_submitter_and_on_retry(
        coordinator: Coordinator) -> None:
    spec = {"name": "s", "jobs": [{"name": "a", "command": "true"}],
            "slurm_schedulers": [{"name": "short", "walltime": "00:10:00"}],
            "actions": [{"trigger_type": "on_workflow_start", "action_type": "schedule_nodes",
                         "scheduler": "short", "scheduler_type": "slurm",
                         "num_allocations": 1}]}
    wf_id = coordinator.client.create_workflow(spec)
    coordinator.client.initialize(wf_id)
    stub = raw_stub(coordinator.url)
    w = register(stub, wf_id)
    assert claim_actions(stub, wf_id, w) == [1]
    wait_for(lambda: [x for x in coordinator.client.list_workers(wf_id) if x.lost])
    # sbatch accepted job 4242 while the submitter was silent: it must still be recorded, or
    # `workflows cancel` would never scancel it.
    request = pb.RecordAllocationRequest(workflow_id=wf_id, worker_id=w, action_id=1,
                                         slurm_job_id="4242", scheduler="short", num_nodes=1)
    stub.RecordAllocation(request)
    stub.RecordAllocation(request)  # retried
    assert [a.slurm_job_id for a in coordinator.client.list_allocations(wf_id)] == ["4242"]


def test_jobs_wait_for_on_workflow_start_to_finish(coordinator: Coordinator) -> None:
    stub = raw_stub(coordinator.url)
    wf_id = workflow(coordinator)
    w1, w2 = register(stub, wf_id), register(stub, wf_id)
    assert claim_actions(stub, wf_id, w1) == [1]
    # While w1 runs the setup action, no worker gets a job.
    assert claim_jobs(stub, wf_id, w2) == []
    assert claim_jobs(stub, wf_id, w1) == []
    result(stub, wf_id, w1, 1)
    assert sorted(claim_jobs(stub, wf_id, w2)) == [1, 2, 3]
