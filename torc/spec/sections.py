"""The spec's named sections other than jobs: resource requirements and Slurm schedulers."""

from __future__ import annotations

from torc.spec.checks import (
    Ctx,
    check_keys,
    int_field,
    line_of,
    list_field,
    sbatch_value,
    str_field,
)
from torc.spec.units import parse_duration, parse_memory, parse_walltime

RR_KEYS = {"name", "num_cpus", "memory", "num_gpus", "num_nodes", "runtime"}
SCHEDULER_KEYS = {
    "name", "account", "partition", "nodes", "walltime", "mem", "gres", "qos", "ntasks_per_node",
    "tmp", "extra",
}

DEFAULT_RR = {"name": "default", "num_cpus": 1, "memory": 1 << 20, "num_gpus": 0,
              "num_nodes": 1, "runtime": 60.0}


def resource_requirements(ctx: Ctx, spec: dict) -> tuple[list[dict], dict[str, int]]:
    """Named resource requirements (memory in bytes, runtime in seconds) and their index."""
    rrs: list[dict] = []
    index: dict[str, int] = {}
    for i, rr in enumerate(list_field(ctx, spec, "resource_requirements")):
        where = f"resource_requirements[{i}]"
        check_keys(ctx, rr, RR_KEYS, where)
        name = str_field(ctx, rr, "name", where, required=True)
        where = f"resource_requirements[{name!r}]"
        if name in index:
            raise ctx.fail(where, "duplicate resource requirements name", line_of(rr))
        try:
            memory = parse_memory(rr.get("memory", "1m"))
        except ValueError as e:
            raise ctx.fail(where, f"memory: {e}", line_of(rr, "memory")) from None
        try:
            runtime = parse_duration(rr.get("runtime", "PT1M"))
        except ValueError as e:
            raise ctx.fail(where, f"runtime: {e}", line_of(rr, "runtime")) from None
        index[name] = len(rrs)
        rrs.append({
            "name": name,
            "num_cpus": int_field(ctx, rr, "num_cpus", where, 1, minimum=0),
            "memory": memory,
            "num_gpus": int_field(ctx, rr, "num_gpus", where, 0),
            "num_nodes": int_field(ctx, rr, "num_nodes", where, 1, minimum=1),
            "runtime": runtime,
        })
    return rrs, index


def schedulers(ctx: Ctx, spec: dict) -> list[dict]:
    """Slurm schedulers, every value checked as safe for an ``#SBATCH`` line."""
    out: list[dict] = []
    names: set[str] = set()
    for i, s in enumerate(list_field(ctx, spec, "slurm_schedulers")):
        where = f"slurm_schedulers[{i}]"
        check_keys(ctx, s, SCHEDULER_KEYS, where)
        name = str_field(ctx, s, "name", where, required=True)
        where = f"slurm_schedulers[{name!r}]"
        if name in names:
            raise ctx.fail(where, "duplicate scheduler name", line_of(s))
        names.add(name)
        if "walltime" in s:
            try:
                parse_walltime(s["walltime"])
            except ValueError as e:
                raise ctx.fail(where, f"walltime: {e}", line_of(s, "walltime")) from None
        clean = {}
        for key, value in s.items():
            if key == "nodes" or key == "ntasks_per_node":
                clean[key] = int_field(ctx, s, key, where, 1, minimum=1)
            elif value is not None:
                if not isinstance(value, (str, int)) or isinstance(value, bool):
                    raise ctx.fail(where, f"{key!r} must be a string", line_of(s, key))
                clean[key] = sbatch_value(ctx, str(value), f"{where}.{key}", line_of(s, key))
        out.append(clean)
    return out


def slurm_defaults(ctx: Ctx, spec: dict) -> dict:
    """``slurm_defaults``: options applied under every scheduler's own."""
    defaults = spec.get("slurm_defaults") or {}
    if not isinstance(defaults, dict):
        raise ctx.fail("slurm_defaults", "expected a mapping", line_of(spec, "slurm_defaults"))
    for key, value in defaults.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ctx.fail("slurm_defaults", f"{key!r} must be a string",
                           line_of(defaults, key))
        sbatch_value(ctx, str(key) + str(value), f"slurm_defaults.{key}", line_of(defaults, key))
    return dict(defaults)
