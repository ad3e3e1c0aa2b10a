"""What a workflow will do, before it runs (``workflows create --dry-run``,
``workflows execution-plan``): its jobs in stages (which become ready after which) and the
actions that fire at each stage, with the Slurm allocations they ask for. Pure functions of
(job name, upstream names) pairs and action descriptions, from a spec or a coordinator."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from torc.spec.validate import normalize

if TYPE_CHECKING:
    from torc.client.stub import TorcClient


def stages(jobs: list[tuple[str, list[str]]]) -> list[list[str]]:
    """Jobs by stage: stage 0 can start at once; a job is in the stage after its latest
    upstream's."""
    level: dict[str, int] = {}
    deps = dict(jobs)
    for name, _ in jobs:
        stack = [name]
        while stack:
            n = stack[-1]
            if n in level:
                stack.pop()
                continue
            todo = [d for d in deps[n] if d not in level]
            if todo:
                stack.extend(todo)
                continue
            level[n] = 1 + max((level[d] for d in deps[n]), default=-1)
            stack.pop()
    out: list[list[str]] = [[] for _ in range(max(level.values(), default=-1) + 1)]
    for name, _ in jobs:
        out[level[name]].append(name)
    return out


def execution_plan(jobs: list[tuple[str, list[str]]],
                   actions: list[dict[str, Any]]) -> dict[str, Any]:
    """Stages with the actions that fire when each becomes ready or completes.

    ``actions``: ``trigger_type``, ``action_type``, ``jobs`` (names) and, for
    ``schedule_nodes``, ``scheduler``, ``num_allocations`` and ``nodes``.
    """
    groups = stages(jobs)
    level = {n: k for k, names in enumerate(groups) for n in names}
    plan = [{"stage": k, "jobs": names, "num_jobs": len(names), "when_ready": [],
             "when_complete": []} for k, names in enumerate(groups)]
    start: list[dict[str, Any]] = []
    end: list[dict[str, Any]] = []
    for i, a in enumerate(actions, 1):
        what = {"action": i, "trigger_type": a["trigger_type"], "action_type": a["action_type"]}
        if a["action_type"] == "schedule_nodes":
            what["allocations"] = (f"{a.get('num_allocations', 1)} x {a.get('nodes', 1)} "
                                   f"node(s) of {a.get('scheduler')}")
        else:
            what["commands"] = a.get("commands", [])
        trig = a["trigger_type"]
        if trig in ("on_workflow_start", "on_worker_start"):
            start.append(what)
        elif trig in ("on_workflow_complete", "on_worker_complete"):
            end.append(what)
        elif a.get("jobs") and plan:
            k = max(level[n] for n in a["jobs"])
            plan[k]["when_ready" if trig == "on_jobs_ready" else "when_complete"].append(what)
    return {"num_jobs": len(jobs), "num_stages": len(plan), "at_start": start,
            "stages": plan, "at_end": end}


def from_spec(raw: Any, source: str) -> tuple[dict[str, Any], list[tuple[str, list[str]]],
                                               list[dict[str, Any]]]:
    """Validate a spec (raising SpecError as ``create`` would) and describe it."""
    spec = normalize(raw, source)
    names = [j["name"] for j in spec["jobs"]]
    jobs = [(j["name"], [names[d] for d in j["deps"]]) for j in spec["jobs"]]
    nodes = {s["name"]: s.get("nodes", 1) for s in spec["slurm_schedulers"]}
    actions = [{**a, "jobs": [names[j] for j in a.get("jobs", [])],
                "nodes": nodes.get(a.get("scheduler", ""), 1)} for a in spec["actions"]]
    return spec, jobs, actions


def from_coordinator(c: TorcClient, wf_id: int) -> tuple[list[tuple[str, list[str]]],
                                                         list[dict[str, Any]]]:
    """A workflow's jobs (names and what they depend on) and actions, as the plan needs."""
    jobs = c.list_jobs(wf_id)
    names = {j.id: j.name for j in jobs}
    nodes = {s["name"]: s.get("nodes", 1)
             for s in json.loads(c.get_workflow(wf_id).slurm_schedulers_json or "[]")}
    actions = []
    for x in c.list_actions(wf_id):
        config = json.loads(x.config_json or "{}")
        actions.append({**config, "trigger_type": x.trigger_type,
                        "action_type": x.action_type, "jobs": list(x.job_names),
                        "nodes": nodes.get(config.get("scheduler", ""), 1)})
    return [(j.name, [names[d] for d in j.depends_on]) for j in jobs], actions
