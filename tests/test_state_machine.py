"""The job state machine, unblocking, cancellation and claim packing (pure logic)."""

from __future__ import annotations

import json

import pytest

from torc import states as S
from torc.errors import FailedPrecondition
from torc.server.persistence import codec
from torc.server.state import event_codec
from torc.server.state import events as E
from torc.server.state.claims import Offer
from torc.server.state.reports import FINISHED, STARTED
from torc.server.state.store import Store
from torc.server.state.workflow import Workflow
from torc.spec.load import parse_text
from torc.spec.validate import normalize

BIG = Offer(num_cpus=1000, memory=1 << 50, num_gpus=100)


def wf_from(text: str) -> Workflow:
    return Workflow(1, normalize(parse_text(text)), "me", 0.0)


def state(wf: Workflow) -> dict[str, str]:
    return {j.name: S.name(j.status) for j in wf.jobs}


def by_name(wf: Workflow, name: str) -> int:
    return next(j.id for j in wf.jobs if j.name == name)


def run(wf: Workflow, name: str, rc: int = 0, worker: int = 1) -> None:
    job_id = by_name(wf, name)
    wf.transitions.claim(worker, [job_id])
    wf.transitions.start(worker, job_id)
    wf.transitions.finish(worker, job_id, S.COMPLETED if rc == 0 else S.FAILED, rc, 0.0, 1.0)


DIAMOND = """
name: diamond
jobs:
  - {name: a, command: "true"}
  - {name: b, command: "true", depends_on: [a]}
  - {name: c, command: "true", depends_on: [a]}
  - {name: d, command: "true", depends_on: [b, c]}
"""


def test_diamond_unblocks_in_order() -> None:
    wf = wf_from(DIAMOND)
    assert set(state(wf).values()) == {"uninitialized"}
    wf.initialize()
    assert state(wf) == {"a": "ready", "b": "blocked", "c": "blocked", "d": "blocked"}
    run(wf, "a")
    assert state(wf) == {"a": "completed", "b": "ready", "c": "ready", "d": "blocked"}
    run(wf, "b")
    assert state(wf)["d"] == "blocked"
    run(wf, "c")
    assert state(wf)["d"] == "ready"
    assert not wf.complete
    run(wf, "d")
    assert wf.complete
    assert wf.counts[S.COMPLETED] == 4


def test_illegal_transitions_change_nothing() -> None:
    wf = wf_from(DIAMOND)
    wf.initialize()
    with pytest.raises(FailedPrecondition, match="already initialized"):
        wf.initialize()
    b = by_name(wf, "b")
    with pytest.raises(FailedPrecondition, match=r"job 2 \(b\) is blocked, not ready"):
        wf.transitions.claim(1, [by_name(wf, "a"), b])
    assert state(wf)["a"] == "ready"  # the legal half of the batch was not applied either
    a = by_name(wf, "a")
    with pytest.raises(FailedPrecondition, match="is ready; cannot start"):
        wf.transitions.start(1, a)
    wf.transitions.claim(1, [a])
    with pytest.raises(FailedPrecondition, match="held by worker 1, not 2"):
        wf.transitions.start(2, a)
    with pytest.raises(FailedPrecondition, match="held by worker 1, not 2"):
        wf.transitions.finish(2, a, S.COMPLETED, 0, 0, 1)
    wf.transitions.start(1, a)
    with pytest.raises(FailedPrecondition, match="stale"):
        wf.transitions.finish(1, a, S.COMPLETED, 0, 0, 1, run_id=7)
    wf.transitions.finish(1, a, S.COMPLETED, 0, 0, 1)
    with pytest.raises(FailedPrecondition, match="completed; cannot finish"):
        wf.transitions.finish(1, a, S.FAILED, 1, 0, 1)
    assert state(wf)["a"] == "completed"
    wf.transitions.claim(1, [by_name(wf, "b")])
    with pytest.raises(FailedPrecondition, match="pending or running"):
        wf.reset_status(False)
    assert state(wf) == {"a": "completed", "b": "pending", "c": "ready", "d": "blocked"}


def test_failure_cancels_transitively_but_not_opted_out_jobs() -> None:
    wf = wf_from("""
name: f
jobs:
  - {name: a, command: "false"}
  - {name: b, command: "true", depends_on: [a]}
  - {name: c, command: "true", depends_on: [b]}
  - {name: d, command: "true", depends_on: [a], cancel_on_blocking_job_failure: false}
  - {name: e, command: "true", depends_on: [d]}
  - {name: x, command: "true"}
  - {name: y, command: "true", depends_on: [x, b]}
""")
    wf.initialize()
    run(wf, "a", rc=1)
    assert state(wf) == {"a": "failed", "b": "canceled", "c": "canceled", "d": "ready",
                         "e": "blocked", "x": "ready", "y": "canceled"}
    run(wf, "d")
    assert state(wf)["e"] == "ready"


def test_fan_in_waits_for_all() -> None:
    jobs = "\n".join(f"  - {{name: w{i}, command: 'true'}}" for i in range(50))
    wf = wf_from(f"name: fan\njobs:\n{jobs}\n  - name: sink\n    command: 'true'\n"
                 f"    depends_on_regexes: ['w.*']\n")
    wf.initialize()
    for i in range(49):
        run(wf, f"w{i}")
        assert state(wf)["sink"] == "blocked"
    run(wf, "w49")
    assert state(wf)["sink"] == "ready"


def test_reset_failed_only_and_reinitialize() -> None:
    wf = wf_from("""
name: r
jobs:
  - {name: job1, command: "false"}
  - {name: job2, command: "true"}
  - {name: post, command: "true", depends_on: [job1, job2]}
""")
    wf.initialize()
    run(wf, "job1", rc=1)
    run(wf, "job2")
    assert state(wf) == {"job1": "failed", "job2": "completed", "post": "canceled"}
    assert wf.complete
    wf.reset_status(True)
    assert state(wf) == {"job1": "uninitialized", "job2": "completed", "post": "uninitialized"}
    wf.reinitialize()
    assert wf.run_id == 2
    assert state(wf) == {"job1": "ready", "job2": "completed", "post": "blocked"}
    run(wf, "job1")
    assert state(wf)["post"] == "ready"
    run(wf, "post")
    assert wf.complete
    runs = {(r[0], r[1]) for r in wf.results}
    assert (by_name(wf, "job1"), 1) in runs and (by_name(wf, "job1"), 2) in runs


def test_reset_all() -> None:
    wf = wf_from(DIAMOND)
    wf.initialize()
    run(wf, "a")
    wf.reset_status(False)
    assert set(state(wf).values()) == {"uninitialized"}
    assert not wf.initialized
    wf.initialize()
    assert state(wf)["a"] == "ready"


def test_cancel_workflow() -> None:
    wf = wf_from(DIAMOND)
    wf.initialize()
    a = by_name(wf, "a")
    wf.transitions.claim(1, [a])
    wf.transitions.start(1, a)
    running = wf.cancel()
    assert [j.name for j in running] == ["a"]
    assert state(wf) == {"a": "running", "b": "canceled", "c": "canceled", "d": "canceled"}
    assert not wf.complete
    wf.transitions.finish(1, a, S.CANCELED, -9, 0, 1)
    assert wf.complete
    assert wf.pick(BIG, 10) == []


def test_claims_respect_resources_priority_and_runtime() -> None:
    wf = wf_from("""
name: c
resource_requirements:
  - {name: big, num_cpus: 4, memory: 8g, runtime: PT2H}
  - {name: gpu, num_cpus: 1, memory: 1g, num_gpus: 1, runtime: PT10M}
  - {name: small, num_cpus: 1, memory: 1g, runtime: PT10M}
jobs:
  - {name: big1, command: x, resource_requirements: big, priority: 5}
  - {name: big2, command: x, resource_requirements: big, priority: 5}
  - {name: gpu1, command: x, resource_requirements: gpu}
  - {name: s_low, command: x, resource_requirements: small, priority: -1}
  - {name: s_high, command: x, resource_requirements: small, priority: 10}
""")
    wf.initialize()
    names = lambda ids: [wf.jobs[i - 1].name for i in ids]  # noqa: E731

    def claim(offer: Offer) -> list[str]:
        ids = wf.pick(offer, 10)
        wf.transitions.claim(1, ids)
        return names(ids)

    # 5 CPUs, 10 GiB, no GPU: the high-priority small job, then one big job; s_low no longer fits.
    assert claim(Offer(5, 10 << 30, 0)) == ["s_high", "big1"]
    # An hour left: big jobs (2 h) do not fit, the GPU job needs a GPU.
    assert claim(Offer(8, 64 << 30, 0, time_left=3600)) == ["s_low"]
    assert claim(Offer(8, 64 << 30, 1, time_left=3600)) == ["gpu1"]
    assert claim(Offer(8, 64 << 30, 0)) == ["big2"]


def test_a_pick_changes_nothing_until_its_claim_is_applied() -> None:
    """The claim decision is made without touching the state: picking twice chooses the same
    jobs, and only the ClaimJobs event (applied by the store) takes them out of the queue."""
    jobs = "\n".join(f"  - {{name: j{i}, command: 'true'}}" for i in range(10))
    store = Store()
    store.apply(E.CreateWorkflow(1, normalize(parse_text(f"name: w\njobs:\n{jobs}\n")), "",
                                 0.0))
    store.apply(E.InitializeWorkflow(1, 0.0))
    store.apply(E.RegisterWorker(1, 1, 0.0))
    wf = store.workflow(1)
    before = codec.dump_store(store)
    first = wf.pick(Offer(3, 1 << 40, 0), 10)
    assert wf.pick(Offer(3, 1 << 40, 0), 10) == first == [1, 2, 3]
    assert codec.dump_store(store) == before and wf.ready.ids() == set(range(1, 11))
    picker = wf.picker()
    assert picker is not None
    assert picker.take(Offer(2, 1 << 40, 0), 10) == [1, 2]
    assert picker.take(Offer(2, 1 << 40, 0), 10) == [3, 4], "loads never choose a job twice"
    store.apply(E.ClaimJobs(1, 1, tuple(first)))
    assert wf.ready.ids() == set(range(4, 11))
    assert wf.pick(Offer(3, 1 << 40, 0), 10) == [4, 5, 6]
    wf.check()


def test_claim_batch_limit() -> None:
    jobs = "\n".join(f"  - {{name: j{i}, command: 'true'}}" for i in range(100))
    wf = wf_from(f"name: many\njobs:\n{jobs}\n")
    wf.initialize()
    first = wf.pick(BIG, 30)
    assert len(first) == 30
    wf.transitions.claim(1, first)
    second = wf.pick(BIG, 1000)
    assert len(second) == 70 and not set(first) & set(second)


def test_store_reports_are_idempotent_and_reject_stale() -> None:
    store = Store()
    spec = normalize(parse_text(DIAMOND))
    store.apply(E.CreateWorkflow(1, spec, "", 0.0))
    store.apply(E.InitializeWorkflow(1, 0.0))
    store.apply(E.RegisterWorker(1, 1, 0.0))
    store.apply(E.ClaimJobs(1, 1, (1,)))
    report = E.Report(1, 1, (E.ReportRow(1, STARTED, 0, 0, 1.0, 0.0, 1, 1),
                             E.ReportRow(1, FINISHED, 0, 0, 1.0, 2.0, 1, 1)))
    assert store.apply(report)[0].rejected == []
    # The same batch again (a retry after a lost answer) is accepted and changes nothing.
    assert store.apply(report)[0].rejected == []
    assert len(store.workflow(1).results) == 1
    outcome, _ = store.apply(E.Report(1, 1, (E.ReportRow(2, FINISHED, 0, 0, 1.0, 2.0, 1, 1),)))
    rejected = outcome.rejected
    assert len(rejected) == 1 and "job 2 (b) is ready" in rejected[0]
    store.apply(E.WorkerLost(1, 5.0))
    with pytest.raises(FailedPrecondition, match="declared lost"):
        store.apply(E.ClaimJobs(1, 1, (2,)))


def test_worker_loss_fails_running_and_releases_pending() -> None:
    store = Store()
    store.apply(E.CreateWorkflow(1, normalize(parse_text(DIAMOND)), "", 0.0))
    store.apply(E.InitializeWorkflow(1, 0.0))
    store.apply(E.RegisterWorker(1, 1, 0.0))
    store.apply(E.ClaimJobs(1, 1, (1,)))
    store.apply(E.Report(1, 1, (E.ReportRow(1, STARTED, 0, 0, 1, 0, 1, 1),)))
    store.apply(E.WorkerLost(1, 5.0))
    wf = store.workflow(1)
    assert wf.jobs[0].status == S.FAILED and wf.jobs[0].return_code == S.LOST_RETURN_CODE
    assert {wf.jobs[i].status for i in (1, 2, 3)} == {S.CANCELED}


def test_snapshot_roundtrip_preserves_state() -> None:
    store = Store()
    store.apply(E.CreateWorkflow(1, normalize(parse_text(DIAMOND)), "", 0.0))
    store.apply(E.InitializeWorkflow(1, 0.0))
    store.apply(E.RegisterWorker(1, 1, 0.0))
    store.apply(E.ClaimJobs(1, 1, (1,)))
    store.apply(E.Report(1, 1, (E.ReportRow(1, FINISHED, 0, 0, 1, 2, 1, 1),)))
    copy = codec.restore(codec.dump_store(store))
    assert codec.dump_store(copy) == codec.dump_store(store)
    wf = copy.workflow(1)
    assert sorted(wf.pick(BIG, 10)) == [2, 3]
    assert wf.counts == store.workflow(1).counts


def test_apply_returns_what_the_service_must_do() -> None:
    store = Store()
    _, fx = store.apply(E.CreateWorkflow(1, normalize(parse_text(DIAMOND)), "", 0.0))
    assert [f.kind for f in fx.feed] == ["created"] and not fx.wake
    _, fx = store.apply(E.InitializeWorkflow(1, 0.0))
    assert fx.wake == {1} and [f.kind for f in fx.feed] == ["initialized"]
    store.apply(E.RegisterWorker(1, 1, 0.0))
    _, fx = store.apply(E.ClaimJobs(1, 1, (1,)))
    assert not fx.wake and not fx.feed  # a claim wakes nobody
    _, fx = store.apply(E.WorkerLost(1, 5.0))
    assert fx.wake == {1} and "compute_node_stopped" in [f.kind for f in fx.feed]
    store.check()


def test_workers_and_allocations_make_torcs_event_kinds() -> None:
    """Torc's feed says when a compute node (worker) starts and stops and when a scheduler
    node (Slurm allocation) is created; a worker that stops is said to have left or been
    lost, whether or not it held jobs."""
    store = Store()
    store.apply(E.CreateWorkflow(1, normalize(parse_text(DIAMOND)), "", 0.0))
    _, fx = store.apply(E.RegisterWorker(1, 1, 1.0, hostname="h1", slurm_job_id="77"))
    assert [(f.kind, f.message) for f in fx.feed] == [
        ("compute_node_started", "worker 1 started on h1 (Slurm job 77)")]
    _, fx = store.apply(E.RecordAllocation(1, 1, 0, "78", 2.0, scheduler="gpus"))
    assert [f.kind for f in fx.feed] == ["scheduler_node_created"]
    assert "78" in fx.feed[0].message and "gpus" in fx.feed[0].message
    _, fx = store.apply(E.UnregisterWorker(1, 3.0))
    assert [(f.kind, f.message) for f in fx.feed] == [
        ("compute_node_stopped", "worker 1 on h1 left")]
    store.apply(E.RegisterWorker(2, 1, 4.0, hostname="h2"))
    _, fx = store.apply(E.WorkerLost(2, 5.0))
    assert [(f.kind, f.message) for f in fx.feed] == [
        ("compute_node_stopped", "worker 2 on h2 lost")]


def test_every_event_round_trips_through_its_encoding() -> None:
    samples = [
        E.CreateWorkflow(1, {"name": "x"}, "alice", 1.5), E.DeleteWorkflow(1, 2.0),
        E.InitializeWorkflow(1, 2.0), E.ReinitializeWorkflow(1, 2.0),
        E.ResetStatus(1, 2.0, failed_only=True, reinit=True), E.CancelWorkflow(1, 2.0),
        E.RegisterWorker(3, 1, 2.0, hostname="h", resources={"num_cpus": 4}, instance="i"),
        E.UnregisterWorker(3, 2.0), E.ClaimJobs(1, 3, (4, 5), 9),
        E.Report(1, 3, (E.ReportRow(4, STARTED, 0, 0, 1.0, 0.0, 1, 1),)),
        E.ClaimActions(1, 3, (1,), 2), E.ActionResult(1, 3, 1, {"success": True}),
        E.WorkerLost(3, 2.0), E.RecordAllocation(1, 3, 1, "77", 2.0, "s", 2),
        E.AllocationState(1, "77", "RUNNING", 2.0), E.UpdateUserData(1, 2, {"x": [1]}, 2.0),
        E.ResetStatus(1, 2.0, job_ids=(3, 4)), E.GroupCreate(1, "g", 2.0, "d"),
        E.GroupDelete(1, 2.0), E.GroupAddUser(1, "bob", 2.0, "admin"),
        E.GroupRemoveUser(1, "bob", 2.0), E.GroupAddWorkflow(1, 1, 2.0),
        E.GroupRemoveWorkflow(1, 1, 2.0),
        E.InitializeWorkflow(1, 2.0, ((0, 12.5), (2, 13.0))),
        E.ReinitializeWorkflow(1, 2.0, ()),
        E.Report(1, 3, (E.ReportRow(4, STARTED, 1, 0, 1.0, 2.0, 1, 1, "out of memory",
                                    (300, 200, 99.5, 50.0), 0, ((1, 5.5),)),)),
        E.UpdateJob(1, 4, 2.0, priority=3, rr_name="big", resources={"memory": 5},
                    command="echo"),
        E.ImportWorkflow(2, {"name": "x"}, "alice", 2.0,
                         {"status": [6], "results": [[1, 1, 1, 0, 6, 1.0, 2.0, 0]]},
                         ((1.0, "created", "workflow made"),)),
        E.ArchiveWorkflow(1, True, 2.0), E.CancelJobs(1, (3, 4), 2.0, terminate=True),
        E.ResetStatus(1, 2.0, job_ids=(3,), retry=True),
        E.FailPending(1, (3, 4), 2.0),
        E.RemoteWorkers(1, ("alice@node1:2222", "[::1]:22"), ("node2",), 2.0),
        E.AddToWorkflow(1, 2.0, {"name": ["b"], "deps": [[0]]}, files=[{"name": "f"}],
                        user_data=[{"name": "u", "data": {"x": 1}}],
                        resource_requirements=[{"name": "big", "num_cpus": 2}])]
    assert {type(e) for e in samples} == set(E.KINDS.values())
    for event in samples:
        data = json.loads(json.dumps(event_codec.to_json(event)))
        assert data["v"] == E.VERSION
        assert event_codec.from_json(data) == event


def test_version_1_records_still_decode_and_damage_is_refused() -> None:
    assert event_codec.from_json({"t": "claim", "wf": 1, "worker": 2, "jobs": [3], "cid": 4}) == \
        E.ClaimJobs(1, 2, (3,), 4)
    assert event_codec.from_json({"t": "report", "wf": 1, "worker": 2,
                        "r": [[3, 1, 0, 0, 1.0, 0.0, 1, 1]]}).rows[0].job_id == 3
    for bad in ({"t": "nope"}, {"v": 9, "t": "init", "workflow_id": 1, "ts": 0},
                {"v": 2, "t": "init", "workflow_id": 1, "ts": 0, "extra": 1}):
        with pytest.raises(ValueError):
            event_codec.from_json(bad)


def test_snapshots_keep_job_specs_as_columns_and_still_read_the_older_form() -> None:
    store = Store()
    spec = normalize({"name": "cols", "files": [{"name": "f", "path": "f.txt"}],
                      "failure_handlers": [{"name": "h", "rules": [{"exit_codes": [3]}]}],
                      "jobs": [{"name": "a", "command": "echo > f.txt", "output_files": ["f"],
                                "failure_handler": "h", "stdio": {"mode": "combined"}},
                               {"name": "b", "command": "cat f.txt", "priority": 4,
                                "input_files": ["f"]}]})
    store.apply(E.CreateWorkflow(1, spec, "u", 1.0))
    store.apply(E.InitializeWorkflow(1, 2.0))
    snap = json.loads(json.dumps(codec.dump_store(store)))
    (wf,) = snap["workflows"]
    assert "jobs" not in wf["spec"] and wf["job_specs"]["name"] == ["a", "b"]
    older = json.loads(json.dumps(snap))
    (old,) = older["workflows"]
    old["spec"]["jobs"] = [j.to_spec() for j in store.workflows[1].jobs]
    del old["job_specs"]
    for data in (snap, older):
        back = codec.restore(data)
        back.check()
        assert [j.to_spec() for j in back.workflows[1].jobs] == \
            [j.to_spec() for j in store.workflows[1].jobs]
        assert [j.status for j in back.workflows[1].jobs] == [S.READY, S.BLOCKED]


RICH = """
name: rich
failure_handlers:
  - name: retry
    rules: [{exit_codes: [1], max_retries: 2}]
files:
  - {name: data, path: data.txt}
user_data:
  - {name: cfg, data: {k: 1}}
resource_requirements:
  - {name: big, num_cpus: 2, memory: 1g, runtime: P0DT1H}
slurm_schedulers:
  - {name: s1, account: a, nodes: 1, walltime: "01:00:00"}
jobs:
  - name: make
    command: echo > ${files.output.data}
    failure_handler: retry
    stdio: {mode: combined}
    priority: 5
    scheduler: s1
    resource_requirements: big
  - name: use
    command: cat ${files.input.data} ${user_data.input.cfg}
    invocation_script: bash -x
    supports_termination: true
    cancel_on_blocking_job_failure: false
    retry_on_worker_loss: 2
  - name: last
    command: "true"
    depends_on: [use]
"""


def test_a_create_logged_as_columns_replays_to_the_same_jobs() -> None:
    """The create record keeps jobs column by column; after a round trip through the log's
    JSON every job field (a failure handler at index 0, stdio, I/O, flags) is as created."""
    spec = normalize(parse_text(RICH))
    live = Store()
    live.apply(E.CreateWorkflow(1, spec, "u", 1.0))
    event = E.CreateWorkflow.columnar(1, spec, "u", 1.0)
    assert "jobs" not in event.spec
    replayed = Store()
    replayed.apply(event_codec.from_json(json.loads(json.dumps(event_codec.to_json(event)))))
    want, got = live.workflow(1), replayed.workflow(1)
    assert got.to_spec() == want.to_spec()
    assert got.jobs[0].handler == 0 and got.jobs[0].stdio == want.jobs[0].stdio
    assert [j.dependents for j in got.jobs] == [j.dependents for j in want.jobs]


def _two_workflows_with_results() -> Store:
    store = Store()
    for wf_id in (1, 2):
        store.apply(E.CreateWorkflow(wf_id, normalize(parse_text(DIAMOND)), "", 0.0))
        store.apply(E.InitializeWorkflow(wf_id, 0.0))
        store.apply(E.RegisterWorker(wf_id, wf_id, 0.0))
        store.apply(E.ClaimJobs(wf_id, wf_id, (1,)))
        store.apply(E.Report(wf_id, wf_id, (E.ReportRow(1, FINISHED, 0, 0, 1, 2, 1, 1),)))
    return store


def test_global_ids_are_given_in_apply_and_kept_in_snapshots() -> None:
    """Replaying the same events gives the same global ids (they are decided inside apply),
    and a snapshot keeps them, with the counters that give the next ones."""
    store, again = _two_workflows_with_results(), _two_workflows_with_results()
    second = store.workflow(2)
    assert [second.gid(j.id) for j in second.jobs] == [5, 6, 7, 8]
    assert [r.id for r in second.results] == [2]
    assert codec.dump_store(again) == codec.dump_store(store)
    copy = codec.restore(codec.dump_store(store))
    assert copy.workflow(2).ids["jobs"].to_local(6) == 2
    copy.apply(E.CreateWorkflow(3, normalize(parse_text(DIAMOND)), "", 0.0))
    assert copy.workflow(3).gid(1) == 9


def test_a_snapshot_from_before_global_ids_gets_them_in_workflow_order() -> None:
    """An older coordinator's snapshot has no ids: loading gives each workflow its ranges in
    order, numbers its results, and drops the results parts that hold them without ids."""
    data = json.loads(json.dumps(codec.dump_store(_two_workflows_with_results())))
    del data["last_ids"]
    for d in data["workflows"]:
        del d["ids"]
        d["results"] = [r[:13] for r in d["results"]]  # the id came last
        d["results_parts"] = []
    store = codec.restore(data)
    assert store.workflow(2).gid(1) == 5 and store.counters.last["jobs"] == 8
    assert [r.id for wf_id in (1, 2) for r in store.workflow(wf_id).results] == [1, 2]
    assert store.counters.results == 2


def test_every_status_change_goes_through_the_transition_table() -> None:
    """A change the table does not allow is refused where it is made, naming the job and
    both states (a defect would otherwise go unnoticed until replay disagreed)."""
    wf = wf_from(DIAMOND)
    wf.initialize()
    run(wf, "a")
    a = wf.jobs[by_name(wf, "a") - 1]
    with pytest.raises(S.IllegalTransition, match=r"job 1 \(a\): completed -> running"):
        wf.set_status(a, S.RUNNING)
    assert S.name(a.status) == "completed"
    for old, news in S.TRANSITIONS.items():
        for new in S.JobStatus:
            assert S.allowed(old, new) == (new in news)
    assert isinstance(a.status, S.JobStatus), "states are the enum, not bare ints"


def test_a_snapshot_or_export_with_a_state_no_job_can_reach_is_refused() -> None:
    store = Store()
    store.apply(E.CreateWorkflow(1, normalize(parse_text(DIAMOND)), "", 0.0))
    snap = json.loads(json.dumps(codec.dump_store(store)))
    snap["workflows"][0]["jobs"]["status"][2] = 42
    with pytest.raises(S.IllegalTransition, match="snapshot job state: 42"):
        codec.restore(snap)
    assert 42 not in S.REACHABLE and S.PENDING_FAILED in S.REACHABLE
