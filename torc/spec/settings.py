"""Workflow-wide settings of a spec: how workers behave (``compute_node_*``, claim order), how
jobs run (``execution_config``, stdio), what happens when they fail (``failure_handlers``,
``use_pending_failed``) and whether their resources are sampled (``resource_monitor``).

Pure logic: each function checks one section and returns its normalized form, with Torc's
defaults filled in, so the coordinator and the workers never guess.
"""

from __future__ import annotations

from typing import Any

from torc.spec.checks import (
    Ctx,
    bool_field,
    check_keys,
    int_field,
    line_of,
    list_field,
    str_field,
)

SORT_METHODS = ("none", "gpus_runtime_memory", "gpus_memory_runtime")
STDIO_MODES = ("separate", "combined", "no_stdout", "no_stderr", "none")
GRANULARITIES = ("summary", "time_series")
EXECUTION_KEYS = {"mode", "stdio", "limit_resources", "termination_signal",
                  "sigterm_lead_seconds", "sigkill_headroom_seconds", "oom_exit_code",
                  "timeout_exit_code"}
STDIO_KEYS = {"mode", "delete_on_success"}
MONITOR_KEYS = {"enabled", "granularity", "sample_interval_seconds", "generate_plots",
                "metrics"}
METRICS = ("cpu_percent", "memory_bytes")
HANDLER_KEYS = {"name", "rules"}
RULE_KEYS = {"exit_codes", "match_all_exit_codes", "recovery_script", "max_retries"}
SIGNALS = ("SIGTERM", "SIGINT", "SIGUSR1", "SIGUSR2", "SIGHUP", "SIGQUIT", "SIGKILL")

# Torc's job runner defaults (ComputeNodeRules).
WORKER_DEFAULTS = {
    "compute_node_expiration_buffer_seconds": 60,
    "compute_node_wait_for_new_jobs_seconds": 90,
    "compute_node_ignore_workflow_completion": False,
    "compute_node_wait_for_healthy_database_minutes": 20,
}


def _choice(ctx: Ctx, obj: dict, key: str, where: str, choices: tuple[str, ...],
            default: str) -> str:
    value = obj.get(key)
    if value is None:
        return default
    # Torc's enums serialize as snake_case; its docs also show PascalCase (TimeSeries).
    norm = value if not isinstance(value, str) else \
        "".join("_" + c.lower() if c.isupper() else c for c in value).lstrip("_")
    if norm not in choices:
        raise ctx.fail(where, f"{key!r} must be one of {', '.join(choices)}; got {value!r}",
                       line_of(obj, key))
    return norm


def worker_settings(ctx: Ctx, spec: dict) -> dict[str, Any]:
    """The ``compute_node_*`` settings (Torc's defaults where absent) and the claim order."""
    out: dict[str, Any] = {}
    for key, default in WORKER_DEFAULTS.items():
        if isinstance(default, bool):
            out[key] = bool_field(ctx, spec, key, "spec", default)
        else:
            out[key] = int_field(ctx, spec, key, "spec", default)
    out["jobs_sort_method"] = _choice(ctx, spec, "jobs_sort_method", "spec", SORT_METHODS,
                                      "none")
    return out


def stdio(ctx: Ctx, obj: Any, where: str, default: dict[str, Any] | None) -> dict[str, Any]:
    """A ``stdio`` mapping: ``mode`` and ``delete_on_success`` over ``default``."""
    base = default or {"mode": "separate", "delete_on_success": False}
    if obj is None:
        return dict(base)
    check_keys(ctx, obj, STDIO_KEYS, where)
    return {"mode": _choice(ctx, obj, "mode", where, STDIO_MODES, base["mode"]),
            "delete_on_success": bool_field(ctx, obj, "delete_on_success", where,
                                            base["delete_on_success"])}


def execution_config(ctx: Ctx, spec: dict) -> dict[str, Any]:
    """``execution_config`` with Torc's defaults (mode direct, 137 on OOM, 152 on timeout)."""
    ec = spec.get("execution_config") or {}
    where = "execution_config"
    check_keys(ctx, ec, EXECUTION_KEYS, where)
    signal = str_field(ctx, ec, "termination_signal", where, default="SIGTERM")
    if signal not in SIGNALS:
        raise ctx.fail(where, f"'termination_signal' must be one of {', '.join(SIGNALS)}; got "
                       f"{signal!r}", line_of(ec, "termination_signal"))
    return {
        "mode": _choice(ctx, ec, "mode", where, ("direct", "slurm", "auto"), "direct"),
        "stdio": stdio(ctx, ec.get("stdio"), f"{where}.stdio", None),
        "limit_resources": bool_field(ctx, ec, "limit_resources", where, False),
        "termination_signal": signal,
        "sigterm_lead_seconds": int_field(ctx, ec, "sigterm_lead_seconds", where, 30),
        "sigkill_headroom_seconds": int_field(ctx, ec, "sigkill_headroom_seconds", where, 60),
        "oom_exit_code": int_field(ctx, ec, "oom_exit_code", where, 137, minimum=1),
        "timeout_exit_code": int_field(ctx, ec, "timeout_exit_code", where, 152, minimum=1),
    }


def resource_monitor(ctx: Ctx, spec: dict) -> dict[str, Any]:
    """``resource_monitor``: on unless ``enabled: false`` (Torc monitors every job by default,
    peak and average, every 5 s), so ``recover`` and the utilization report have figures."""
    rm = spec.get("resource_monitor") or {}
    where = "resource_monitor"
    check_keys(ctx, rm, MONITOR_KEYS, where)
    return {
        "enabled": bool_field(ctx, rm, "enabled", where, True),
        "granularity": _choice(ctx, rm, "granularity", where, GRANULARITIES, "summary"),
        "sample_interval_seconds": int_field(ctx, rm, "sample_interval_seconds", where, 5,
                                             minimum=1),
        "generate_plots": bool_field(ctx, rm, "generate_plots", where, False),
        "metrics": _metrics(ctx, rm, where),
    }


def _metrics(ctx: Ctx, rm: dict, where: str) -> list[str]:
    """Which figures to record (Torc's examples list them): both unless the spec says."""
    value = rm.get("metrics")
    if value is None:
        return list(METRICS)
    if not isinstance(value, list) or not value or any(v not in METRICS for v in value):
        raise ctx.fail(where, f"'metrics' must be a non-empty list of {', '.join(METRICS)}; "
                       f"got {value!r}", line_of(rm, "metrics"))
    return [m for m in METRICS if m in value]


def failure_handlers(ctx: Ctx, spec: dict) -> list[dict[str, Any]]:
    """``failure_handlers``: named lists of rules, checked as Torc reads them."""
    out: list[dict[str, Any]] = []
    seen: set[str] = set()
    for i, h in enumerate(list_field(ctx, spec, "failure_handlers")):
        where = f"failure_handlers[{i}]"
        check_keys(ctx, h, HANDLER_KEYS, where)
        name = str_field(ctx, h, "name", where, required=True)
        if name in seen:
            raise ctx.fail(where, f"duplicate failure handler name {name!r}", line_of(h, "name"))
        seen.add(name)
        rules = h.get("rules")
        if not isinstance(rules, list) or not rules:
            raise ctx.fail(where, "'rules' must be a non-empty list", line_of(h, "rules")
                           or line_of(h))
        out.append({"name": name, "rules": [_rule(ctx, r, f"{where}.rules[{k}]")
                                            for k, r in enumerate(rules)]})
    return out


def _rule(ctx: Ctx, rule: Any, where: str) -> dict[str, Any]:
    check_keys(ctx, rule, RULE_KEYS, where)
    codes = rule.get("exit_codes") or []
    if not isinstance(codes, list) or not all(
            isinstance(c, int) and not isinstance(c, bool) and -255 <= c <= 255 for c in codes):
        raise ctx.fail(where, "'exit_codes' must be a list of integers from -255 to 255",
                       line_of(rule, "exit_codes"))
    match_all = bool_field(ctx, rule, "match_all_exit_codes", where, False)
    if not codes and not match_all:
        raise ctx.fail(where, "a rule needs 'exit_codes' or 'match_all_exit_codes: true'",
                       line_of(rule))
    return {"exit_codes": list(codes), "match_all_exit_codes": match_all,
            "recovery_script": str_field(ctx, rule, "recovery_script", where),
            "max_retries": int_field(ctx, rule, "max_retries", where, 3)}


def matching_rule(handler: dict[str, Any] | None, return_code: int) -> dict[str, Any] | None:
    """The rule of ``handler`` for a failed attempt's return code, as Torc picks it: the first
    rule listing the code, else the first with ``match_all_exit_codes`` (any non-zero code)."""
    if handler is None or return_code == 0:
        return None
    rules = handler["rules"]
    return next((r for r in rules if return_code in r["exit_codes"]),
                next((r for r in rules if r["match_all_exit_codes"]), None))
