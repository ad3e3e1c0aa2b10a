"""Reading a spec file (YAML or JSON) into plain data, keeping the line of every mapping key.

Lines let validation errors say ``spec.yaml:12: jobs[3]: unknown key 'comand'``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from torc.errors import SpecError


class LineDict(dict):
    """A dict that remembers the source line (1-based) of each key, when known."""

    __slots__ = ("lines", "line")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lines: dict[str, int] = {}
        self.line: int | None = None


class _LineLoader(yaml.SafeLoader):
    """SafeLoader that builds LineDicts and rejects duplicate keys."""

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


def parse_text(text: str, source: str = "<spec>", fmt: str | None = None) -> Any:
    """Parse spec text; ``fmt`` is ``json`` or ``yaml`` (guessed from ``source`` when None)."""
    if fmt is None:
        fmt = "json" if source.endswith(".json") else "yaml"
    if fmt == "json":
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            raise SpecError(f"{source}:{e.lineno}: invalid JSON: {e.msg}") from None
        except (ValueError, RecursionError) as e:
            raise SpecError(f"{source}: invalid JSON: {e}") from None
    try:
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
    """Read and parse a spec file; a missing or unreadable file is a SpecError naming it."""
    p = Path(path)
    try:
        text = p.read_text()
    except OSError as e:
        raise SpecError(f"{p}: cannot read spec: {e.strerror}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{p}: spec is not UTF-8 text") from None
    return parse_text(text, str(p), "json" if p.suffix == ".json" else "yaml")
