"""Reading a spec file (YAML, JSON, JSON5 or KDL, as Torc reads them) into plain data; YAML
keeps the line of every mapping key.

Lines let validation errors say ``spec.yaml:12: jobs[3]: unknown key 'comand'``.
"""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path
from typing import Any

import pyjson5
import yaml

from torc.errors import SpecError
from torc.spec import duplicate_keys, yaml_events
from torc.spec.kdl import parse_kdl
from torc.spec.params import MAX_EXPANSION, scalar


class LineDict(dict):
    """A dict that remembers the source line (1-based) of each key, when known."""

    __slots__ = ("lines", "line")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[str, int] = {}
        self.line: int | None = None


# libyaml's parser (C) when PyYAML was built with it: five times faster on a 10,000-job spec,
# and its nodes keep their marks, so lines are not lost.
_BASE = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _LineLoader(_BASE):  # type: ignore[misc, valid-type]
    """A safe loader that builds LineDicts and rejects duplicate keys."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> LineDict:  # type: ignore[override]
        self.flatten_mapping(node)
        result = LineDict()
        result.line = node.start_mark.line + 1
        for key_node, value_node in node.value:
            key = self.construct_object(key_node, deep=deep)
            if not isinstance(key, str):
                line = key_node.start_mark.line + 1
                raise SpecError(f"line {line}: mapping keys must be strings, got {key!r}")
            if key in result:
                raise SpecError(f"line {key_node.start_mark.line + 1}: duplicate key {key!r}")
            result[key] = self.construct_object(value_node, deep=deep)
            result.lines[key] = key_node.start_mark.line + 1
        return result


_LineLoader.add_constructor(
    yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
    lambda loader, node: loader.construct_mapping(node, deep=True),  # type: ignore[arg-type]
)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, max(offset, 0)) + 1


def _json5(text: str, source: str) -> Any:
    try:
        value = pyjson5.decode(text)
    except pyjson5.Json5DecoderException as e:
        # pyjson5 names the character offset ("near 17"); users want the line.
        words = str(e.args[0]) if e.args else str(e)
        near = [int(w) for w in words.replace(",", " ").split() if w.isdigit()]
        line = f":{_line_of(text, near[-1])}" if near else ""
        raise SpecError(f"{source}{line}: invalid JSON5: {words}") from None
    except (ValueError, RecursionError) as e:
        raise SpecError(f"{source}: invalid JSON5: {e}") from None
    try:
        duplicate_keys.check_json5(text)
    except duplicate_keys.DuplicateKey as e:
        raise e.at(source) from None
    return value


FORMATS = {".json": "json", ".json5": "json5", ".kdl": "kdl", ".yaml": "yaml", ".yml": "yaml"}


def parse_text(text: str, source: str = "<spec>", fmt: str | None = None) -> Any:
    """Parse spec text; ``fmt`` is ``json``, ``json5``, ``kdl`` or ``yaml`` (by default chosen
    by ``source``'s extension, YAML, a superset of JSON, for any other)."""
    if fmt is None:
        fmt = FORMATS.get(Path(source).suffix.lower(), "yaml")
    if fmt == "json5":
        return _json5(text, source)
    if fmt == "kdl":
        return parse_kdl(text, source)
    if fmt == "json":
        try:
            return duplicate_keys.json_loads(text)
        except duplicate_keys.DuplicateKey as e:
            raise e.at(source) from None
        except json.JSONDecodeError as e:
            raise SpecError(f"{source}:{e.lineno}: invalid JSON: {e.msg}") from None
        except (ValueError, RecursionError) as e:
            raise SpecError(f"{source}: invalid JSON: {e}") from None
    try:
        try:
            return yaml_events.build(text, LineDict)
        except yaml_events.Unusual:  # anchors, merge keys...: the full loader
            return yaml.load(text, Loader=_LineLoader)  # noqa: S506 - a SafeLoader subclass
    except SpecError as e:
        raise SpecError(f"{source}: {e.message}") from None
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = f":{mark.line + 1}" if mark else ""
        raise SpecError(f"{source}{line}: invalid YAML: {e.problem or e.context}") from None
    except yaml.YAMLError as e:
        raise SpecError(f"{source}: invalid YAML: {e}") from None
    except (ValueError, RecursionError) as e:  # e.g. an integer of thousands of digits
        raise SpecError(f"{source}: invalid YAML: {e}") from None


def load_file(path: str | Path) -> Any:
    """Read and parse a spec file (format by extension: .yaml/.yml, .json, .json5, .kdl); a
    missing or unreadable file is a SpecError naming it."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise SpecError(f"{p}: cannot read spec: {e.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{p}: spec is not UTF-8 text") from None
    spec = parse_text(text, str(p))
    if isinstance(spec, dict):
        _read_parameter_files(spec, p)
    return spec


# A parameter file holds at most as many values as a whole spec may expand to, and at most
# this much text: a value such as "@/dev/zero" must fail, not fill the memory.
MAX_PARAMETER_FILE = 256 << 20


def _parameter_file(spec_path: Path, name: str, value: str) -> list[str]:
    """The lines of a parameter file: a regular file in the spec's directory or under it,
    read within the caps; a SpecError naming the value otherwise (a spec must not copy
    ``@/etc/passwd`` or ``@~/.torc/token`` into a workflow others may read)."""
    where = f"{spec_path}: parameter {name!r}"
    relative = Path(value[1:])
    base = spec_path.parent.resolve()
    if relative.is_absolute() or value[1:2] == "~":
        raise SpecError(f"{where}: {value!r}: a parameter file must be given relative to the "
                        "spec's directory")
    source = base / relative
    try:
        if not source.resolve().is_relative_to(base):
            raise SpecError(f"{where}: {value!r}: a parameter file must be in the spec's "
                            "directory or under it")
        fd = os.open(source, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as e:
        raise SpecError(f"{where}: cannot read {source} ({value!r}): {e.strerror}") from None
    with open(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise SpecError(f"{where}: {value!r}: {source} is not a regular file")
        data = f.read(MAX_PARAMETER_FILE + 1)
    if len(data) > MAX_PARAMETER_FILE:
        raise SpecError(f"{where}: {value!r}: {source} is larger than "
                        f"{MAX_PARAMETER_FILE >> 20} MiB")
    try:
        lines = data.decode().splitlines()
    except UnicodeDecodeError:
        raise SpecError(f"{where}: {value!r}: {source} is not UTF-8 text") from None
    if len(lines) > MAX_EXPANSION:
        raise SpecError(f"{where}: {value!r}: {source} has {len(lines):,} lines; at most "
                        f"{MAX_EXPANSION:,} values are allowed")
    return lines


def _read_parameter_files(spec: dict, path: Path) -> None:
    """Replace parameter values ``"@values.txt"`` (a file beside the spec, one value per line,
    as Torc reads them) by the list of its values, before validation (which does no I/O)."""
    tables = [spec.get("parameters")]
    for section in ("jobs", "files", "user_data"):
        entries = spec.get(section)
        if isinstance(entries, list):
            tables += [e.get("parameters") for e in entries if isinstance(e, dict)]
    for table in tables:
        if not isinstance(table, dict):
            continue
        for name, value in table.items():
            if isinstance(value, str) and value.startswith("@"):
                values = [scalar(line) for line in _parameter_file(path, name, value)
                          if line.strip()]
                if not values:
                    raise SpecError(f"{path}: parameter {name!r}: {value[1:]} has no values")
                table[name] = values
