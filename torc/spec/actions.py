"""A spec's ``actions``, checked against the workflow-actions contract and normalized (jobs
selected by name or regex resolved to indices)."""

from __future__ import annotations

from typing import Any

from torc.spec.checks import (
    Ctx,
    bool_field,
    compile_regex,
    int_field,
    line_of,
    list_field,
    no_match,
    str_field,
    str_list,
)
from torc.triggers import JOB_TRIGGERS, TRIGGERS, WORKER_TRIGGERS

ACTION_COMMON_KEYS = {"trigger_type", "action_type", "persistent", "max_retries"}
ACTION_TYPE_KEYS = {
    "run_commands": {"commands"},
    "schedule_nodes": {"scheduler", "scheduler_type", "num_allocations",
                       "start_one_worker_per_node", "max_parallel_jobs"},
}


def _select_jobs(ctx: Ctx, action: dict, where: str, names: list[str],
                 index: dict[str, int]) -> list[int]:
    selected: set[int] = set()
    for name in str_list(ctx, action, "jobs", where):
        if name not in index:
            raise ctx.fail(where, f"jobs: unknown job {name!r}", line_of(action, "jobs"))
        selected.add(index[name])
    for pattern in str_list(ctx, action, "job_name_regexes", where):
        rx = compile_regex(ctx, pattern, where, line_of(action, "job_name_regexes"))
        matched = {j for j, n in enumerate(names) if rx.fullmatch(n)}
        if not matched:
            raise ctx.fail(where, f"job_name_regexes: {no_match(pattern, rx, names)}",
                           line_of(action, "job_name_regexes"))
        selected |= matched
    return sorted(selected)


def normalize_actions(ctx: Ctx, spec: dict, names: list[str], index: dict[str, int],
             schedulers: list[dict], execution_mode: str) -> list[dict]:
    scheduler_names = {s["name"] for s in schedulers}
    out: list[dict] = []
    for i, a in enumerate(list_field(ctx, spec, "actions")):
        where = f"actions[{i}]"
        if not isinstance(a, dict):
            raise ctx.fail(where, "expected a mapping", line_of(spec, "actions"))
        trigger = str_field(ctx, a, "trigger_type", where, required=True)
        if trigger not in TRIGGERS:
            raise ctx.fail(where, f"unknown trigger_type {trigger!r}; expected one of "
                           + ", ".join(TRIGGERS), line_of(a, "trigger_type"))
        kind = str_field(ctx, a, "action_type", where, required=True)
        if kind not in ACTION_TYPE_KEYS:
            raise ctx.fail(where, f"unknown action_type {kind!r}; expected run_commands or "
                           "schedule_nodes", line_of(a, "action_type"))
        allowed = ACTION_COMMON_KEYS | ACTION_TYPE_KEYS[kind]
        if trigger in JOB_TRIGGERS or trigger == "on_workflow_start":
            allowed |= {"jobs", "job_name_regexes"}
        for key in a:
            if key not in allowed:
                why = ("does not belong to a " + trigger + " action"
                       if key in ("jobs", "job_name_regexes") else
                       f"does not belong to action_type {kind!r}"
                       if any(key in keys for keys in ACTION_TYPE_KEYS.values()) else
                       "is an unknown key")
                raise ctx.fail(where, f"{key!r} {why}", line_of(a, key))
        norm: dict[str, Any] = {
            "trigger_type": trigger,
            "action_type": kind,
            "persistent": bool_field(ctx, a, "persistent", where, trigger in WORKER_TRIGGERS),
            "max_retries": int_field(ctx, a, "max_retries", where, 0),
            "jobs": [],
        }
        if trigger in JOB_TRIGGERS:
            if "jobs" not in a and "job_name_regexes" not in a:
                raise ctx.fail(where, f"{trigger} needs 'jobs' or 'job_name_regexes'", line_of(a))
            norm["jobs"] = _select_jobs(ctx, a, where, names, index)
            if not norm["jobs"]:
                raise ctx.fail(where, "selects no job", line_of(a))
        elif "jobs" in a or "job_name_regexes" in a:  # on_workflow_start: only if they run
            norm["jobs"] = _select_jobs(ctx, a, where, names, index)
            if not norm["jobs"]:
                raise ctx.fail(where, "selects no job", line_of(a))
        if kind == "run_commands":
            if "commands" not in a:
                raise ctx.fail(where, "run_commands needs 'commands'", line_of(a))
            commands = str_list(ctx, a, "commands", where)
            if not commands:
                raise ctx.fail(where, "'commands' must not be empty", line_of(a, "commands"))
            norm["commands"] = commands
        else:
            for key in ("scheduler", "scheduler_type", "num_allocations"):
                if key not in a:
                    raise ctx.fail(where, f"schedule_nodes needs {key!r}", line_of(a))
            scheduler = str_field(ctx, a, "scheduler", where, required=True)
            if scheduler not in scheduler_names:
                raise ctx.fail(where, f"scheduler {scheduler!r} is not in slurm_schedulers",
                               line_of(a, "scheduler"))
            stype = str_field(ctx, a, "scheduler_type", where, required=True)
            if stype != "slurm":
                raise ctx.fail(where, f"scheduler_type must be 'slurm', got {stype!r}",
                               line_of(a, "scheduler_type"))
            per_node = bool_field(ctx, a, "start_one_worker_per_node", where, False)
            if per_node and execution_mode == "slurm":
                raise ctx.fail(where, "start_one_worker_per_node is not compatible with "
                               "execution_config.mode: slurm",
                               line_of(a, "start_one_worker_per_node"))
            norm.update({
                "scheduler": scheduler,
                "scheduler_type": stype,
                "num_allocations": int_field(ctx, a, "num_allocations", where, 1, minimum=1),
                "start_one_worker_per_node": per_node,
                # Each worker the allocations start runs at most this many jobs at once.
                "max_parallel_jobs": int_field(ctx, a, "max_parallel_jobs", where, 0),
            })
        out.append(norm)
    return out


