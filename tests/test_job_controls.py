"""Canceling and terminating single jobs (the TUI's ``c`` and ``t``; the CancelJobs RPC): a
running one is killed where it runs and its attempt recorded, what depends on it is canceled
(or unblocked when it tolerates failures), the rest of the workflow goes on, and a restart
after SIGKILL keeps it all."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Coordinator, job_states, start_worker, wait_for
from torc.client.stub import ClientError


def _ids(c, wf_id: int) -> dict[str, int]:
    return {j.name: j.id for j in c.list_jobs(wf_id)}


def test_a_running_job_canceled_alone_is_killed_and_its_dependents_canceled(
        coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "one", "jobs": [
        {"name": "stuck", "command": "exec sleep 300"},
        {"name": "after", "command": "true", "depends_on": ["stuck"]},
        {"name": "tolerant", "command": "true", "depends_on": ["stuck"],
         "cancel_on_blocking_job_failure": False},
        {"name": "other", "command": "true"}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out")
    wait_for(lambda: job_states(c, wf_id)["stuck"] == "running")
    canceled = c.cancel_jobs(wf_id, [_ids(c, wf_id)["stuck"]])
    assert sorted(j.name for j in canceled) == ["after", "stuck"]
    # The worker kills it (told on its heartbeat stream at once), runs the tolerant
    # dependent and the other job, and leaves: the workflow is done.
    assert worker.wait(timeout=120) == 0
    assert job_states(c, wf_id) == {"stuck": "canceled", "after": "canceled",
                                    "tolerant": "completed", "other": "completed"}
    (killed,) = [r for r in c.list_results(wf_id, all_runs=True) if r.job_name == "stuck"]
    assert killed.return_code != 0 and "canceled" in killed.message
    coordinator.restart()  # SIGKILL: the log holds it all
    assert job_states(coordinator.client, wf_id)["stuck"] == "canceled"


def test_terminate_ends_a_running_job_terminated(coordinator: Coordinator,
                                                 tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "t", "jobs": [
        {"name": "stuck", "command": "exec sleep 300"}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out")
    wait_for(lambda: job_states(c, wf_id)["stuck"] == "running")
    c.cancel_jobs(wf_id, [_ids(c, wf_id)["stuck"]], terminate=True)
    assert worker.wait(timeout=120) == 0
    assert job_states(c, wf_id) == {"stuck": "terminated"}
    assert c.status(wf_id).complete


def test_canceling_waiting_jobs_and_what_cannot_be_canceled(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "w", "jobs": [
        {"name": "a", "command": "true"},
        {"name": "b", "command": "true", "depends_on": ["a"]},
        {"name": "c", "command": "true", "depends_on": ["b"]},
        {"name": "d", "command": "true"}]})
    c.initialize(wf_id)
    ids = _ids(c, wf_id)
    canceled = c.cancel_jobs(wf_id, [ids["b"]])  # blocked: with its downstream
    assert sorted(j.name for j in canceled) == ["b", "c"]
    c.cancel_jobs(wf_id, [ids["d"]])  # ready: no worker will claim it
    assert job_states(c, wf_id) == {"a": "ready", "b": "canceled", "c": "canceled",
                                    "d": "canceled"}
    with pytest.raises(ClientError, match="is canceled: there is nothing to cancel"):
        c.cancel_jobs(wf_id, [ids["a"], ids["d"]])
    assert job_states(c, wf_id)["a"] == "ready"  # refused whole: nothing changed
    with pytest.raises(ClientError, match="job 999999 does not exist"):
        c.cancel_jobs(wf_id, [999_999])


def test_retry_runs_a_failed_job_again_while_the_rest_runs(coordinator: Coordinator,
                                                            tmp_path: Path) -> None:
    """The TUI's y: the failed job runs again as attempt 2 of the same run, and what was
    canceled below it comes back and runs; a job still running is not touched."""
    c = coordinator.client
    flag = tmp_path / "fixed"
    wf_id = c.create_workflow({"name": "r", "jobs": [
        {"name": "flaky", "command": f"test -f {flag}"},
        {"name": "below", "command": "true", "depends_on": ["flaky"]},
        {"name": "slow", "command": f"while [ ! -f {tmp_path / 'go'} ]; do sleep 0.1; done"}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, tmp_path / "out")
    wait_for(lambda: job_states(c, wf_id) == {"flaky": "failed", "below": "canceled",
                                              "slow": "running"})
    with pytest.raises(ClientError, match="only failed, canceled, terminated"):
        c.reset_status(wf_id, job_ids=[_ids(c, wf_id)["slow"]], retry=True)
    flag.touch()
    c.reset_status(wf_id, job_ids=[_ids(c, wf_id)["flaky"]], retry=True)
    wait_for(lambda: job_states(c, wf_id)["below"] == "completed")
    (tmp_path / "go").touch()
    assert worker.wait(timeout=120) == 0
    assert job_states(c, wf_id) == {"flaky": "completed", "below": "completed",
                                    "slow": "completed"}
    attempts = [(r.run_id, r.attempt_id, r.return_code)
                for r in c.list_results(wf_id, all_runs=True) if r.job_name == "flaky"]
    assert attempts == [(1, 1, 1), (1, 2, 0)]
    assert (tmp_path / "out" / "job_stdio" / f"job_wf{wf_id}_j1_r1_a2.o").exists()


def test_random_cancels_and_retries_keep_the_graph_consistent() -> None:
    """Random graphs driven by a worker while jobs are canceled, terminated, retried, held in
    pending_failed and judged failed at random: after every event the invariants hold (each
    blocked job waits for exactly its dependencies not done), and driving on always ends with
    every job done."""
    import random

    from torc import states as S
    from torc.errors import TorcError
    from torc.server.state import events as E
    from torc.server.state.reports import FINISHED, STARTED
    from torc.server.state.store import Store

    for seed in range(600):
        rng = random.Random(seed)
        n = rng.randint(3, 12)
        jobs = [{"name": f"j{i}", "command": "true", "rr": 0,
                 "deps": sorted(rng.sample(range(i), rng.randint(0, min(i, 3)))),
                 "cancel_on_blocking_job_failure": rng.random() < 0.7} for i in range(n)]
        store = Store()
        # Half of them hold failures in pending_failed for an assistant to judge.
        store.apply(E.CreateWorkflow(1, {"name": "r", "jobs": jobs,
                                         "use_pending_failed": rng.random() < 0.5,
                                         "resource_requirements": [{}]}, "u", 0.0))
        store.apply(E.InitializeWorkflow(1, 0.0))
        store.apply(E.RegisterWorker(1, 1, 0.0))
        wf = store.workflow(1)

        def apply(event: E.Event, store: Store = store) -> None:
            try:
                store.apply(event)
            except TorcError:
                pass  # refused: changes nothing (checked below)
            store.check()

        for step in range(60 + 10 * n):
            job = wf.jobs[rng.randrange(n)]
            move = rng.random()
            if job.status == S.READY and move < 0.5:
                apply(E.ClaimJobs(1, 1, (job.id,)))
            elif job.status == S.PENDING and move < 0.5:
                apply(E.Report(1, 1, (E.ReportRow(job.id, STARTED, 0, 0, 1.0, 0.0,
                                                  job.run_id, job.attempt_id),)))
            elif job.status in (S.PENDING, S.RUNNING) and move < 0.8:
                rc = rng.choice((0, 0, 1))
                apply(E.Report(1, 1, (E.ReportRow(job.id, FINISHED, rc, 0, 1.0, 2.0,
                                                  job.run_id, job.attempt_id),)))
            elif job.status == S.PENDING_FAILED and move < 0.5:
                apply(E.FailPending(1, (job.id,), float(step)))
            elif move < 0.9:
                apply(E.CancelJobs(1, (job.id,), float(step), rng.random() < 0.5))
            else:
                apply(E.ResetStatus(1, float(step), job_ids=(job.id,), retry=True))
        # The worker kills what was canceled under it and runs the rest to the end.
        for _ in range(20 * n):
            live = [j for j in wf.jobs if j.status in (S.READY, S.PENDING, S.RUNNING)]
            held = tuple(j.id for j in wf.jobs if j.status == S.PENDING_FAILED)
            if held:  # the assistant retries them (in the current run, as the next attempt)
                apply(E.ResetStatus(1, 0.0, job_ids=held, retry=True))
                continue
            if not live:
                break
            for j in live:
                if j.status == S.READY:
                    apply(E.ClaimJobs(1, 1, (j.id,)))
                else:
                    apply(E.Report(1, 1, (E.ReportRow(j.id, FINISHED, 0, 0, 1.0, 2.0,
                                                      j.run_id, j.attempt_id),)))
        assert wf.done_count == len(wf.jobs), (seed, [S.name(j.status) for j in wf.jobs])


def _held_workflow():  # type: ignore[no-untyped-def]
    """A store whose job ``a`` failed into pending_failed, ``b`` waiting on it."""
    from torc.server.state import events as E
    from torc.server.state.reports import FINISHED
    from torc.server.state.store import Store
    store = Store()
    store.apply(E.CreateWorkflow(1, {"name": "held", "use_pending_failed": True,
                                     "resource_requirements": [{}], "jobs": [
        {"name": "a", "command": "x", "rr": 0, "deps": []},
        {"name": "b", "command": "y", "rr": 0, "deps": [0]}]}, "u", 0.0))
    store.apply(E.InitializeWorkflow(1, 0.0))
    store.apply(E.RegisterWorker(1, 1, 0.0))
    store.apply(E.ClaimJobs(1, 1, (1,)))
    store.apply(E.Report(1, 1, (E.ReportRow(1, FINISHED, 1, 0, 1.0, 2.0, 1, 1),)))
    return store


def test_a_retried_pending_failed_job_unblocks_its_dependents_when_it_completes() -> None:
    """An assistant's (or the TUI's) retry of a job held in pending_failed: once the retry
    completes, what waits on it runs. The held job had not been counted done by its
    dependents, so the retry must not count it undone a second time."""
    from torc import states as S
    from torc.server.state import events as E
    from torc.server.state.reports import FINISHED
    store = _held_workflow()
    wf = store.workflow(1)
    assert [j.status for j in wf.jobs] == [S.PENDING_FAILED, S.BLOCKED]
    store.apply(E.ResetStatus(1, 3.0, job_ids=(1,), retry=True))
    store.check()
    store.apply(E.ClaimJobs(1, 1, (1,)))
    store.apply(E.Report(1, 1, (E.ReportRow(1, FINISHED, 0, 0, 4.0, 5.0, 1, 2),)))
    store.check()
    assert [j.status for j in wf.jobs] == [S.COMPLETED, S.READY]


def test_a_pending_failed_job_judged_permanent_fails_and_cancels_its_dependents() -> None:
    from torc import states as S
    from torc.errors import FailedPrecondition
    from torc.server.state import events as E
    store = _held_workflow()
    wf = store.workflow(1)
    with pytest.raises(FailedPrecondition, match="job 2 .b. is blocked, not pending_failed"):
        store.apply(E.FailPending(1, (1, 2), 3.0))
    assert [j.status for j in wf.jobs] == [S.PENDING_FAILED, S.BLOCKED]  # all or nothing
    store.apply(E.FailPending(1, (1,), 3.0))
    store.check()
    assert [j.status for j in wf.jobs] == [S.FAILED, S.CANCELED]
    assert wf.done_count == 2
