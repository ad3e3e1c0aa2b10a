"""YAML specs built from libyaml's events give exactly what the full loader gives: the same
values (PyYAML's safe types) and the same line for every mapping and key."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml

from torc.errors import SpecError
from torc.spec import yaml_events
from torc.spec.load import LineDict, _LineLoader, load_file, parse_text

ROOT = Path(__file__).resolve().parent.parent

SCALARS = """
name: every kind of scalar
ints: [0x1F, 0o17, 017, 1_000, +5, -3, 1:30, 0b101, 0]
floats: [.inf, -.Inf, 1e3, 6.8523015e+5, 1_000.5, 190:20:30.15, .5]
bools: [yes, No, on, OFF, true, False, y, n]
nulls: [~, null, Null, ]
empty:
times: [2001-12-14t21:59:43.10-05:00, 2002-12-14, 2001-12-14 21:59:43.10 -5]
strings: [1abc, -foo, .hidden, nothing, offset, truely, "1", '2', 0x, 12-13, +, -, ., ~x]
tagged: [!!str 12, !!int "12", ! 12, !!float 3, !!bool "yes", !!null ""]
block: |
  line one
    indented
folded: >
  folded
  text
flow: {a: 1, b: [x, {c: d}], "e f": g}
unicode: "h\\u00e9llo ✓"
jobs:
  - name: a
    command: echo ${files.input.x}
  - {name: b, command: "true", depends_on: [a]}
"""

UNUSUAL = [
    "defaults: &d {cpus: 2}\njobs:\n  - name: a\n    <<: *d\n",  # anchor, alias, merge
    "a: 1\n---\nb: 2\n",  # two documents
    "s: !!set {a, b}\n",
    "? [complex, key]\n: v\n",
    "o: !!omap [a: 1, b: 2]\n",
]


def plain(value: Any) -> Any:
    """Comparable form: NaN as a marker, mappings with their lines."""
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    if isinstance(value, dict):
        return ({k: plain(v) for k, v in value.items()}, getattr(value, "line", None),
                dict(getattr(value, "lines", {})))
    if isinstance(value, list):
        return [plain(v) for v in value]
    return (type(value).__name__, value)


def full(text: str) -> Any:
    return yaml.load(text, Loader=_LineLoader)  # noqa: S506


@pytest.mark.parametrize("text", [
    SCALARS, "[1, two, {three: 3}]\n", "", "# only a comment\n", "just a string\n", "42\n",
    "nan: .nan\nneg: -.NaN\n", "a:\n  b:\n    c:\n      - [1, [2, [3]]]\n",
    *[p.read_text() for p in sorted((ROOT / "examples").glob("*.yaml"))],
], ids=lambda t: t.splitlines()[0][:30] if t.strip() else "empty")
def test_events_build_what_the_full_loader_builds(text: str) -> None:
    assert plain(yaml_events.build(text, LineDict)) == plain(full(text))


@pytest.mark.parametrize("text", UNUSUAL)
def test_anchors_merges_and_odd_documents_go_to_the_full_loader(text: str) -> None:
    with pytest.raises(yaml_events.Unusual):
        yaml_events.build(text, LineDict)
    try:
        want: Any = plain(full(text))
    except (yaml.YAMLError, SpecError) as e:
        want = type(e)
    try:
        got: Any = plain(parse_text(text, "s.yaml"))
    except (yaml.YAMLError, SpecError) as e:
        got = type(e) if not isinstance(e, SpecError) else SpecError
    assert got == want or (want is not SpecError and got is SpecError)


def test_merge_keys_still_work_through_parse_text() -> None:
    spec = parse_text(UNUSUAL[0], "s.yaml")
    assert spec["jobs"][0]["cpus"] == 2 and spec["jobs"][0].lines["name"] == 3


@pytest.mark.parametrize(("text", "message"), [
    ("jobs:\n  - name: a\n    name: b\n", "s.yaml: line 3: duplicate key 'name'"),
    ("jobs:\n  - 1: a\n", "s.yaml: line 2: mapping keys must be strings, got 1"),
    ("jobs:\n  - yes: a\n", "s.yaml: line 2: mapping keys must be strings, got True"),
    ("jobs:\n  - name: [a\n", "s.yaml:3: invalid YAML"),
    ("a: 1\n b: 2\n", "s.yaml:2: invalid YAML"),
])
def test_errors_name_the_file_and_line(text: str, message: str) -> None:
    with pytest.raises(SpecError) as e:
        parse_text(text, "s.yaml")
    assert str(e.value).startswith(message), str(e.value)


def test_a_merge_key_without_an_anchor_reads_as_pyyaml_reads_it(tmp_path: Path) -> None:
    # `<<: {mapping}` needs no anchor: PyYAML merges it; so must a spec.
    spec = tmp_path / "merge.yaml"
    spec.write_text('name: w\njobs:\n  - <<: {command: "echo hi"}\n    name: a\n')
    loaded = load_file(spec)
    assert loaded == {"name": "w", "jobs": [{"command": "echo hi", "name": "a"}]}
