"""Moving a workflow between coordinators (``torc workflows export`` / ``import``): one
self-contained, versioned JSON document.

The document's ``spec`` is a Torc-style spec (names, not indices; memory in bytes, runtimes in
seconds) that validates to the same workflow, so an import goes through the same validation
as a create and nothing in a document can put the coordinator in a state a spec could not.
``state`` (job states, attempts, results, action progress) is checked field by field before it
is applied; jobs that were pending or running on the old coordinator's workers are ready here.
"""

from __future__ import annotations

import math
from typing import Any

from torc import states as S
from torc.errors import InvalidArgument
from torc.server.state.job import Result, restore_state
from torc.server.state.results import Results
from torc.server.state.workflow import Workflow

FORMAT = "torc-py workflow"
VERSION = 1
MAX_EVENTS = 10_000


def spec_of(wf: Workflow, with_jobs: bool = True) -> dict[str, Any]:
    """The workflow as a spec ``normalize`` turns back into the same workflow; without its
    jobs, the other sections (a dashboard tab, ``resource-requirements list``) cost what
    they hold, not what the jobs hold."""
    n = wf.to_spec(jobs=with_jobs)
    names = [j.name for j in wf.jobs] if with_jobs or any(
        a.get("jobs") for a in n["actions"]) else []
    files = [f["name"] for f in n.get("files") or []]
    uds = [u["name"] for u in n.get("user_data") or []]
    rr_names = [r["name"] for r in n["resource_requirements"]]
    handlers = [h["name"] for h in n.get("failure_handlers") or []]
    jobs = []
    for j in n.get("jobs", ()):
        job: dict[str, Any] = {
            "name": j["name"], "command": j["command"],
            "invocation_script": j["invocation_script"] or None,
            "depends_on": [names[d] for d in j["deps"]],
            "resource_requirements": rr_names[j["rr"]], "scheduler": j["scheduler"],
            "cancel_on_blocking_job_failure": j["cancel_on_blocking_job_failure"],
            "supports_termination": j["supports_termination"], "priority": j["priority"],
            "retry_on_worker_loss": j["retry_on_worker_loss"]}
        for key, table in (("input_files", files), ("output_files", files),
                           ("input_user_data", uds), ("output_user_data", uds)):
            if j.get(key):
                job[key] = [table[k] for k in j[key]]
        if j.get("failure_handler") is not None:
            job["failure_handler"] = handlers[j["failure_handler"]]
        if j.get("stdio"):
            job["stdio"] = j["stdio"]
        jobs.append({k: v for k, v in job.items() if v is not None})
    actions = []
    for a in n["actions"]:
        action = {k: v for k, v in a.items() if k != "jobs"}
        if a.get("jobs"):
            action["jobs"] = [names[j] for j in a["jobs"]]
        actions.append(action)
    spec: dict[str, Any] = {
        "name": n["name"], "description": n.get("description", ""),
        "project": n.get("project", ""), "user": wf.user, "metadata": n.get("metadata"),
        "files": n.get("files") or [], "user_data": n.get("user_data") or [],
        "resource_requirements": [{**r, "memory": f"{r['memory']}b",
                                   "runtime": f"PT{r['runtime']:g}S"}
                                  for r in n["resource_requirements"]],
        "slurm_schedulers": n.get("slurm_schedulers") or [],
        "slurm_defaults": n.get("slurm_defaults") or {},
        **({"jobs": jobs} if with_jobs else {}), "actions": actions}
    for key in ("execution_config", "failure_handlers", "resource_monitor",
                "use_pending_failed"):
        if n.get(key) is not None:
            spec[key] = n[key]
    spec.update(n.get("settings") or {})
    return spec


def document(wf: Workflow, feed: list[Any]) -> dict[str, Any]:
    """The export: spec, states, results, actions' progress and events."""
    return {
        "format": FORMAT, "version": VERSION, "workflow_id": wf.id, "spec": spec_of(wf),
        "state": {
            "run_id": wf.run_id, "initialized": wf.initialized, "canceled": wf.canceled,
            "jobs": {f: [getattr(j, f) for j in wf.jobs]
                     for f in ("status", "attempt_id", "run_id", "return_code")},
            "results": [list(r) for r in wf.results],
            "actions": [{"count": a.count, "triggered": a.triggered, "claimed": a.claimed,
                         "executions": a.executions} for a in wf.actions.actions],
            "file_mtimes": sorted(wf.file_mtimes.items())},
        "events": [[f.timestamp, f.kind, f.message] for f in feed
                   if f.workflow_id == wf.id][-MAX_EVENTS:],
    }


def check_document(doc: Any) -> dict[str, Any]:
    """The document's spec, or InvalidArgument saying what is wrong with it."""
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise InvalidArgument(f"not a torc-py workflow export (its 'format' must be {FORMAT!r})")
    if doc.get("version") != VERSION:
        raise InvalidArgument(f"export version {doc.get('version')!r} is not one this "
                              f"coordinator reads ({VERSION})")
    if not isinstance(doc.get("spec"), dict):
        raise InvalidArgument("the export has no 'spec'")
    return doc["spec"]


def _ints(values: Any, n: int, what: str, allow_none: bool = False) -> list[Any]:
    if not isinstance(values, list) or len(values) != n:
        raise InvalidArgument(f"state: {what} must list one value per job ({n})")
    for v in values:
        if v is None and allow_none:
            continue
        if not isinstance(v, int) or isinstance(v, bool) or abs(v) > 2**62:
            raise InvalidArgument(f"state: {what} holds {v!r}, not an integer")
    return values


def number(v: Any, what: str) -> float:
    """A finite number, or InvalidArgument naming ``what``."""
    if not isinstance(v, (int, float)) or isinstance(v, bool) or not math.isfinite(v):
        raise InvalidArgument(f"state: {what} must be a number, got {v!r}")
    return float(v)


def whole(v: Any, what: str) -> int:
    """An integer a result's column holds (64 bits), or InvalidArgument naming ``what``."""
    n = int(number(v, what))
    if abs(n) > 2**62:
        raise InvalidArgument(f"state: {what} {n} is out of range")
    return n


def check_state(state: Any, n_jobs: int, n_actions: int, n_files: int) -> dict[str, Any]:
    """The state of an export, checked so that applying it cannot fail or break the store
    (JSON-able, for the event; :func:`restored` makes it applicable)."""
    if not isinstance(state, dict):
        raise InvalidArgument("state: expected an object")
    jobs = state.get("jobs") or {}
    statuses = _ints(jobs.get("status"), n_jobs, "status")
    if any(s not in S.REACHABLE for s in statuses):
        raise InvalidArgument("state: a job status is not one of torc's")
    clean: dict[str, Any] = {
        "run_id": whole(state.get("run_id", 0), "run_id"),
        "initialized": bool(state.get("initialized")), "canceled": bool(state.get("canceled")),
        "status": statuses,
        "attempt_id": _ints(jobs.get("attempt_id"), n_jobs, "attempt_id"),
        "job_run_id": _ints(jobs.get("run_id"), n_jobs, "run_id"),
        "return_code": _ints(jobs.get("return_code"), n_jobs, "return_code", True)}
    results = []
    for r in state.get("results") or []:
        if not isinstance(r, list) or not 8 <= len(r) <= len(Result._fields):
            raise InvalidArgument("state: a result is not a list of its fields")
        job_id, run_id, attempt, rc, status, *rest = r
        if not (isinstance(job_id, int) and 1 <= job_id <= n_jobs and status in S.TERMINAL):
            raise InvalidArgument(f"state: result {r!r} names no job of the workflow")
        fixed = [job_id, whole(run_id, "run_id"), whole(attempt, "attempt_id"),
                 whole(rc, "return_code"), status, number(rest[0], "start_time"),
                 number(rest[1], "end_time"), 0]  # its worker is not one of this coordinator's
        if len(rest) > 3:
            fixed.append(str(rest[3])[:4000])
        results.append(fixed)
    clean["results"] = results
    actions = state.get("actions") or []
    if not isinstance(actions, list) or len(actions) != n_actions:
        raise InvalidArgument(f"state: actions must list one entry per action ({n_actions})")
    clean["actions"] = []
    for a in actions:
        if not isinstance(a, dict) or not isinstance(a.get("executions", []), list):
            raise InvalidArgument("state: an action's progress is not an object")
        clean["actions"].append({
            "count": int(number(a.get("count", 0), "count")), "triggered": bool(a.get("triggered")),
            "claimed": bool(a.get("claimed")),
            "executions": [_execution(e) for e in a.get("executions", [])][-100:]})
    mtimes = []
    for pair in state.get("file_mtimes") or []:
        if not (isinstance(pair, list) and len(pair) == 2 and isinstance(pair[0], int)
                and 0 <= pair[0] < n_files):
            raise InvalidArgument("state: file_mtimes must be [file index, mtime] pairs")
        mtimes.append([pair[0], number(pair[1], "mtime")])
    clean["file_mtimes"] = mtimes
    return clean


# An action execution's fields, as ListActions sends them (torc.proto ActionExecution).
_EXECUTION_FIELDS = {"worker_id": int, "start_time": float, "end_time": float, "success": bool,
                     "message": str, "stdout_path": str, "stderr_path": str, "run_id": int}


def _execution(e: Any) -> dict[str, Any]:
    """One action execution of an export, with only its known fields, each of its type."""
    if not isinstance(e, dict):
        raise InvalidArgument("state: an action execution is not an object")
    out: dict[str, Any] = {}
    for key, value in e.items():
        kind = _EXECUTION_FIELDS.get(key)
        if kind is None:
            raise InvalidArgument(f"state: an action execution has an unknown field {key!r}")
        if kind is float:
            out[key] = number(value, f"execution {key}")
        elif kind is int:
            out[key] = whole(value, f"execution {key}")
        elif not isinstance(value, kind):
            raise InvalidArgument(f"state: execution {key} must be a {kind.__name__}, got "
                                  f"{value!r}")
        else:
            out[key] = value[:4000] if kind is str else value
    return out


def check_consistent(clean: dict[str, Any], jobs: list[dict[str, Any]]) -> None:
    """Refuse job states no run could have produced (replay would never reach them): a job
    that ran or is ready while a job it depends on is not done, a run before initialization."""
    status = clean["status"]
    if not clean["initialized"]:
        bad = next((k for k, st in enumerate(status)
                    if st not in (S.UNINITIALIZED, S.DISABLED)), None)
        if bad is not None:
            raise InvalidArgument(f"state: job {jobs[bad]['name']!r} is "
                                  f"{S.name(status[bad])} in a workflow never initialized")
    needs_done = (S.READY, *S.ACTIVE, S.COMPLETED, S.FAILED, S.TERMINATED)
    for k, job in enumerate(jobs):
        if status[k] not in needs_done:
            continue
        for d in job["deps"]:
            if status[d] not in S.DONE:
                raise InvalidArgument(
                    f"state: job {job['name']!r} is {S.name(status[k])} while "
                    f"{jobs[d]['name']!r}, which it depends on, is {S.name(status[d])}")


def restored(clean: dict[str, Any]) -> dict[str, Any]:
    """A checked state as the event carries it (JSON), ready for :func:`apply_state`."""
    return {**clean, "results": [Result(*r) for r in clean["results"]],
            "file_mtimes": {int(k): float(v) for k, v in clean["file_mtimes"]}}


def apply_state(wf: Workflow, st: dict[str, Any]) -> None:
    """Give a freshly created workflow the checked state of an export."""
    wf.run_id, wf.initialized, wf.canceled = st["run_id"], st["initialized"], st["canceled"]
    # Held jobs are ready again: their workers belonged to the old coordinator.
    status = [S.READY if s in S.ACTIVE else s for s in st["status"]]
    waiting = [sum(1 for u in job.deps if status[u - 1] not in S.DONE) for job in wf.jobs]
    status = [S.READY if s == S.BLOCKED and w == 0 else s
              for s, w in zip(status, waiting, strict=True)]
    restore_state(wf.jobs, {"status": status, "waiting": waiting,
                            "attempt_id": st["attempt_id"], "run_id": st["job_run_id"],
                            "return_code": st["return_code"]})
    wf.recount()
    wf.results = Results(st["results"])
    wf.results_parts = []  # none of its snapshot parts holds these
    wf.file_mtimes = dict(st["file_mtimes"])
    for a, s in zip(wf.actions.actions, st["actions"], strict=True):
        a.count, a.triggered, a.claimed = s["count"], s["triggered"], s["claimed"]
        a.executions = s["executions"]
