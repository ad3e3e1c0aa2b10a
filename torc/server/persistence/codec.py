"""The store's state as JSON-able data, for snapshots: workflows column by column (one list
per job field, far smaller and faster than one object per job), workers as records, the
event feed and the access groups."""

from __future__ import annotations

from typing import Any

from torc.server.persistence import snapshot_parts
from torc.server.state.ids import Counters, IdRanges, assign
from torc.server.state.job import STATE_FIELDS, jobs_from_columns, restore_state, spec_columns
from torc.server.state.records import FeedItem, Worker
from torc.server.state.results import Results
from torc.server.state.store import Store
from torc.server.state.workflow import Workflow


def dump_workflow(wf: Workflow, seq: int | None = None) -> dict[str, Any]:
    """A workflow's whole state (spec, run state, jobs column by column, actions).

    With ``seq``, for the snapshot at ``seq``: job specs, job states and the results already
    in parts are named (``snapshot_parts``), not held."""
    inline = seq is None
    covered = 0 if inline else snapshot_parts.covered(wf)
    parts: dict[str, Any] = {
        "job_specs": spec_columns(wf.jobs),
        "jobs": {f: [getattr(j, f) for j in wf.jobs] for f in STATE_FIELDS},
    } if inline else {
        "specs_part": wf.specs_part, "state_part": snapshot_parts.state_part(wf, seq),
        "results_parts": wf.results_parts,
    }
    return {
        "id": wf.id, "user": wf.user, "created_at": wf.created_at,
        "spec": wf.to_spec(jobs=False),
        "run_id": wf.run_id, "initialized": wf.initialized, "canceled": wf.canceled,
        "archived": wf.archived,
        "results": wf.results[covered:],
        "allocations": wf.allocations,
        "remote_workers": wf.remote_workers,
        "file_mtimes": sorted(wf.file_mtimes.items()),
        "ids": {k: r.to_list() for k, r in wf.ids.items()},
        **parts,
        "actions": [{"count": a.count, "triggered": a.triggered, "claimed": a.claimed,
                     "claimed_by": sorted(a.claimed_by), "failures": a.failures,
                     "executions": a.executions, "running": sorted(a.running)}
                    for a in wf.actions.actions],
    }


def load_workflow(d: dict[str, Any]) -> Workflow:
    """Rebuild a workflow from :func:`dump_workflow` output (counts and queue recomputed)."""
    # Job specs as columns; a snapshot from before them has them in the spec.
    columns = d["jobs"]
    jobs = jobs_from_columns(d["job_specs"], columns) if "job_specs" in d else None
    wf = Workflow(d["id"], d["spec"], d["user"], d["created_at"], jobs)
    wf.run_id, wf.initialized, wf.canceled = d["run_id"], d["initialized"], d["canceled"]
    wf.archived = d.get("archived", False)
    wf.results = Results(d["results"])
    # The parts it was read from hold the same again: the next snapshot names them too.
    wf.specs_part = d.get("specs_part")
    wf.results_parts = [[name, count] for name, count in d.get("results_parts", ())]
    wf.allocations = d.get("allocations", [])
    wf.remote_workers = d.get("remote_workers", [])
    wf.file_mtimes = {int(k): v for k, v in d.get("file_mtimes", ())}
    for kind, ranges in d.get("ids", {}).items():
        wf.ids[kind] = IdRanges(ranges)
    if jobs is None:
        restore_state(wf.jobs, columns)
    wf.recount()
    for a, ad in zip(wf.actions.actions, d["actions"], strict=True):
        a.count, a.triggered, a.claimed = ad["count"], ad["triggered"], ad["claimed"]
        a.claimed_by = set(ad["claimed_by"])
        a.failures, a.executions = ad["failures"], ad["executions"]
        a.running = set(ad.get("running", ()))
    return wf


def dump_worker(w: Worker) -> dict[str, Any]:
    """A worker's record (rebuilt as ``Worker(**d)``)."""
    return {"id": w.id, "workflow_id": w.workflow_id, "hostname": w.hostname,
            "slurm_job_id": w.slurm_job_id, "node_name": w.node_name, "resources": w.resources,
            "pid": w.pid, "start_time": w.start_time, "last_heartbeat": w.last_heartbeat,
            "active": w.active, "lost": w.lost, "jobs": sorted(w.jobs), "role": w.role,
            "instance": w.instance, "scheduler": w.scheduler, "output_dir": w.output_dir,
            "last_claim": w.last_claim, "last_action_claim": w.last_action_claim}


def dump_store(store: Store, seq: int | None = None) -> dict[str, Any]:
    """The whole store (with ``seq``: naming its snapshot parts, see :func:`dump_workflow`)."""
    return {
        "next_workflow_id": store.next_workflow_id,
        "next_worker_id": store.next_worker_id,
        "last_ids": store.counters.to_dict(),
        "workflows": [dump_workflow(wf, seq) for wf in store.workflows.values()],
        "workers": [dump_worker(w) for w in store.workers.values()],
        # The feed is history users read (events monitor --history): it survives restarts.
        "feed": [[f.workflow_id, f.timestamp, f.kind, f.message] for f in store.feed],
        "groups": store.groups.to_snapshot(),
    }


def restore(data: dict[str, Any]) -> Store:
    """A store rebuilt from :func:`dump_store` output."""
    store = Store()
    _load_store(store, data)
    return store


def _load_store(store: Store, data: dict[str, Any]) -> None:
    """Fill an empty store from :func:`dump_store` output."""
    store.next_workflow_id = data["next_workflow_id"]
    store.next_worker_id = data["next_worker_id"]
    # A snapshot from before global ids has none: they are given now, in workflow order, as
    # its workflows would have had them (the WAL after it holds only workflows' own numbers).
    store.counters = Counters(data.get("last_ids"))
    for d in data["workflows"]:
        wf = load_workflow(d)
        store.workflows[wf.id] = wf
        assign(store.counters, wf)
        if "last_ids" not in data:
            wf.results.number(store.counters)
            wf.results_parts = []  # parts hold them without ids: written again, with them
    for d in data["workers"]:
        w = Worker(**{**d, "jobs": set(d["jobs"])})
        store.workers[w.id] = w
    for item in data.get("feed", ()):
        store.feed.append(FeedItem(*item))
    store.groups.load(data.get("groups", []))
