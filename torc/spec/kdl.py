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

import json
from typing import Any

import kdl

from torc.errors import SpecError

# Keys whose value is a list of strings in a spec.
_LISTS = {"depends_on", "depends_on_regexes", "input_files", "output_files", "input_user_data",
          "output_user_data", "input_file_regexes", "output_file_regexes",
          "input_user_data_regexes", "output_user_data_regexes", "jobs", "job_name_regexes",
          "commands", "use_parameters"}
# Torc's singular KDL spellings of list keys, per kind of entry.
_ALIASES = {
    "job": {"depends_on_job": "depends_on", "input_file": "input_files",
            "output_file": "output_files"},
    "action": {"command": "commands", "job": "jobs", "job_name_regex": "job_name_regexes"},
}
# Top-level nodes that add one named entry to a list section.
_SECTIONS = {"job": "jobs", "file": "files", "user_data": "user_data",
             "resource_requirements": "resource_requirements",
             "slurm_scheduler": "slurm_schedulers", "action": "actions"}
# Children that are mappings of name to value (``parameters { i "1:3" }``).
_MAPPINGS = {"parameters", "resource_monitor", "slurm_defaults", "execution_config"}


def _native(value: Any) -> Any:
    """A KDL value as Python: ``1`` an int and ``1.0`` a float, as Torc's reader has them (the
    library's native mode makes every decimal literal a float)."""
    if isinstance(value, kdl.Decimal):
        number = value.mantissa * 10 ** value.exponent
        return int(number) if isinstance(value.mantissa, int) and value.exponent >= 0 \
            else float(number)
    return getattr(value, "value", value)


_CONFIG = kdl.ParseConfig(nativeUntaggedValues=False, nativeTaggedValues=False,
                          valueConverters={})


def _args(node: Any) -> list[Any]:
    return [_native(v) for v in node.args]


def parse_kdl(text: str, source: str) -> dict[str, Any]:
    """Parse a KDL spec; SpecError names the file and line (syntax) or the node (shape)."""
    try:
        doc = kdl.parse(text, _CONFIG)
    except kdl.ParseError as e:
        line = str(e).split(":", 1)[0]
        raise SpecError(f"{source}:{line}: invalid KDL: {e}") from None
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
    if len(node.args) != 1 or node.props or node.nodes:
        raise SpecError(f"{source}: {where}: {node.name!r} takes exactly one value")
    return _args(node)[0]


def _mapping(node: Any, source: str) -> dict[str, Any]:
    if node.args or node.props:
        raise SpecError(f"{source}: {node.name}: expected a block of 'name value' lines")
    out: dict[str, Any] = {}
    for child in node.nodes:
        _put(out, child.name, _mapping(child, source) if child.nodes
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
    for key, value in node.props.items():
        _put(entry, key, _native(value), source, where)
    aliases = _ALIASES.get(node.name, {})
    for child in node.nodes:
        key = aliases.get(child.name, child.name)
        if key in _LISTS:
            if child.props or child.nodes or not child.args:
                raise SpecError(f"{source}: {where}: {child.name!r} takes one or more values")
            entry.setdefault(key, []).extend(_args(child))
        elif key in _MAPPINGS:
            _put(entry, key, _mapping(child, source), source, where)
        elif node.name == "user_data" and key == "data":
            _put(entry, key, _json(child, source, where), source, where)
        else:
            _put(entry, key, _scalar(child, source, where), source, where)
    return entry


def _json(node: Any, source: str, where: str) -> Any:
    value = _scalar(node, source, where)
    if not isinstance(value, str):
        return value
    try:
        return json.loads(value)
    except ValueError as e:
        raise SpecError(f"{source}: {where}: data is not valid JSON: {e}") from None
