"""Spec loading and validation (pure logic): expansion, dependencies, and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from torc.errors import SpecError
from torc.spec.load import load_file, parse_text
from torc.spec.params import parse_values
from torc.spec.units import parse_duration, parse_memory, parse_walltime
from torc.spec.validate import normalize


def norm(text: str, source: str = "spec.yaml") -> dict:
    return normalize(parse_text(text, source), source)


def deps_by_name(spec: dict) -> dict[str, set[str]]:
    names = [j["name"] for j in spec["jobs"]]
    return {j["name"]: {names[d] for d in j["deps"]} for j in spec["jobs"]}


def test_units() -> None:
    assert parse_memory("512k") == 512 * 1024
    assert parse_memory("4g") == 4 << 30
    assert parse_memory("1.5G") == int(1.5 * (1 << 30))
    assert parse_duration("PT30M") == 1800
    assert parse_duration("P0DT1H") == 3600
    assert parse_duration("P1DT2M3S") == 86400 + 123
    assert parse_walltime("04:00:00") == 4 * 3600
    assert parse_walltime("1-00:00:10") == 86410
    for bad in ("4x", "-1g", ""):
        with pytest.raises(ValueError):
            parse_memory(bad)
    for bad in ("30M", "PT", "P"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_parameter_values() -> None:
    assert parse_values("i", "1:5") == [1, 2, 3, 4, 5]
    assert parse_values("i", "0:100:25") == [0, 25, 50, 75, 100]
    assert parse_values("s", "[a,b,c]") == ["a", "b", "c"]
    assert parse_values("lr", "[0.1,0.01]") == [0.1, 0.01]
    with pytest.raises(ValueError, match="'i'"):
        parse_values("i", "5:1:0")


def test_product_and_zip_expansion_with_formats() -> None:
    spec = norm("""
name: p
jobs:
  - name: job_{i:03d}_{lr:.2f}
    command: train --i {i} --lr {lr:.4f}
    parameters: {i: "1:2", lr: "[0.1,0.2,0.3]"}
  - name: z_{a}_{b}
    command: echo {a} {b}
    parameters: {a: "[x,y]", b: "1:2"}
    parameter_mode: zip
""")
    names = [j["name"] for j in spec["jobs"]]
    assert names[:6] == ["job_001_0.10", "job_001_0.20", "job_001_0.30", "job_002_0.10",
                         "job_002_0.20", "job_002_0.30"]
    assert spec["jobs"][0]["command"] == "train --i 1 --lr 0.1000"
    assert names[6:] == ["z_x_1", "z_y_2"]


def test_explicit_regex_and_implicit_dependencies() -> None:
    spec = norm("""
name: deps
files:
  - {name: raw, path: raw.txt}
  - {name: out, path: out.txt}
user_data:
  - {name: params}
jobs:
  - name: make_raw
    command: touch ${files.output.raw}
  - name: use_raw
    command: wc -l ${files.input.raw}
    output_files: [out]
  - name: write_params
    command: "true"
    output_user_data: [params]
  - name: read_params
    command: "true"
    input_user_data: [params]
  - name: stage1_a
    command: "true"
  - name: stage1_b
    command: "true"
  - name: gather
    command: "true"
    depends_on: [read_params]
    depends_on_regexes: ["stage1_.*"]
    input_files: [out]
""")
    d = deps_by_name(spec)
    assert d["use_raw"] == {"make_raw"}
    assert d["read_params"] == {"write_params"}
    assert d["gather"] == {"read_params", "stage1_a", "stage1_b", "use_raw"}
    assert spec["jobs"][1]["command"] == "wc -l raw.txt"


@pytest.mark.parametrize(("text", "expected"), [
    ("name: x\njobs: [\n", r"spec.yaml:\d+: invalid YAML"),
    ("name: x\njobs:\n  - name: a\n    comand: b\n",
     r"spec.yaml:4: jobs\[0\]: unknown key 'comand'"),
    ("name: x\nbogus: 1\njobs:\n  - {name: a, command: b}\n",
     r"spec.yaml:2: spec: unknown key 'bogus'"),
    ("jobs:\n  - {name: a, command: b}\n", r"missing required key 'name'"),
    ("name: x\njobs:\n  - {name: a}\n", r"jobs\['a'\]: missing required key 'command'"),
    ("name: x\njobs:\n  - {name: a, command: b}\n  - {name: a, command: c}\n",
     r"spec.yaml:4: jobs\['a'\]: duplicate job name"),
    ("name: x\njobs:\n  - {name: a, command: b, depends_on: [nope]}\n",
     r"jobs\['a'\]: depends_on: unknown job 'nope'"),
    ("name: x\njobs:\n  - {name: a, command: b, depends_on_regexes: ['zzz.*']}\n",
     r"depends_on_regexes: 'zzz\.\*' matches no job"),
    ("name: x\njobs:\n  - {name: a, command: b, depends_on_regexes: ['(']}\n",
     r"invalid regex '\('"),
    ("name: x\njobs:\n  - {name: a, command: b, depends_on: [c]}\n"
     "  - {name: b, command: b, depends_on: [a]}\n  - {name: c, command: b, depends_on: [b]}\n",
     r"dependency cycle: (a -> c -> b -> a|b -> a -> c -> b|c -> b -> a -> c)"),
    ("name: x\njobs:\n  - {name: a, command: b, resource_requirements: big}\n",
     r"unknown resource_requirements 'big'"),
    ("name: x\nresource_requirements:\n  - {name: r, memory: 12q}\njobs:\n"
     "  - {name: a, command: b, resource_requirements: r}\n", r"spec.yaml:3: .*memory"),
    ("name: x\njobs:\n  - {name: a, command: b, scheduler: nowhere}\n",
     r"unknown scheduler 'nowhere'"),
    ("name: x\njobs:\n  - {name: a, command: 'cat ${files.input.nofile}'}\n",
     r"unknown file 'nofile'"),
    ("name: x\njobs: []\n", r"at least one job"),
    ("name: x\njobs:\n  - {name: a, command: b, priority: high}\n",
     r"'priority' must be an integer"),
])
def test_bad_specs_name_the_problem(text: str, expected: str) -> None:
    with pytest.raises(SpecError, match=expected):
        norm(text)


def test_json_spec_and_missing_file(tmp_path: Path) -> None:
    p = tmp_path / "w.json"
    p.write_text('{"name": "j", "jobs": [{"name": "a", "command": "true"}]}')
    assert normalize(load_file(p))["jobs"][0]["name"] == "a"
    p.write_text('{"name": "j", "jobs": [}')
    with pytest.raises(SpecError, match=r"w.json:1: invalid JSON"):
        load_file(p)
    with pytest.raises(SpecError, match="cannot read spec"):
        load_file(tmp_path / "missing.yaml")


def test_defaults() -> None:
    spec = norm("name: x\njobs:\n  - {name: a, command: b}\n")
    job = spec["jobs"][0]
    assert job["cancel_on_blocking_job_failure"] is True
    assert job["supports_termination"] is False
    assert job["priority"] == 0
    rr = spec["resource_requirements"][job["rr"]]
    assert (rr["num_cpus"], rr["num_gpus"], rr["num_nodes"], rr["runtime"]) == (1, 0, 1, 60.0)
