"""``torc slurm generate``: Slurm schedulers and ``schedule_nodes`` actions for a spec, by
Torc's algorithm (its ``scheduler_plan.rs``). Pure: a normalized spec and a profile in, a plan
out; :func:`apply_plan` writes it into the user's spec.

Jobs are grouped by (resource requirements, whether they wait for other jobs). Each group gets
the partition its requirements fit best, and ``ceil(jobs / (jobs per node x runs per
walltime)) x nodes per job`` allocations; groups that can start at once are scheduled
``on_workflow_start``, the others ``on_jobs_ready`` of their jobs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from torc.errors import TorcError
from torc.slurm.profiles import Partition, Profile, walltime_str

MIB = 1024 * 1024
MERGE_THRESHOLD = 2  # group-by partition: merge a partition's two groups up to this many


@dataclass
class Options:
    """How to plan (the ``torc slurm generate`` flags)."""

    account: str
    single_allocation: bool = False
    group_by: str = "resource-requirements"  # or "partition"
    walltime_strategy: str = "max-job-runtime"  # or "max-partition-time"
    walltime_multiplier: float = 1.5
    add_actions: bool = True
    # The spec's compute_node_expiration_buffer_seconds: workers stop claiming that long
    # before the walltime, so the walltime must leave it on top of the jobs' runtime.
    expiration_buffer: int = 60


@dataclass
class Group:
    """Jobs that one scheduler serves."""

    name: str
    deferred: bool
    rr_names: list[str]
    jobs: list[str] = field(default_factory=list)
    cpus: int = 0
    memory: int = 0  # bytes
    gpus: int = 0
    nodes: int = 1
    runtime: float = 0.0


@dataclass
class Plan:
    """Schedulers, actions and job assignments to add to a spec."""

    schedulers: list[dict[str, Any]] = field(default_factory=list)
    actions: list[dict[str, Any]] = field(default_factory=list)
    assignments: dict[str, str] = field(default_factory=dict)  # job name -> scheduler
    warnings: list[str] = field(default_factory=list)


def allocations(g: Group, p: Partition, single: bool) -> int:
    """Nodes the group needs: jobs that run at once on a node, times how many times over
    they run within the walltime, as Torc computes it."""
    mem_mb = max(math.ceil(g.memory / MIB), 1)
    per_node = min(p.cpus_per_node // max(g.cpus, 1), p.memory_mb // mem_mb,
                   (p.gpus_per_node or 0) // g.gpus if g.gpus else 1 << 30)
    per_node = max(per_node, 1)
    slots = max(1, int(p.max_walltime_secs // g.runtime)) if g.runtime > 0 else 1
    total = math.ceil(len(g.jobs) / (per_node * slots)) * g.nodes
    return 1 if single else max(total, 1)


STARTUP_SECONDS = 60  # from the allocation's start to its worker's first claim, at most


def walltime(g: Group, p: Partition, o: Options) -> int:
    """Seconds: the partition's limit, or the longest job times the multiplier plus what a
    worker needs around it (capped by the partition). Torc uses the product alone: a 2-minute
    job then gets a 3-minute allocation whose worker, stopping 60 s before the end, never
    finds 2 minutes left to start it."""
    if o.walltime_strategy == "max-partition-time" or g.runtime <= 0:
        return p.max_walltime_secs
    needed = math.ceil(g.runtime * o.walltime_multiplier) + o.expiration_buffer + \
        STARTUP_SECONDS
    return min(needed, p.max_walltime_secs)


def _groups(spec: dict[str, Any]) -> list[Group]:
    """Groups of the normalized spec's jobs, by (requirements, has dependencies)."""
    rrs = spec["resource_requirements"]
    groups: dict[tuple[int, bool], Group] = {}
    for j in spec["jobs"]:
        key = (j["rr"], bool(j["deps"]))
        rr = rrs[j["rr"]]
        g = groups.get(key)
        if g is None:
            base = rr["name"] + ("_deferred" if key[1] else "")
            g = groups[key] = Group(base, key[1], [rr["name"]], cpus=rr["num_cpus"],
                                    memory=rr["memory"], gpus=rr["num_gpus"],
                                    nodes=rr["num_nodes"], runtime=rr["runtime"])
        g.jobs.append(j["name"])
    return list(groups.values())


def _best(profile: Profile, g: Group) -> Partition | None:
    return profile.best_partition(g.cpus, math.ceil(g.memory / MIB), g.runtime, g.gpus)


def _by_partition(profile: Profile, groups: list[Group], o: Options,
                  warnings: list[str]) -> list[tuple[Group, Partition]]:
    merged: dict[tuple[str, bool], tuple[Group, Partition]] = {}
    for g in groups:
        p = _best(profile, g)
        if p is None:
            warnings.append(_no_partition(g))
            continue
        key = (p.name, g.deferred)
        if key not in merged:
            merged[key] = (Group(p.name + ("_deferred" if g.deferred else ""), g.deferred,
                                 [], nodes=1), p)
        m = merged[key][0]
        m.rr_names += g.rr_names
        m.jobs += g.jobs
        m.cpus, m.memory, m.gpus = max(m.cpus, g.cpus), max(m.memory, g.memory), \
            max(m.gpus, g.gpus)
        m.nodes, m.runtime = max(m.nodes, g.nodes), max(m.runtime, g.runtime)
    out = list(merged.values())
    # A partition with a few allocations both now and later: one scheduler, from the start.
    for name in {p.name for _, p in out}:
        now = merged.get((name, False))
        later = merged.get((name, True))
        if now and later and allocations(now[0], now[1], o.single_allocation) + allocations(
                later[0], later[1], o.single_allocation) <= MERGE_THRESHOLD:
            now[0].jobs += later[0].jobs
            now[0].rr_names += later[0].rr_names
            now[0].runtime = max(now[0].runtime, later[0].runtime)
            out.remove(later)
    return out


def _no_partition(g: Group) -> str:
    return (f"no partition fits resource requirements {'/'.join(g.rr_names)} "
            f"({g.cpus} CPUs, {g.memory // MIB} MiB, {g.gpus} GPUs, {g.runtime:g} s): "
            f"{len(g.jobs)} job(s) get no scheduler")


def make_plan(spec: dict[str, Any], profile: Profile, o: Options) -> Plan:
    """The plan for a normalized spec (``torc.spec.validate.normalize`` output)."""
    plan = Plan()
    groups = _groups(spec)
    if o.group_by == "partition":
        pairs = _by_partition(profile, groups, o, plan.warnings)
    elif o.group_by == "resource-requirements":
        pairs = []
        for g in groups:
            p = _best(profile, g)
            if p is None:
                plan.warnings.append(_no_partition(g))
            else:
                pairs.append((g, p))
    else:
        raise TorcError(f"--group-by must be resource-requirements or partition, not "
                        f"{o.group_by!r}")
    for g, p in pairs:
        n = allocations(g, p, o.single_allocation)
        nodes = n if o.single_allocation else max(g.nodes, 1)
        count = 1 if o.single_allocation else max(n // max(g.nodes, 1), 1)
        name = f"{g.name}_scheduler"
        # The whole node (jobs may use more than their estimate): Torc asks for all its
        # memory; the CPUs must be asked for too, or Slurm gives one. Memory in MB unless
        # exact in GB (4000 MB as "3g" is less than a 3500m job needs).
        mem = p.memory_mb
        sched: dict[str, Any] = {
            "name": name, "account": o.account, "nodes": nodes,
            "walltime": walltime_str(walltime(g, p, o)),
            "mem": f"{mem // 1024}g" if mem % 1024 == 0 else f"{mem}m",
            "extra": f"--cpus-per-task={p.cpus_per_node}" if p.shared else "--exclusive"}
        if p.requires_explicit_request:
            sched["partition"] = p.name
        if g.gpus:
            sched["gres"] = f"gpu:{g.gpus}"
        if p.default_qos:
            sched["qos"] = p.default_qos
        plan.schedulers.append(sched)
        for job in g.jobs:
            plan.assignments[job] = name
        if o.add_actions:
            action: dict[str, Any] = {
                "trigger_type": "on_jobs_ready" if g.deferred else "on_workflow_start",
                "action_type": "schedule_nodes", "scheduler": name, "scheduler_type": "slurm",
                "num_allocations": count,
                # One allocation of N nodes for N one-node jobs needs a worker on each node;
                # a multi-node job is run by one worker for all its nodes.
                "start_one_worker_per_node": o.single_allocation and nodes > 1}
            if g.deferred:
                action["jobs"] = list(g.jobs)
            plan.actions.append(action)
    return plan


def apply_plan(raw: dict[str, Any], plan: Plan, names_of: list[list[str]],
               force: bool = False) -> dict[str, Any]:
    """The user's spec (parsed, before expansion) with the plan's schedulers, actions and
    job schedulers added. ``names_of[i]`` are the job names raw job entry ``i`` expands to;
    an entry whose jobs went to different schedulers is written out expanded."""
    old_actions = [a for a in raw.get("actions") or []
                   if a.get("action_type") == "schedule_nodes"]
    if (raw.get("slurm_schedulers") or old_actions) and not force:
        raise TorcError("the spec already has slurm_schedulers or schedule_nodes actions; "
                        "remove them, or --force to replace them")
    out = dict(raw)
    out["slurm_schedulers"] = plan.schedulers
    out["actions"] = [a for a in raw.get("actions") or [] if a not in old_actions] + \
        plan.actions
    jobs: list[dict[str, Any]] = []
    for entry, names in zip(raw["jobs"], names_of, strict=True):
        scheds = {plan.assignments.get(n) for n in names}
        if len(scheds) == 1:
            sched = scheds.pop()
            jobs.append({**entry, **({"scheduler": sched} if sched else {})})
        else:
            from torc.spec.params import expand_entry
            for e in expand_entry(entry, raw.get("parameters") or {}, "jobs"):
                sched = plan.assignments.get(e["name"])
                jobs.append({**e, **({"scheduler": sched} if sched else {})})
    out["jobs"] = jobs
    return out
