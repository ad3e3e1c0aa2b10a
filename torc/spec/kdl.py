"""KDL specs, mapped to the same data as a YAML spec, the way Torc's KDL reader maps them.

Top-level nodes: ``name``, ``user``, ``description``, ``project``, ``metadata`` and other
settings take one value; ``parameters { i "1:10" }`` is a mapping; ``job "NAME" { ... }``,
``file "NAME" path="..."`` (or with ``path``/``parameters`` children), ``user_data "NAME" {
data "<json>" }``, ``resource_requirements "NAME" { ... }``, ``slurm_scheduler "NAME" { ... }``
and ``action { ... }`` add one entry each. Inside them a child is ``key value``; list-valued
keys take several values (``jobs "a" "b"``) or repeat (``depends_on_job "a"`` twice), and
Torc's singular spellings map to the plural keys (``depends_on_job``, ``input_file``,
``output_file``, an action's ``command`` and ``job``). A key given twice where one value is
expected, or a value of the wrong shape, is an error naming the node; unknown keys go on to
validation, which refuses them by name (Torc's reader skips them silently).
"""

from __future__ import annotations

import importlib
import json
from typing import Any

from torc.errors import SpecError

# ckdl's names come from a star import of its C extension, which a type checker cannot read.
ckdl: Any = importlib.import_module("ckdl")

# Keys whose value is a list of strings in a spec.
_LISTS = {"depends_on", "depends_on_regexes", "input_files", "output_files", "input_user_data",
          "output_user_data", "input_file_regexes", "output_file_regexes",
          "input_user_data_regexes", "output_user_data_regexes", "jobs", "job_name_regexes",
          "commands", "use_parameters"}
# Torc's singular KDL spellings of list keys, per kind of entry.
_ALIASES: dict[str, dict[str, str]] = {
    "job": {"depends_on_job": "depends_on", "input_file": "input_files",
            "output_file": "output_files"},
    "action": {"command": "commands", "job": "jobs", "job_name_regex": "job_name_regexes"},
}
# Top-level nodes that add one named entry to a list section.
_SECTIONS = {"job": "jobs", "file": "files", "user_data": "user_data",
             "resource_requirements": "resource_requirements",
             "slurm_scheduler": "slurm_schedulers", "action": "actions",
             "failure_handler": "failure_handlers"}
# Children that are mappings of name to value (``parameters { i "1:3" }``).
_MAPPINGS = {"parameters", "resource_monitor", "slurm_defaults", "execution_config", "stdio"}


def _native(value: Any) -> Any:
    """A KDL value as Python (a type-annotated one, ``(u8)5``, as its plain value)."""
    return value.value if isinstance(value, ckdl.Value) else value


def _args(node: Any) -> list[Any]:
    return [_native(v) for v in node.args]


def _parses(text: str) -> bool:
    try:
        ckdl.parse(text, version="detect")
        return True
    except ckdl.ParseError:
        return False


def _error_line(text: str) -> int | None:
    """Where a document ckdl refused goes wrong (ckdl reports no position): the line a string
    that never ends starts on; else, in the first top-level node (cut at newlines outside
    braces and strings) that does not parse alone, the first line after which its text,
    closed with the braces still open, no longer parses."""
    lines = text.split("\n")
    depth, start, in_str, escaped, str_line = 0, 0, False, False, 0
    depths: list[int] = []  # open braces after each line
    for n, line in enumerate(lines):
        for ch in line:
            if in_str:
                if escaped:
                    escaped = False
                elif ch == "\\":
                    escaped = True
                elif ch == '"':
                    in_str = False
            elif ch == '"':
                in_str, str_line = True, n
            elif ch == "{":
                depth += 1
            elif ch == "}":
                depth -= 1
        depths.append(depth)
        if depth <= 0 and not in_str:
            if not _parses("\n".join(lines[start:n + 1])):
                for m in range(start, n + 1):
                    if not _parses("\n".join(lines[start:m + 1]) + "\n}" * max(depths[m], 0)):
                        return m + 1
                return start + 1
            start, depth = n + 1, 0
    return str_line + 1 if in_str else (start + 1 if start < len(lines) else None)


def parse_kdl(text: str, source: str) -> dict[str, Any]:
    """Parse a KDL spec; SpecError names the file and line (syntax) or the node (shape)."""
    try:
        # KDL 2 (Torc's own examples: #true, #false, #null) and KDL 1, told apart by ckdl.
        doc = ckdl.parse(text, version="detect")
    except ckdl.ParseError as e:
        line = _error_line(text)
        raise SpecError(f"{source}:{line}: invalid KDL: {e}" if line else
                        f"{source}: invalid KDL: {e}") from None
    spec: dict[str, Any] = {}
    for node in doc.nodes:
        if node.name in _SECTIONS:
            entry = _entry(node, source)
            spec.setdefault(_SECTIONS[node.name], []).append(entry)
        elif node.name in _MAPPINGS:
            _put(spec, node.name, _mapping(node, source), source, "the spec")
        else:
            _put(spec, node.name, _scalar(node, source, "the spec"), source, "the spec")
    return spec


def _where(node: Any) -> str:
    return f"{node.name} {_args(node)[0]!r}" if node.args else node.name


def _put(obj: dict, key: str, value: Any, source: str, where: str) -> None:
    if key in obj:
        raise SpecError(f"{source}: {where}: {key!r} is given twice")
    obj[key] = value


def _scalar(node: Any, source: str, where: str) -> Any:
    if len(node.args) != 1 or node.properties or node.children:
        raise SpecError(f"{source}: {where}: {node.name!r} takes exactly one value")
    return _args(node)[0]


def _mapping(node: Any, source: str) -> dict[str, Any]:
    if node.args or node.properties:
        raise SpecError(f"{source}: {node.name}: expected a block of 'name value' lines")
    out: dict[str, Any] = {}
    for child in node.children:
        _put(out, child.name, _mapping(child, source) if child.children
             else _scalar(child, source, node.name), source, node.name)
    return out


def _entry(node: Any, source: str) -> dict[str, Any]:
    """One job, file, user_data, resource_requirements, slurm_scheduler or action."""
    where = _where(node)
    entry: dict[str, Any] = {}
    if node.name == "action":
        if node.args:
            raise SpecError(f"{source}: {where}: an action takes no name")
    elif len(node.args) != 1 or not isinstance(_args(node)[0], str):
        raise SpecError(f"{source}: {node.name}: expected one name, e.g. {node.name} \"x\"")
    else:
        entry["name"] = _args(node)[0]
    for prop, value in node.properties.items():
        _put(entry, prop, _native(value), source, where)
    aliases = _ALIASES.get(node.name, {})
    for child in node.children:
        key: str = aliases.get(child.name) or child.name
        if node.name == "failure_handler" and key == "rule":
            entry.setdefault("rules", []).append(_rule(child, source, where))
        elif key in _LISTS:
            if child.properties or child.children or not child.args:
                raise SpecError(f"{source}: {where}: {child.name!r} takes one or more values")
            entry.setdefault(key, []).extend(_args(child))
        elif key in _MAPPINGS:
            _put(entry, key, _mapping(child, source), source, where)
        elif node.name == "user_data" and key == "data":
            _put(entry, key, _json(child, source, where), source, where)
        else:
            _put(entry, key, _scalar(child, source, where), source, where)
    return entry


def _rule(node: Any, source: str, where: str) -> dict[str, Any]:
    """``rule { exit_codes 1 2; max_retries 3; recovery_script "..." }`` (Torc's KDL)."""
    if node.args or node.properties:
        raise SpecError(f"{source}: {where}: 'rule' takes a block, e.g. rule {{ exit_codes 1 }}")
    rule: dict[str, Any] = {}
    for child in node.children:
        value = _args(child) if child.name == "exit_codes" else \
            _scalar(child, source, f"{where} rule")
        _put(rule, child.name, value, source, f"{where} rule")
    return rule


def _json(node: Any, source: str, where: str) -> Any:
    value = _scalar(node, source, where)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as e:
        raise SpecError(f"{source}: {where}: data is not valid JSON: {e}") from None
