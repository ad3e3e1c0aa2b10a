"""Spec validation and normalization: a parsed spec becomes the coordinator's compact form.

Pure logic, no I/O. The client runs it for early errors with file lines; the coordinator runs it
again on what it receives, and stores only the normalized result (dependencies resolved to job
indices, resources parsed), so restarts never re-validate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from torc.spec import sections
from torc.spec.actions import normalize_actions
from torc.spec.checks import (
    INT64,
    MAX_EXPANDED_BYTES,
    Ctx,
    bool_field,
    check_data,
    check_keys,
    compile_regex,
    int_field,
    line_of,
    list_field,
    no_match,
    str_field,
    str_list,
    text,
)
from torc.spec.graph import check_acyclic
from torc.spec.job_io import IO_KEYS, implied_deps, io_refs, job_io
from torc.spec.params import MAX_EXPANSION, expand_entry, expands
from torc.spec.sections import DEFAULT_RR, resource_requirements, slurm_defaults
from torc.spec.settings import (
    WORKER_DEFAULTS,
    execution_config,
    failure_handlers,
    resource_monitor,
    stdio,
    worker_settings,
)

TOP_KEYS = {
    "name", "user", "description", "project", "metadata", "jobs", "files", "user_data",
    "resource_requirements", "slurm_schedulers", "slurm_defaults", "actions", "parameters",
    "execution_config", "failure_handlers", "resource_monitor", "use_pending_failed",
    "jobs_sort_method", *WORKER_DEFAULTS,
}
JOB_KEYS = {
    "name", "command", "invocation_script", "depends_on", "depends_on_regexes", "input_files",
    "output_files", "input_user_data", "output_user_data", "resource_requirements", "scheduler",
    "cancel_on_blocking_job_failure", "supports_termination", "priority", "parameters",
    "parameter_mode", "use_parameters", "retry_on_worker_loss", "input_file_regexes",
    "output_file_regexes", "input_user_data_regexes", "output_user_data_regexes", "stdio",
    "failure_handler",
}
FILE_KEYS = {"name", "path", "parameters", "parameter_mode", "use_parameters"}
USER_DATA_KEYS = {"name", "data", "is_ephemeral", "parameters", "parameter_mode",
                  "use_parameters"}


# The job keys that normalize reads outside its block of defaulted fields. A job that has no
# other key (most jobs of a big spec) takes every default unchecked; any other key, including
# one added to JOB_KEYS later, sends the job through the block that reads them all.
_READ_ELSEWHERE = frozenset((
    "name", "command", "depends_on", "depends_on_regexes", "input_files", "output_files",
    "input_user_data", "output_user_data", "input_file_regexes", "output_file_regexes",
    "input_user_data_regexes", "output_user_data_regexes", "resource_requirements",
    "scheduler", "stdio", "failure_handler", "parameters", "parameter_mode",
    "use_parameters"))


def _expand(ctx: Ctx, entries: list, shared: dict, section: str, allowed: set[str],
            budget: list[int]) -> list[tuple[dict, int | None]]:
    """Expand parameterized entries; each result keeps the line of its source entry.

    ``budget`` is [entries left, text bytes left], shared by every section of the spec, so the
    limits hold for the whole spec rather than for each entry.
    """
    out: list[tuple[dict, int | None]] = []
    for i, entry in enumerate(entries):
        if not (isinstance(entry, dict) and entry.keys() <= allowed):
            check_keys(ctx, entry, allowed, f"{section}[{i}]")  # names what is wrong
        line = line_of(entry)
        if not expands(entry, shared) and budget[0] > 0:
            budget[0] -= 1  # most entries of a big spec: no generator, no name for each
            out.append((entry, line))
            continue
        where = f"{section}[{i}]"
        try:
            for e in expand_entry(entry, shared, where, max(budget[0], 0)):
                budget[0] -= 1
                if e is not entry:  # made by expansion (the request's own text is bounded)
                    budget[1] -= sum(len(v) for v in e.values() if isinstance(v, str))
                if budget[0] < 0:
                    raise ValueError(f"the spec expands to more than {MAX_EXPANSION:,} entries")
                if budget[1] < 0:
                    raise ValueError(f"the spec expands to more than {MAX_EXPANDED_BYTES >> 20}"
                                     " MiB of text")
                out.append((e, line))
        except ValueError as e:
            raise ctx.fail(where, str(e).removeprefix(where + ": "), line) from None
    return out


def _named_entries(ctx: Ctx, spec: dict, key: str, allowed: set[str], shared: dict,
                   budget: list[int]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for entry, line in _expand(ctx, list_field(ctx, spec, key), shared, key, allowed, budget):
        name = str_field(ctx, entry, "name", f"{key} entry", required=True)
        if name in out:
            raise ctx.fail(f"{key}[{name!r}]", "duplicate name", line)
        if key == "files":
            path = entry.get("path", name)
            if not isinstance(path, str):
                raise ctx.fail(f"files[{name!r}]", "'path' must be a string", line)
            out[name] = {"name": name, "path": text(ctx, path, f"files[{name!r}].path", line)}
        else:
            check_data(ctx, entry.get("data"), f"{key}[{name!r}].data", line)
            out[name] = dict(entry)
    return out


def _job_names(ctx: Ctx, entries: list[tuple[dict, int | None]]
               ) -> tuple[list[str], dict[str, int]]:
    names: list[str] = []
    index: dict[str, int] = {}
    for i, (job, line) in enumerate(entries):
        jname = str_field(ctx, job, "name", f"jobs[{i}]", required=True)
        if jname in index:
            raise ctx.fail(f"jobs[{jname!r}]", "duplicate job name", line)
        index[jname] = i
        names.append(jname)
    return names, index


def _explicit_deps(ctx: Ctx, job: dict, i: int, where: str, line: int | None,
                   names: list[str], index: dict[str, int],
                   matches: dict[str, frozenset[int]]) -> set[int]:
    """``depends_on`` and ``depends_on_regexes`` (RE2, matched against whole names; each
    distinct pattern once per spec, in ``matches``: a stage of a thousand jobs usually shares
    one pattern)."""
    deps: set[int] = set()
    if "depends_on" not in job and "depends_on_regexes" not in job:
        return deps
    for dep in str_list(ctx, job, "depends_on", where):
        k = index.get(dep)
        if k is None:
            raise ctx.fail(where, f"depends_on: unknown job {dep!r}",
                           line_of(job, "depends_on") or line)
        deps.add(k)
    for pattern in str_list(ctx, job, "depends_on_regexes", where) \
            if "depends_on_regexes" in job else ():
        found = matches.get(pattern)
        if found is None:
            rx = compile_regex(ctx, pattern, f"{where}.depends_on_regexes",
                               line_of(job, "depends_on_regexes") or line)
            found = matches[pattern] = frozenset(j for j, n in enumerate(names)
                                                 if rx.fullmatch(n))
        matched = found - {i}
        if not matched:
            rx = compile_regex(ctx, pattern, f"{where}.depends_on_regexes",
                               line_of(job, "depends_on_regexes") or line)
            raise ctx.fail(where, f"depends_on_regexes: {no_match(pattern, rx, names)}",
                           line_of(job, "depends_on_regexes") or line)
        deps |= matched
    if i in deps:
        raise ctx.fail(where, "a job cannot depend on itself", line)
    return deps


def _priority(ctx: Ctx, job: dict, where: str, line: int | None) -> int:
    priority = job.get("priority", 0)
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise ctx.fail(where, f"'priority' must be an integer, got {priority!r}", line)
    if not INT64[0] <= priority <= INT64[1]:
        raise ctx.fail(where, f"'priority' must fit in 64 bits, got {priority}",
                       line_of(job, "priority") or line)
    return priority


def normalize(spec: Any, source: str = "<spec>") -> dict[str, Any]:
    """Validate a parsed spec and return its normalized form; raise SpecError naming the problem."""
    ctx = Ctx(source)
    if not isinstance(spec, dict):
        raise ctx.fail("spec", f"expected a mapping at the top level, got {type(spec).__name__}")
    check_keys(ctx, spec, TOP_KEYS, "spec")
    name = str_field(ctx, spec, "name", "spec", required=True)
    # Without "jobs", a workflow that jobs are added to later (Torc's create_workflow, then
    # create_jobs); "jobs: []" is a mistake (a sweep that expanded to nothing, say).
    adding_later = "jobs" not in spec
    shared = spec.get("parameters") or {}
    if not isinstance(shared, dict):
        raise ctx.fail("parameters", "expected a mapping of name to values",
                       line_of(spec, "parameters"))
    metadata = spec.get("metadata")
    check_data(ctx, metadata, "metadata", line_of(spec, "metadata"))
    execution = execution_config(ctx, spec)
    handlers = failure_handlers(ctx, spec)
    handler_index = {h["name"]: k for k, h in enumerate(handlers)}

    rrs, rr_index = resource_requirements(ctx, spec)
    schedulers = sections.schedulers(ctx, spec)
    scheduler_names = {s["name"] for s in schedulers}
    defaults = slurm_defaults(ctx, spec)
    budget = [MAX_EXPANSION, MAX_EXPANDED_BYTES]
    files = _named_entries(ctx, spec, "files", FILE_KEYS, shared, budget)
    user_data = _named_entries(ctx, spec, "user_data", USER_DATA_KEYS, shared, budget)

    entries = [] if adding_later else _expand(ctx, list_field(ctx, spec, "jobs"), shared,
                                              "jobs", JOB_KEYS, budget)
    if not entries and not adding_later:
        raise ctx.fail("jobs", "a workflow needs at least one job", line_of(spec, "jobs"))
    names, index = _job_names(ctx, entries)
    order = {"file": {n: k for k, n in enumerate(files)},
             "user_data": {n: k for k, n in enumerate(user_data)}}

    regex_matches: dict[str, frozenset[int]] = {}
    producers: dict[tuple[str, str], list[int]] = {}
    consumers: list[Sequence[tuple[str, str]]] = []
    jobs: list[dict[str, Any]] = []
    default_rr: int | None = None
    for i, (job, line) in enumerate(entries):
        where = f"jobs[{names[i]!r}]"
        command = str_field(ctx, job, "command", where, required=True)
        inputs: list[tuple[str, str]] | tuple[()] = ()
        outputs: list[tuple[str, str]] | tuple[()] = ()
        if "${" in command or not IO_KEYS.isdisjoint(job.keys()):
            command, inputs, outputs = job_io(ctx, job, where, line, command, files,
                                               user_data)
        for ref in outputs:
            producers.setdefault(ref, []).append(i)
        consumers.append(inputs)

        rr_name = job.get("resource_requirements")
        if rr_name is None:
            if default_rr is None:
                default_rr = len(rrs)
                rrs.append(dict(DEFAULT_RR, name="default" if "default" not in rr_index
                                else "__default__"))
            rr = default_rr
        else:
            if not isinstance(rr_name, str) or rr_name not in rr_index:
                raise ctx.fail(where, f"unknown resource_requirements {rr_name!r}",
                               line_of(job, "resource_requirements") or line)
            rr = rr_index[rr_name]
        scheduler = job.get("scheduler")
        if scheduler is not None and scheduler not in scheduler_names:
            raise ctx.fail(where, f"unknown scheduler {scheduler!r} (not in slurm_schedulers)",
                           line_of(job, "scheduler") or line)
        handler = job.get("failure_handler")
        if handler is not None and handler not in handler_index:
            raise ctx.fail(where, f"unknown failure_handler {handler!r} (not in "
                           "failure_handlers)", line_of(job, "failure_handler") or line)
        if job.keys() <= _READ_ELSEWHERE:  # nothing but what is read elsewhere: defaults
            script, cancel, term, priority, retry = "", True, False, 0, 0
        else:
            script = str_field(ctx, job, "invocation_script", where)
            cancel = bool_field(ctx, job, "cancel_on_blocking_job_failure", where, True)
            term = bool_field(ctx, job, "supports_termination", where, False)
            priority = _priority(ctx, job, where, line)
            retry = int_field(ctx, job, "retry_on_worker_loss", where, 0)
        entry = {
            "name": names[i],
            "command": command,
            "invocation_script": script,
            "deps": _explicit_deps(ctx, job, i, where, line, names, index, regex_matches),
            "rr": rr,
            "scheduler": scheduler,
            "cancel_on_blocking_job_failure": cancel,
            "supports_termination": term,
            "priority": priority,
            "retry_on_worker_loss": retry,
        }
        # Optional fields only when set: a million jobs carry no empty ones.
        if handler is not None:
            entry["failure_handler"] = handler_index[handler]
        if job.get("stdio") is not None:
            entry["stdio"] = stdio(ctx, job["stdio"], f"{where}.stdio", execution["stdio"])
        io_refs(entry, inputs, outputs, order)
        jobs.append(entry)

    check_acyclic(ctx, names, implied_deps(jobs, producers, consumers))

    actions = normalize_actions(ctx, spec, names, index, schedulers, execution["mode"])
    return {
        "name": name,
        "description": str_field(ctx, spec, "description", "spec"),
        "project": str_field(ctx, spec, "project", "spec"),
        # The owner Torc records; the coordinator decides whether the caller may claim it.
        "user": text(ctx, str_field(ctx, spec, "user", "spec"), "spec.user",
                     line_of(spec, "user"), name=True),
        "metadata": metadata,
        "files": list(files.values()),
        "user_data": list(user_data.values()),
        "resource_requirements": rrs,
        "slurm_schedulers": schedulers,
        "slurm_defaults": defaults,
        "execution_config": execution,
        "failure_handlers": handlers,
        "resource_monitor": resource_monitor(ctx, spec),
        "use_pending_failed": bool_field(ctx, spec, "use_pending_failed", "spec", False),
        "settings": worker_settings(ctx, spec),
        "jobs": jobs,
        "actions": actions,
    }
