"""Job events (Torc's ``job_started``, ``job_completed``, ``job_failed``, and one kind per
other state) reach watchers as they happen and stay readable afterwards (``torc events
list``, a stream's history), without being made while nobody watches."""

from __future__ import annotations

import queue
import threading
from pathlib import Path
from typing import Any

from tests.conftest import Coordinator, cli_rows, start_worker
from torc.server.state import events as E
from torc.server.state.store import Store


def _follow(c: Any, wf_id: int, jobs: bool = True) -> tuple[queue.Queue[Any], Any]:
    """A live stream of ``wf_id``'s events read on a thread; returns once it is subscribed
    (the history's end marker came)."""
    got: queue.Queue[Any] = queue.Queue()
    stream = c.watch_events(wf_id, history=True, mark_history_end=True, job_events=jobs)
    subscribed = threading.Event()

    def read() -> None:
        try:
            for ev in stream:
                if ev.history_end:
                    subscribed.set()
                else:
                    got.put(ev)
        except Exception:  # canceled at the end of the test
            pass

    threading.Thread(target=read, daemon=True).start()
    assert subscribed.wait(60)
    return got, stream


def _until(got: queue.Queue[Any], done: Any) -> list[Any]:
    seen: list[Any] = []
    while not done(seen):
        seen.append(got.get(timeout=60))
    return seen


def test_job_events_reach_a_watcher_as_jobs_run(coordinator: Coordinator,
                                                tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "live", "jobs": [
        {"name": "ok", "command": "true"},
        {"name": "bad", "command": "exit 3"},
        {"name": "after", "command": "true", "depends_on": ["ok"]}]})
    got, stream = _follow(c, wf_id)
    plain, plain_stream = _follow(c, wf_id, jobs=False)  # as torc watch's: no job events
    try:
        c.initialize(wf_id)
        assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=60) == 0
        seen = _until(got, lambda s: any(e.kind == "complete" for e in s))
        not_asked = _until(plain, lambda s: any(e.kind == "complete" for e in s))
    finally:
        stream.cancel()
        plain_stream.cancel()
    assert [e.kind for e in not_asked] == ["created", "initialized", "compute_node_started",
                                           "failed", "complete"]
    ids = {j.name: j.id for j in c.list_jobs(wf_id)}
    jobs = [e for e in seen if e.job_id]
    by_job = {name: [(e.kind, e.job_status) for e in jobs if e.job_id == ids[name]]
              for name in ids}
    # Initialized (ready or blocked: not the blocked an initialize passes every job
    # through), started, ended: each as it happened (a claim is the worker's business).
    assert by_job["ok"] == [("job_ready", "ready"), ("job_started", "running"),
                            ("job_completed", "completed")]
    assert by_job["after"][0] == ("job_blocked", "blocked")
    assert by_job["after"][-1] == ("job_completed", "completed")
    assert by_job["bad"][-1] == ("job_failed", "failed")
    failed = next(e for e in jobs if e.kind == "job_failed")
    assert "bad" in failed.message and "return code 3" in failed.message
    assert all(e.timestamp > 0 for e in jobs)


def test_job_events_are_history_after_the_run(coordinator: Coordinator,
                                              tmp_path: Path) -> None:
    """Nobody watched the run: ``torc events list`` still shows each job's start and end
    (from its results), in time order, beside the workflow's own events."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "after", "jobs": [
        {"name": "first", "command": "true"},
        {"name": "second", "command": "exit 2", "depends_on": ["first"]}]})
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=60) == 0
    rows = cli_rows("-f", "json", "events", "list", str(wf_id), url=coordinator.url)
    kinds = [r["category"] for r in rows]
    assert kinds[:2] == ["created", "initialized"]
    jobs = [(r["category"], r["data"]["job_id"]) for r in rows if "job_id" in r["data"]]
    first, second = (j.id for j in sorted(c.list_jobs(wf_id), key=lambda j: j.id))
    assert jobs == [("job_started", first), ("job_completed", first),
                    ("job_started", second), ("job_failed", second)]
    assert [r["timestamp"] for r in rows] == sorted(r["timestamp"] for r in rows)


def test_a_mass_change_comes_as_one_event(coordinator: Coordinator) -> None:
    """Initializing 3,000 jobs while watched: one summary, not 3,000 items in every
    watcher's queue."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "wide", "jobs": [
        {"name": "j{i}", "command": "true", "parameters": {"i": "1:3000"}}]})
    got, stream = _follow(c, wf_id)
    try:
        c.initialize(wf_id)
        seen = _until(got, lambda s: {"initialized", "jobs_changed"} <= {e.kind for e in s})
    finally:
        stream.cancel()
    summary = next(e for e in seen if e.kind == "jobs_changed")
    assert "3000 jobs changed state: 3000 ready" in summary.message
    assert not any(e.job_id for e in seen)


def test_no_job_events_are_made_while_nobody_watches() -> None:
    """The claim path pays for job events only while a stream is open."""
    store = Store()
    spec = {"name": "w", "jobs": [{"name": "a", "command": "true", "deps": [], "rr": 0}],
            "resource_requirements": [{}]}
    store.apply(E.CreateWorkflow(1, spec, "u", 1.0))
    _, fx = store.apply(E.InitializeWorkflow(1, 2.0))
    assert fx.live == []
    store.job_watch.set(True, store.workflows.values())
    store.apply(E.ResetStatus(1, 3.0))
    _, fx = store.apply(E.InitializeWorkflow(1, 4.0))
    assert [(f.kind, f.job_id, f.timestamp) for f in fx.live] == [("job_ready", 1, 4.0)]
    store.job_watch.set(False, store.workflows.values())
    store.apply(E.ResetStatus(1, 5.0))
    _, fx = store.apply(E.InitializeWorkflow(1, 6.0))
    assert fx.live == []
