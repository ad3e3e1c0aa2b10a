"""The same workflow in YAML, JSON, JSON5 and KDL (Torc's four formats) means the same thing,
and a mistake in any of them is an error naming the file and the line or the key."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import Coordinator, cli_json, cli_rows, run_cli
from torc.errors import SpecError
from torc.spec.load import load_file
from torc.spec.validate import normalize

YAML = """\
name: formats
description: one workflow, four formats
user: someone
parameters:
  i: "1:3"
files:
  - {name: raw, path: data/raw.txt}
  - {name: "part_{i}", path: "data/part_{i}.txt", parameters: {i: "1:3"}}
user_data:
  - {name: cfg, data: {alpha: 1, tags: [a, b]}}
resource_requirements:
  - {name: small, num_cpus: 1, memory: 1g, runtime: PT10M}
  - {name: big, num_cpus: 2, num_gpus: 0, num_nodes: 1, memory: 2g, runtime: PT1H}
slurm_schedulers:
  - {name: short, account: acct, walltime: "00:30:00", nodes: 1}
failure_handlers:
  - name: retry
    rules:
      - {exit_codes: [2, 3], max_retries: 2, recovery_script: echo again}
      - {match_all_exit_codes: true, max_retries: 1}
resource_monitor: {enabled: true, granularity: time_series, sample_interval_seconds: 2}
execution_config:
  limit_resources: false
  stdio: {mode: separate, delete_on_success: true}
use_pending_failed: true
jobs_sort_method: gpus_memory_runtime
compute_node_wait_for_new_jobs_seconds: 30
compute_node_expiration_buffer_seconds: 120
compute_node_ignore_workflow_completion: false
compute_node_wait_for_healthy_database_minutes: 5
jobs:
  - name: prepare
    command: mkdir -p data && seq 1 9 > ${files.output.raw}
    resource_requirements: small
    priority: 5
    failure_handler: retry
    stdio: {mode: combined}
  - name: "work_{i}"
    command: "sed -n '{i}p' ${files.input.raw} > data/part_{i}.txt"
    output_files: ["part_{i}"]
    resource_requirements: big
    supports_termination: true
    parameters: {i: "1:3"}
  - name: report
    command: cat data/part_*.txt
    depends_on_regexes: ["work_.*"]
    input_user_data: [cfg]
    cancel_on_blocking_job_failure: false
actions:
  - trigger_type: on_workflow_start
    action_type: run_commands
    commands: ["mkdir -p logs", "date > logs/start"]
  - trigger_type: on_jobs_complete
    action_type: run_commands
    jobs: [report]
    commands: ["echo done"]
"""

JSON5 = """\
// JSON5: comments, unquoted keys, single quotes, trailing commas
{
  name: 'formats',
  description: 'one workflow, four formats',
  user: 'someone',
  parameters: {i: '1:3'},
  files: [
    {name: 'raw', path: 'data/raw.txt'},
    {name: 'part_{i}', path: 'data/part_{i}.txt', parameters: {i: '1:3'},},
  ],
  user_data: [{name: 'cfg', data: {alpha: 1, tags: ['a', 'b']}}],
  resource_requirements: [
    {name: 'small', num_cpus: 1, memory: '1g', runtime: 'PT10M'},
    {name: 'big', num_cpus: 2, num_gpus: 0, num_nodes: 1, memory: '2g', runtime: 'PT1H'},
  ],
  slurm_schedulers: [{name: 'short', account: 'acct', walltime: '00:30:00', nodes: 1}],
  failure_handlers: [{name: 'retry', rules: [
    {exit_codes: [2, 3], max_retries: 2, recovery_script: 'echo again'},
    {match_all_exit_codes: true, max_retries: 1},
  ]}],
  resource_monitor: {enabled: true, granularity: 'time_series', sample_interval_seconds: 2},
  execution_config: {limit_resources: false, stdio: {mode: 'separate', delete_on_success: true}},
  use_pending_failed: true,
  jobs_sort_method: 'gpus_memory_runtime',
  compute_node_wait_for_new_jobs_seconds: 30,
  compute_node_expiration_buffer_seconds: 120,
  compute_node_ignore_workflow_completion: false,
  compute_node_wait_for_healthy_database_minutes: 5,
  jobs: [
    {name: 'prepare', command: 'mkdir -p data && seq 1 9 > ${files.output.raw}',
     resource_requirements: 'small', priority: 5, failure_handler: 'retry',
     stdio: {mode: 'combined'}},
    {name: 'work_{i}', command: "sed -n '{i}p' ${files.input.raw} > data/part_{i}.txt",
     output_files: ['part_{i}'], resource_requirements: 'big', supports_termination: true,
     parameters: {i: '1:3'}},
    {name: 'report', command: 'cat data/part_*.txt', depends_on_regexes: ['work_.*'],
     input_user_data: ['cfg'], cancel_on_blocking_job_failure: false},
  ],
  actions: [
    {trigger_type: 'on_workflow_start', action_type: 'run_commands',
     commands: ['mkdir -p logs', 'date > logs/start']},
    {trigger_type: 'on_jobs_complete', action_type: 'run_commands', jobs: ['report'],
     commands: ['echo done']},
  ],
}
"""

KDL = """\
// KDL 2 (as Torc's examples), with Torc's spellings: one node per entry, singular keys repeated
name "formats"
description "one workflow, four formats"
user "someone"
parameters {
    i "1:3"
}
file "raw" path="data/raw.txt"
file "part_{i}" {
    path "data/part_{i}.txt"
    parameters {
        i "1:3"
    }
}
user_data "cfg" {
    data "{\\"alpha\\": 1, \\"tags\\": [\\"a\\", \\"b\\"]}"
}
resource_requirements "small" {
    num_cpus 1
    memory "1g"
    runtime "PT10M"
}
resource_requirements "big" {
    num_cpus 2
    num_gpus 0
    num_nodes 1
    memory "2g"
    runtime "PT1H"
}
slurm_scheduler "short" {
    account "acct"
    walltime "00:30:00"
    nodes 1
}
failure_handler "retry" {
    rule {
        exit_codes 2 3
        max_retries 2
        recovery_script "echo again"
    }
    rule {
        match_all_exit_codes #true
        max_retries 1
    }
}
resource_monitor {
    enabled #true
    granularity "time_series"
    sample_interval_seconds 2
}
execution_config {
    limit_resources #false
    stdio {
        mode "separate"
        delete_on_success #true
    }
}
use_pending_failed #true
jobs_sort_method "gpus_memory_runtime"
compute_node_wait_for_new_jobs_seconds 30
compute_node_expiration_buffer_seconds 120
compute_node_ignore_workflow_completion #false
compute_node_wait_for_healthy_database_minutes 5
job "prepare" {
    command "mkdir -p data && seq 1 9 > ${files.output.raw}"
    resource_requirements "small"
    priority 5
    failure_handler "retry"
    stdio {
        mode "combined"
    }
}
job "work_{i}" {
    command "sed -n '{i}p' ${files.input.raw} > data/part_{i}.txt"
    output_file "part_{i}"
    resource_requirements "big"
    supports_termination #true
    parameters {
        i "1:3"
    }
}
job "report" {
    command "cat data/part_*.txt"
    depends_on_regexes "work_.*"
    input_user_data "cfg"
    cancel_on_blocking_job_failure #false
}
action {
    trigger_type "on_workflow_start"
    action_type "run_commands"
    command "mkdir -p logs"
    command "date > logs/start"
}
action {
    trigger_type "on_jobs_complete"
    action_type "run_commands"
    job "report"
    command "echo done"
}
"""


def write_all(directory: Path) -> dict[str, Path]:
    import yaml
    paths = {"yaml": directory / "w.yaml", "json": directory / "w.json",
             "json5": directory / "w.json5", "kdl": directory / "w.kdl"}
    paths["yaml"].write_text(YAML)
    paths["json"].write_text(json.dumps(yaml.safe_load(YAML), indent=1))
    paths["json5"].write_text(JSON5)
    paths["kdl"].write_text(KDL)
    return paths


def test_four_formats_normalize_to_the_same_workflow(tmp_path: Path) -> None:
    paths = write_all(tmp_path)
    normalized = {fmt: normalize(load_file(p), "spec") for fmt, p in paths.items()}
    reference = normalized["yaml"]
    assert len(reference["jobs"]) == 5 and len(reference["actions"]) == 2
    assert reference["failure_handlers"][0]["rules"][1]["match_all_exit_codes"]
    assert reference["settings"]["jobs_sort_method"] == "gpus_memory_runtime"
    assert reference["jobs"][0]["stdio"] == {"mode": "combined", "delete_on_success": True}
    for fmt, spec in normalized.items():
        assert spec == reference, f"{fmt} differs from yaml"


def test_four_formats_create_identical_workflows(coordinator: Coordinator,
                                                 tmp_path: Path) -> None:
    seen = []
    for path in write_all(tmp_path).values():
        wf_id = cli_json("workflows", "create", str(path), url=coordinator.url)["id"]
        jobs = cli_json("jobs", "list", str(wf_id), url=coordinator.url)["jobs"]
        names = {j["id"]: j["name"] for j in jobs}  # ids are global: each workflow has its own
        seen.append([{**{k: j[k] for k in ("name", "command", "priority",
                                           "resource_requirements")},
                      "depends_on": [names[d] for d in j["depends_on"]]} for j in jobs])
    assert all(s == seen[0] for s in seen)


def test_a_kdl_spec_runs_end_to_end(tmp_path: Path) -> None:
    path = write_all(tmp_path)["kdl"]
    r = run_cli("-f", "json", "run", str(path), "--output-dir", str(tmp_path / "out"),
                timeout=300)
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["job_counts"]["completed"] == 5
    assert (tmp_path / "out" / "logs" / "start").exists()


@pytest.mark.parametrize("name,text,needles", [
    ("bad.json5", "{\n  name: 'x',\n  jobs: [,],\n}\n", ["bad.json5:3", "invalid JSON5"]),
    ("bad.kdl", 'name "x"\njob "a" {\n  command "unterminated\n}\n', ["bad.kdl:3",
                                                                      "invalid KDL"]),
    ("twice.kdl", 'name "x"\njob "a" {\n  command "true"\n  command "false"\n}\n',
     ["twice.kdl", "job 'a'", "'command' is given twice"]),
    ("unknown.kdl", 'name "x"\njob "a" {\n  command "true"\n  comand "x"\n}\n',
     ["unknown.kdl", "unknown key 'comand'"]),
    ("shape.kdl", 'name "x" "y"\njob "a" {\n  command "true"\n}\n',
     ["shape.kdl", "'name' takes exactly one value"]),
])
def test_mistakes_in_every_format_name_file_and_line_or_key(tmp_path: Path, name: str,
                                                            text: str,
                                                            needles: list[str]) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(SpecError) as e:
        normalize(load_file(path), str(path))
    for needle in needles:
        assert needle in e.value.message, e.value.message
    r = run_cli("workflows", "create", str(path), url="127.0.0.1:1")
    assert r.returncode != 0 and needles[0] in r.stderr and "Traceback" not in r.stderr


def test_use_parameters_selects_shared_parameters_and_local_ones_override() -> None:
    spec = normalize({
        "name": "shared", "parameters": {"lr": "[0.1,0.2,0.3]", "bs": "[16,32]",
                                         "ds": "['a','b']"},
        "jobs": [
            {"name": "train_{lr}_{bs}", "command": "t {lr} {bs}", "use_parameters": ["lr", "bs"]},
            {"name": "prep_{ds}", "command": "p {ds}", "use_parameters": ["ds"]},
            {"name": "special_{lr}", "command": "s {lr}", "use_parameters": ["lr"],
             "parameters": {"lr": "[0.5,0.6]"}},
        ]})
    names = [j["name"] for j in spec["jobs"]]
    assert len([n for n in names if n.startswith("train_")]) == 6
    assert [n for n in names if n.startswith("prep_")] == ["prep_a", "prep_b"]
    assert [n for n in names if n.startswith("special_")] == ["special_0.5", "special_0.6"]
    with pytest.raises(SpecError, match="'nope' is not a workflow parameter"):
        normalize({"name": "x", "parameters": {"lr": "1:2"}, "jobs": [
            {"name": "j{lr}", "command": "true", "use_parameters": ["nope"]}]})


def test_negative_steps_and_parameter_files(tmp_path: Path) -> None:
    (tmp_path / "cases.txt").write_text("alpha\n\nbeta\n7\n")
    spec = tmp_path / "s.yaml"
    spec.write_text("name: w\njobs:\n"
                    "  - {name: 'down_{i}', command: 'echo {i}', parameters: {i: '10:0:-5'}}\n"
                    "  - {name: 'case_{c}', command: 'echo {c}', parameters: {c: '@cases.txt'}}\n")
    names = [j["name"] for j in normalize(load_file(spec))["jobs"]]
    assert names == ["down_10", "down_5", "down_0", "case_alpha", "case_beta", "case_7"]
    spec.write_text("name: w\njobs:\n"
                    "  - {name: 'c{c}', command: 'true', parameters: {c: '@missing.txt'}}\n")
    with pytest.raises(SpecError, match=r"parameter 'c': cannot read .*missing.txt"):
        load_file(spec)


def test_a_regex_that_matches_only_inside_names_says_what_would_match() -> None:
    with pytest.raises(SpecError) as e:
        normalize({"name": "w", "jobs": [
            {"name": "s1_0", "command": "true"}, {"name": "s1_1", "command": "true"},
            {"name": "b", "command": "true", "depends_on_regexes": ["^s1_"]}]})
    assert "matches inside 2 name(s), e.g. 's1_0': did you mean '^s1_.*'?" in e.value.message


def test_file_and_user_data_regexes_imply_dependencies_like_names() -> None:
    spec = normalize({
        "name": "rx", "files": [{"name": "part_{i}", "path": "p{i}", "parameters": {"i": "1:3"}},
                                {"name": "other", "path": "o"}],
        "user_data": [{"name": "cfg_a", "data": 1}, {"name": "cfg_b", "data": 2}],
        "jobs": [
            {"name": "make", "command": "true", "output_file_regexes": ["part_.*"]},
            {"name": "conf", "command": "true", "output_user_data_regexes": ["cfg_.*"]},
            {"name": "use", "command": "true", "input_file_regexes": ["part_[12]"],
             "input_user_data_regexes": ["cfg_b"]}]})
    deps = {j["name"]: j["deps"] for j in spec["jobs"]}
    assert deps == {"make": [], "conf": [], "use": [0, 1]}
    with pytest.raises(SpecError, match="input_file_regexes: 'oth' matches no file name as a "
                                        "whole"):
        normalize({"name": "x", "files": [{"name": "other", "path": "o"}], "jobs": [
            {"name": "a", "command": "true", "input_file_regexes": ["oth"]}]})


@pytest.mark.parametrize("key,value,says", [
    ("failure_handlers", "x", "failure_handlers: expected a list"),
    ("resource_monitor", {"granularity": "hourly"}, "'granularity' must be one of"),
    ("use_pending_failed", "x", "'use_pending_failed' must be true or false"),
    ("jobs_sort_method", "biggest", "'jobs_sort_method' must be one of"),
    ("execution_config", {"stdio": {"mode": "loud"}}, "'mode' must be one of"),
    ("compute_node_wait_for_new_jobs_seconds", -1, "must be >= 0")])
def test_torc_settings_with_wrong_values_name_file_line_and_key(
        tmp_path: Path, key: str, value: object, says: str) -> None:
    spec = {"name": "w", "jobs": [{"name": "a", "command": "true"}], key: value}
    path = tmp_path / "s.yaml"
    import yaml
    path.write_text(yaml.safe_dump(spec))
    with pytest.raises(SpecError) as e:
        normalize(load_file(path), str(path))
    assert says in e.value.message
    assert str(path) in e.value.message


def test_parameters_a_name_does_not_use_gather_into_one_entry() -> None:
    spec = normalize({"name": "gather", "jobs": [
        {"name": "sim_{m}_{s}", "command": "echo {m} {s}",
         "parameters": {"m": "0:1", "s": "0:2"}},
        # Torc's examples: one aggregate waiting for every simulation...
        {"name": "aggregate", "command": "echo all", "depends_on": ["sim_{m}_{s}"],
         "parameters": {"m": "0:1", "s": "0:2"}},
        # ...and one report per m, waiting for that m's simulations.
        {"name": "report_{m}", "command": "echo {m}", "depends_on": ["sim_{m}_{s}"],
         "parameters": {"m": "0:1", "s": "0:2"}}]})
    names = [j["name"] for j in spec["jobs"]]
    assert names[6:] == ["aggregate", "report_0", "report_1"]
    assert sorted(spec["jobs"][6]["deps"]) == list(range(6))
    assert [names[d] for d in spec["jobs"][8]["deps"]] == ["sim_1_0", "sim_1_1", "sim_1_2"]
    with pytest.raises(SpecError, match="'command' changes with parameter"):
        normalize({"name": "bad", "jobs": [{"name": "one", "command": "echo {i}",
                                            "parameters": {"i": "1:2"}}]})


@pytest.mark.parametrize("where, line", [
    ('user_data:\n  - name: u\n    data: {when: 2024-01-01}\n', 7),  # any value goes here
    ('metadata:\n  released: 2024-01-01 12:00:00\n', 6),
])
def test_a_yaml_date_is_named_with_its_line_not_a_traceback(coordinator: Coordinator,
                                                            tmp_path: Path, where: str,
                                                            line: int) -> None:
    """YAML reads an unquoted 2024-01-01 as a date, which JSON, and so the coordinator,
    cannot carry: creating or running the spec names the file, line and key and says to
    quote it, and creates nothing."""
    path = tmp_path / "dated.yaml"
    path.write_text(f'name: dated\njobs:\n  - name: a\n    command: "true"\n{where}')
    for args in (("workflows", "create", str(path)),
                 ("run", str(path), "--output-dir", str(tmp_path / "out"))):
        r = run_cli(*args, url=coordinator.url)
        assert r.returncode == 1, r.stderr
        assert f"dated.yaml:{line}" in r.stderr and "quote" in r.stderr, r.stderr
        assert "Traceback" not in r.stderr
    assert cli_rows("workflows", "list", url=coordinator.url) == []
