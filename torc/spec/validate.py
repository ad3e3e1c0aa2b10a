"""Spec validation and normalization: a parsed spec becomes the coordinator's compact form.

Pure logic, no I/O. The client runs it for early errors with file lines; the coordinator runs it
again on what it receives, and stores only the normalized result (dependencies resolved to job
indices, resources parsed), so restarts never re-validate.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import re2

from torc.errors import SpecError
from torc.spec.params import MAX_EXPANSION, expand_entry
from torc.spec.units import parse_duration, parse_memory, parse_walltime
from torc.triggers import JOB_TRIGGERS, TRIGGERS, WORKER_TRIGGERS

TOP_KEYS = {
    "name", "user", "description", "project", "metadata", "jobs", "files", "user_data",
    "resource_requirements", "slurm_schedulers", "slurm_defaults", "actions", "parameters",
    "execution_config",
}
JOB_KEYS = {
    "name", "command", "invocation_script", "depends_on", "depends_on_regexes", "input_files",
    "output_files", "input_user_data", "output_user_data", "resource_requirements", "scheduler",
    "cancel_on_blocking_job_failure", "supports_termination", "priority", "parameters",
    "parameter_mode", "retry_on_worker_loss",
}
FILE_KEYS = {"name", "path", "parameters", "parameter_mode"}
USER_DATA_KEYS = {"name", "data", "is_ephemeral"}
RR_KEYS = {"name", "num_cpus", "memory", "num_gpus", "num_nodes", "runtime"}
SCHEDULER_KEYS = {
    "name", "account", "partition", "nodes", "walltime", "mem", "gres", "qos", "ntasks_per_node",
    "tmp", "extra",
}
EXECUTION_CONFIG_KEYS = {"mode"}

ACTION_COMMON_KEYS = {"trigger_type", "action_type", "persistent", "max_retries"}
ACTION_TYPE_KEYS = {
    "run_commands": {"commands"},
    "schedule_nodes": {"scheduler", "scheduler_type", "num_allocations",
                       "start_one_worker_per_node"},
}

DEFAULT_RR = {"name": "default", "num_cpus": 1, "memory": 1 << 20, "num_gpus": 0,
              "num_nodes": 1, "runtime": 60.0}

_FILE_REF = re.compile(r"\$\{files\.(input|output)\.([^}]+)\}")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # errors are raised, not printed to stderr by the library

# Characters a name may not hold: C0 controls (NUL, newline...) and DEL. Names end up in file
# names, batch scripts, tables and environment variables.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Text fields (commands, paths, descriptions) may hold newlines and tabs, but never NUL: no
# process can be given an argument or environment value that contains one.
_NUL = "\x00"
MAX_METADATA_DEPTH = 64
# All text that parameter expansion may produce, summed over entries: a small spec must not
# make the coordinator build gigabytes.
MAX_EXPANDED_BYTES = 512 << 20
INT64 = (-(2**63), 2**63 - 1)


class _Ctx:
    """Where an error points: the source file and the line of each top-level section."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str, line: int | None = None) -> SpecError:
        loc = f"{self.source}:{line}" if line else self.source
        return SpecError(f"{loc}: {where}: {message}")


def _text(ctx: _Ctx, value: str, where: str, line: int | None, name: bool = False) -> str:
    """Refuse text no process or protobuf can carry: lone surrogates (not UTF-8), NUL, and
    in names any control character."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ctx.fail(where, f"{value!r} is not valid UTF-8 text", line) from None
    if name and _CONTROL.search(value):
        raise ctx.fail(where, f"name {value!r} must not contain control characters", line)
    if _NUL in value:
        raise ctx.fail(where, f"{value!r} must not contain a NUL character", line)
    return value


def _check_data(ctx: _Ctx, value: Any, where: str, line: int | None, depth: int = 0) -> None:
    """Free-form data (metadata, user_data): bounded nesting, valid text."""
    if depth > MAX_METADATA_DEPTH:
        raise ctx.fail(where, f"nested more than {MAX_METADATA_DEPTH} levels deep", line)
    if isinstance(value, str):
        _text(ctx, value, where, line)
    elif isinstance(value, dict):
        for k, v in value.items():
            _text(ctx, str(k), where, line)
            _check_data(ctx, v, where, line, depth + 1)
    elif isinstance(value, list):
        for v in value:
            _check_data(ctx, v, where, line, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and not (
            INT64[0] <= value <= INT64[1]):
        raise ctx.fail(where, f"integer {value} is out of range", line)


def _line(obj: Any, key: str | None = None) -> int | None:
    lines = getattr(obj, "lines", None)
    if key is not None and lines:
        return lines.get(key)
    return getattr(obj, "line", None)


def _check_keys(ctx: _Ctx, obj: Any, allowed: Iterable[str], where: str) -> None:
    if not isinstance(obj, dict):
        raise ctx.fail(where, f"expected a mapping, got {type(obj).__name__}")
    allowed = set(allowed)
    for key in obj:
        if key not in allowed:
            raise ctx.fail(where, f"unknown key {key!r}", _line(obj, key))


def _str(ctx: _Ctx, obj: dict, key: str, where: str, required: bool = False,
         default: str = "") -> str:
    if key not in obj or obj[key] is None:
        if required:
            raise ctx.fail(where, f"missing required key {key!r}", _line(obj))
        return default
    value = obj[key]
    if not isinstance(value, str):
        raise ctx.fail(where, f"{key!r} must be a string, got {value!r}", _line(obj, key))
    if required and not value.strip():
        raise ctx.fail(where, f"{key!r} must not be empty", _line(obj, key))
    return _text(ctx, value, f"{where}.{key}", _line(obj, key), name=key == "name")


def _int(ctx: _Ctx, obj: dict, key: str, where: str, default: int, minimum: int = 0) -> int:
    value = obj.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.fail(where, f"{key!r} must be an integer, got {value!r}", _line(obj, key))
    if value < minimum:
        raise ctx.fail(where, f"{key!r} must be >= {minimum}, got {value}", _line(obj, key))
    if value > 2**62:
        raise ctx.fail(where, f"{key!r} is too large: {value}", _line(obj, key))
    return value


def _bool(ctx: _Ctx, obj: dict, key: str, where: str, default: bool) -> bool:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ctx.fail(where, f"{key!r} must be true or false, got {value!r}", _line(obj, key))
    return value


def _str_list(ctx: _Ctx, obj: dict, key: str, where: str) -> list[str]:
    value = obj.get(key)
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.fail(where, f"{key!r} must be a list of strings", _line(obj, key))
    for v in value:
        _text(ctx, v, f"{where}.{key}", _line(obj, key))
    return value


def _list(ctx: _Ctx, spec: dict, key: str) -> list:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.fail(key, "expected a list", _line(spec, key))
    return value


def _compile(ctx: _Ctx, pattern: Any, where: str, line: int | None) -> Any:
    """A linear-time RE2 regex (the syntax of the Rust regex crate Torc uses): no pattern,
    however hostile, can make matching job names take exponential time."""
    if not isinstance(pattern, str):
        raise ctx.fail(where, f"regex must be a string, got {pattern!r}", line)
    _text(ctx, pattern, where, line)
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as e:
        detail = e.args[0].decode(errors="replace") if e.args and isinstance(
            e.args[0], bytes) else str(e)
        raise ctx.fail(where, f"invalid regex {pattern!r}: {detail}", line) from None


def _expand(ctx: _Ctx, entries: list, shared: dict, section: str, allowed: set[str],
            budget: list[int]) -> list[tuple[dict, int | None]]:
    """Expand parameterized entries; each result keeps the line of its source entry.

    ``budget`` is [entries left, text bytes left], shared by every section of the spec, so the
    limits hold for the whole spec rather than for each entry.
    """
    out: list[tuple[dict, int | None]] = []
    for i, entry in enumerate(entries):
        where = f"{section}[{i}]"
        _check_keys(ctx, entry, allowed, where)
        line = _line(entry)
        try:
            for e in expand_entry(entry, shared, where, max(budget[0], 0)):
                budget[0] -= 1
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


def _resource_requirements(ctx: _Ctx, spec: dict) -> tuple[list[dict], dict[str, int]]:
    rrs: list[dict] = []
    index: dict[str, int] = {}
    for i, rr in enumerate(_list(ctx, spec, "resource_requirements")):
        where = f"resource_requirements[{i}]"
        _check_keys(ctx, rr, RR_KEYS, where)
        name = _str(ctx, rr, "name", where, required=True)
        where = f"resource_requirements[{name!r}]"
        if name in index:
            raise ctx.fail(where, "duplicate resource requirements name", _line(rr))
        try:
            memory = parse_memory(rr.get("memory", "1m"))
        except ValueError as e:
            raise ctx.fail(where, f"memory: {e}", _line(rr, "memory")) from None
        try:
            runtime = parse_duration(rr.get("runtime", "PT1M"))
        except ValueError as e:
            raise ctx.fail(where, f"runtime: {e}", _line(rr, "runtime")) from None
        index[name] = len(rrs)
        rrs.append({
            "name": name,
            "num_cpus": _int(ctx, rr, "num_cpus", where, 1, minimum=0),
            "memory": memory,
            "num_gpus": _int(ctx, rr, "num_gpus", where, 0),
            "num_nodes": _int(ctx, rr, "num_nodes", where, 1, minimum=1),
            "runtime": runtime,
        })
    return rrs, index


def _schedulers(ctx: _Ctx, spec: dict) -> list[dict]:
    out: list[dict] = []
    names: set[str] = set()
    for i, s in enumerate(_list(ctx, spec, "slurm_schedulers")):
        where = f"slurm_schedulers[{i}]"
        _check_keys(ctx, s, SCHEDULER_KEYS, where)
        name = _str(ctx, s, "name", where, required=True)
        where = f"slurm_schedulers[{name!r}]"
        if name in names:
            raise ctx.fail(where, "duplicate scheduler name", _line(s))
        names.add(name)
        if "walltime" in s:
            try:
                parse_walltime(s["walltime"])
            except ValueError as e:
                raise ctx.fail(where, f"walltime: {e}", _line(s, "walltime")) from None
        clean = {}
        for key, value in s.items():
            if key == "nodes" or key == "ntasks_per_node":
                clean[key] = _int(ctx, s, key, where, 1, minimum=1)
            elif value is not None:
                if not isinstance(value, (str, int)) or isinstance(value, bool):
                    raise ctx.fail(where, f"{key!r} must be a string", _line(s, key))
                clean[key] = _sbatch_value(ctx, str(value), f"{where}.{key}", _line(s, key))
        out.append(clean)
    return out


def _sbatch_value(ctx: _Ctx, value: str, where: str, line: int | None) -> str:
    """A value written into an ``#SBATCH`` line: one line, no control characters (a newline
    would end the directive and run the rest as a shell command on the node)."""
    if _CONTROL.search(value):
        raise ctx.fail(where, f"{value!r} must be one line without control characters", line)
    return _text(ctx, value, where, line)


def _named_entries(ctx: _Ctx, spec: dict, key: str, allowed: set[str], shared: dict,
                   budget: list[int]) -> dict[str, dict]:
    out: dict[str, dict] = {}
    for entry, line in _expand(ctx, _list(ctx, spec, key), shared, key, allowed, budget):
        name = _str(ctx, entry, "name", f"{key} entry", required=True)
        if name in out:
            raise ctx.fail(f"{key}[{name!r}]", "duplicate name", line)
        if key == "files":
            path = entry.get("path", name)
            if not isinstance(path, str):
                raise ctx.fail(f"files[{name!r}]", "'path' must be a string", line)
            out[name] = {"name": name, "path": _text(ctx, path, f"files[{name!r}].path", line)}
        else:
            _check_data(ctx, entry.get("data"), f"{key}[{name!r}].data", line)
            out[name] = dict(entry)
    return out


def _find_cycle(n: int, deps: list[list[int]], remaining: set[int]) -> list[int]:
    """Return one cycle (as job indices) among ``remaining``, which contains at least one."""
    color: dict[int, int] = {}
    for root in sorted(remaining):
        if root in color:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        path: list[int] = []
        on_path: dict[int, int] = {}
        while stack:
            node, k = stack.pop()
            if k == 0:
                color[node] = 1
                on_path[node] = len(path)
                path.append(node)
            ups = [u for u in deps[node] if u in remaining]
            if k < len(ups):
                stack.append((node, k + 1))
                nxt = ups[k]
                if nxt in on_path:
                    return path[on_path[nxt]:]
                if nxt not in color:
                    stack.append((nxt, 0))
            else:
                color[node] = 2
                path.pop()
                del on_path[node]
    return sorted(remaining)[:10]


def _check_acyclic(ctx: _Ctx, names: list[str], deps: list[list[int]]) -> None:
    n = len(names)
    indegree = [len(d) for d in deps]
    dependents: list[list[int]] = [[] for _ in range(n)]
    for j, ups in enumerate(deps):
        for u in ups:
            dependents[u].append(j)
    queue = [j for j in range(n) if indegree[j] == 0]
    seen = 0
    while queue:
        j = queue.pop()
        seen += 1
        for d in dependents[j]:
            indegree[d] -= 1
            if indegree[d] == 0:
                queue.append(d)
    if seen < n:
        remaining = {j for j in range(n) if indegree[j] > 0}
        cycle = _find_cycle(n, deps, remaining)
        chain = " -> ".join(names[j] for j in [*cycle, cycle[0]])
        raise ctx.fail("jobs", f"dependency cycle: {chain}")


def _select_jobs(ctx: _Ctx, action: dict, where: str, names: list[str],
                 index: dict[str, int]) -> list[int]:
    selected: set[int] = set()
    for name in _str_list(ctx, action, "jobs", where):
        if name not in index:
            raise ctx.fail(where, f"jobs: unknown job {name!r}", _line(action, "jobs"))
        selected.add(index[name])
    for pattern in _str_list(ctx, action, "job_name_regexes", where):
        rx = _compile(ctx, pattern, where, _line(action, "job_name_regexes"))
        matched = {j for j, n in enumerate(names) if rx.fullmatch(n)}
        if not matched:
            raise ctx.fail(where, f"job_name_regexes: {pattern!r} matches no job",
                           _line(action, "job_name_regexes"))
        selected |= matched
    return sorted(selected)


def _actions(ctx: _Ctx, spec: dict, names: list[str], index: dict[str, int],
             schedulers: list[dict], execution_mode: str) -> list[dict]:
    scheduler_names = {s["name"] for s in schedulers}
    out: list[dict] = []
    for i, a in enumerate(_list(ctx, spec, "actions")):
        where = f"actions[{i}]"
        if not isinstance(a, dict):
            raise ctx.fail(where, "expected a mapping", _line(spec, "actions"))
        trigger = _str(ctx, a, "trigger_type", where, required=True)
        if trigger not in TRIGGERS:
            raise ctx.fail(where, f"unknown trigger_type {trigger!r}; expected one of "
                           + ", ".join(TRIGGERS), _line(a, "trigger_type"))
        kind = _str(ctx, a, "action_type", where, required=True)
        if kind not in ACTION_TYPE_KEYS:
            raise ctx.fail(where, f"unknown action_type {kind!r}; expected run_commands or "
                           "schedule_nodes", _line(a, "action_type"))
        allowed = ACTION_COMMON_KEYS | ACTION_TYPE_KEYS[kind]
        if trigger in JOB_TRIGGERS:
            allowed |= {"jobs", "job_name_regexes"}
        for key in a:
            if key not in allowed:
                why = ("does not belong to a " + trigger + " action"
                       if key in ("jobs", "job_name_regexes") else
                       f"does not belong to action_type {kind!r}"
                       if any(key in keys for keys in ACTION_TYPE_KEYS.values()) else
                       "is an unknown key")
                raise ctx.fail(where, f"{key!r} {why}", _line(a, key))
        norm: dict[str, Any] = {
            "trigger_type": trigger,
            "action_type": kind,
            "persistent": _bool(ctx, a, "persistent", where, trigger in WORKER_TRIGGERS),
            "max_retries": _int(ctx, a, "max_retries", where, 0),
            "jobs": [],
        }
        if trigger in JOB_TRIGGERS:
            if "jobs" not in a and "job_name_regexes" not in a:
                raise ctx.fail(where, f"{trigger} needs 'jobs' or 'job_name_regexes'", _line(a))
            norm["jobs"] = _select_jobs(ctx, a, where, names, index)
            if not norm["jobs"]:
                raise ctx.fail(where, "selects no job", _line(a))
        if kind == "run_commands":
            if "commands" not in a:
                raise ctx.fail(where, "run_commands needs 'commands'", _line(a))
            commands = _str_list(ctx, a, "commands", where)
            if not commands:
                raise ctx.fail(where, "'commands' must not be empty", _line(a, "commands"))
            norm["commands"] = commands
        else:
            for key in ("scheduler", "scheduler_type", "num_allocations"):
                if key not in a:
                    raise ctx.fail(where, f"schedule_nodes needs {key!r}", _line(a))
            scheduler = _str(ctx, a, "scheduler", where, required=True)
            if scheduler not in scheduler_names:
                raise ctx.fail(where, f"scheduler {scheduler!r} is not in slurm_schedulers",
                               _line(a, "scheduler"))
            stype = _str(ctx, a, "scheduler_type", where, required=True)
            if stype != "slurm":
                raise ctx.fail(where, f"scheduler_type must be 'slurm', got {stype!r}",
                               _line(a, "scheduler_type"))
            per_node = _bool(ctx, a, "start_one_worker_per_node", where, False)
            if per_node and execution_mode == "slurm":
                raise ctx.fail(where, "start_one_worker_per_node is not compatible with "
                               "execution_config.mode: slurm",
                               _line(a, "start_one_worker_per_node"))
            norm.update({
                "scheduler": scheduler,
                "scheduler_type": stype,
                "num_allocations": _int(ctx, a, "num_allocations", where, 1, minimum=1),
                "start_one_worker_per_node": per_node,
            })
        out.append(norm)
    return out


def normalize(spec: Any, source: str = "<spec>") -> dict[str, Any]:
    """Validate a parsed spec and return its normalized form; raise SpecError naming the problem."""
    ctx = _Ctx(source)
    if not isinstance(spec, dict):
        raise ctx.fail("spec", f"expected a mapping at the top level, got {type(spec).__name__}")
    _check_keys(ctx, spec, TOP_KEYS, "spec")
    name = _str(ctx, spec, "name", "spec", required=True)
    if "jobs" not in spec:
        raise ctx.fail("spec", "missing required key 'jobs'")
    shared = spec.get("parameters") or {}
    if not isinstance(shared, dict):
        raise ctx.fail("parameters", "expected a mapping of name to values",
                       _line(spec, "parameters"))
    metadata = spec.get("metadata")
    _check_data(ctx, metadata, "metadata", _line(spec, "metadata"))
    execution = spec.get("execution_config") or {}
    _check_keys(ctx, execution, EXECUTION_CONFIG_KEYS, "execution_config")
    execution_mode = execution.get("mode", "direct")
    if execution_mode not in ("direct", "slurm"):
        raise ctx.fail("execution_config",
                       f"mode must be 'direct' or 'slurm', got {execution_mode!r}")

    rrs, rr_index = _resource_requirements(ctx, spec)
    schedulers = _schedulers(ctx, spec)
    scheduler_names = {s["name"] for s in schedulers}
    defaults = spec.get("slurm_defaults") or {}
    if not isinstance(defaults, dict):
        raise ctx.fail("slurm_defaults", "expected a mapping", _line(spec, "slurm_defaults"))
    for key, value in defaults.items():
        if not isinstance(value, (str, int)) or isinstance(value, bool):
            raise ctx.fail("slurm_defaults", f"{key!r} must be a string",
                           _line(defaults, key))
        _sbatch_value(ctx, str(key) + str(value), f"slurm_defaults.{key}", _line(defaults, key))
    budget = [MAX_EXPANSION, MAX_EXPANDED_BYTES]
    files = _named_entries(ctx, spec, "files", FILE_KEYS, shared, budget)
    user_data = _named_entries(ctx, spec, "user_data", USER_DATA_KEYS, shared, budget)

    entries = _expand(ctx, _list(ctx, spec, "jobs"), shared, "jobs", JOB_KEYS, budget)
    if not entries:
        raise ctx.fail("jobs", "a workflow needs at least one job", _line(spec, "jobs"))
    names: list[str] = []
    index: dict[str, int] = {}
    for i, (job, line) in enumerate(entries):
        jname = _str(ctx, job, "name", f"jobs[{i}]", required=True)
        if jname in index:
            raise ctx.fail(f"jobs[{jname!r}]", "duplicate job name", line)
        index[jname] = i
        names.append(jname)

    producers: dict[tuple[str, str], list[int]] = {}
    consumers: list[list[tuple[str, str]]] = []
    jobs: list[dict[str, Any]] = []
    default_rr: int | None = None
    for i, (job, line) in enumerate(entries):
        where = f"jobs[{names[i]!r}]"
        command = _str(ctx, job, "command", where, required=True)
        inputs = [("file", f) for f in _str_list(ctx, job, "input_files", where)]
        outputs = [("file", f) for f in _str_list(ctx, job, "output_files", where)]

        def file_ref(m: re.Match[str], where: str = where, line: int | None = line,
                     inputs: list = inputs, outputs: list = outputs) -> str:
            direction, fname = m.group(1), m.group(2)
            if fname not in files:
                raise ctx.fail(where, f"command refers to unknown file {fname!r}", line)
            (inputs if direction == "input" else outputs).append(("file", fname))
            return files[fname]["path"]

        command = _FILE_REF.sub(file_ref, command)
        for f in (*inputs, *outputs):
            if f[1] not in files:
                raise ctx.fail(where, f"unknown file {f[1]!r} (not in 'files')", line)
        for key, out in (("input_user_data", inputs), ("output_user_data", outputs)):
            for ud in _str_list(ctx, job, key, where):
                if ud not in user_data:
                    raise ctx.fail(where, f"{key}: unknown user_data {ud!r}",
                                   _line(job, key) or line)
                out.append(("user_data", ud))
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
                               _line(job, "resource_requirements") or line)
            rr = rr_index[rr_name]
        scheduler = job.get("scheduler")
        if scheduler is not None and scheduler not in scheduler_names:
            raise ctx.fail(where, f"unknown scheduler {scheduler!r} (not in slurm_schedulers)",
                           _line(job, "scheduler") or line)
        deps: set[int] = set()
        for dep in _str_list(ctx, job, "depends_on", where):
            if dep not in index:
                raise ctx.fail(where, f"depends_on: unknown job {dep!r}",
                               _line(job, "depends_on") or line)
            deps.add(index[dep])
        for pattern in _str_list(ctx, job, "depends_on_regexes", where):
            rx = _compile(ctx, pattern, f"{where}.depends_on_regexes",
                          _line(job, "depends_on_regexes") or line)
            matched = {j for j, n in enumerate(names) if rx.fullmatch(n) and j != i}
            if not matched:
                raise ctx.fail(where, f"depends_on_regexes: {pattern!r} matches no job",
                               _line(job, "depends_on_regexes") or line)
            deps |= matched
        if i in deps:
            raise ctx.fail(where, "a job cannot depend on itself", line)
        priority = job.get("priority", 0)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ctx.fail(where, f"'priority' must be an integer, got {priority!r}", line)
        if not INT64[0] <= priority <= INT64[1]:
            raise ctx.fail(where, f"'priority' must fit in 64 bits, got {priority}",
                           _line(job, "priority") or line)
        jobs.append({
            "name": names[i],
            "command": command,
            "invocation_script": _str(ctx, job, "invocation_script", where),
            "deps": deps,
            "rr": rr,
            "scheduler": scheduler,
            "cancel_on_blocking_job_failure":
                _bool(ctx, job, "cancel_on_blocking_job_failure", where, True),
            "supports_termination": _bool(ctx, job, "supports_termination", where, False),
            "priority": priority,
            "retry_on_worker_loss": _int(ctx, job, "retry_on_worker_loss", where, 0),
        })

    for i, inputs in enumerate(consumers):
        for ref in inputs:
            for producer in producers.get(ref, ()):
                if producer != i:
                    jobs[i]["deps"].add(producer)
    dep_lists = [sorted(j["deps"]) for j in jobs]
    for j, deps_list in zip(jobs, dep_lists, strict=True):
        j["deps"] = deps_list
    _check_acyclic(ctx, names, dep_lists)

    actions = _actions(ctx, spec, names, index, schedulers, execution_mode)
    return {
        "name": name,
        "description": _str(ctx, spec, "description", "spec"),
        "project": _str(ctx, spec, "project", "spec"),
        # The owner Torc records; the coordinator decides whether the caller may claim it.
        "user": _text(ctx, _str(ctx, spec, "user", "spec"), "spec.user", _line(spec, "user"),
                      name=True),
        "metadata": metadata,
        "files": list(files.values()),
        "user_data": list(user_data.values()),
        "resource_requirements": rrs,
        "slurm_schedulers": schedulers,
        "slurm_defaults": dict(defaults),
        "execution_config": {"mode": execution_mode},
        "jobs": jobs,
        "actions": actions,
    }
