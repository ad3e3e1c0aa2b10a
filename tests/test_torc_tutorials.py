"""Torc's tutorials (``docs/src/core/tutorials/``, the local quick start), typed as the pages
type them against a real coordinator (only ``--url`` differs: our coordinator is not Torc's
REST server). Specs keep each page's shape; commands that call the page's own scripts
(``python train.py``) are replaced by shell that writes the same files. ``jq`` steps are read
with Python's json, field for field."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Coordinator, run_cli, write_spec


def _create(url: str, spec: Path) -> int:
    # WORKFLOW_ID=$(torc workflows create SPEC -f json | jq -r '.id')
    r = run_cli("workflows", "create", spec.name, "-f", "json", url=url, check=True)
    return int(json.loads(r.stdout)["id"])


def _names(url: str, wf: int) -> list[str]:
    # torc jobs list $WORKFLOW_ID -f json | jq -r '.jobs[].name' | sort
    r = run_cli("jobs", "list", str(wf), "-f", "json", url=url, check=True)
    return sorted(j["name"] for j in json.loads(r.stdout)["jobs"])


def _statuses(url: str, wf: int) -> dict[str, str]:
    r = run_cli("jobs", "list", str(wf), "-f", "json", url=url, check=True)
    return {j["name"]: j["status"] for j in json.loads(r.stdout)["jobs"]}


def test_quick_start_local(coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    write_spec(tmp_path, {"name": "hello_world", "description": "Simple hello world workflow",
                          "jobs": [{"name": "job 1", "command": "echo 'Hello from torc!'"},
                                   {"name": "job 2", "command": "echo 'Hello again from torc!'"}]},
               "workflow.yaml")
    r = run_cli("run", "workflow.yaml", "--poll-interval", "1", url=url)
    assert r.returncode == 0, r.stderr
    r = run_cli("results", "list", url=url, check=True)  # the only workflow: no id needed
    assert "job 1" in r.stdout and "job 2" in r.stdout
    assert "hello_world" in run_cli("workflows", "list", url=url, check=True).stdout
    assert (tmp_path / "output" / "job_stdio").is_dir()


def test_many_jobs(coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    write_spec(tmp_path, {
        "name": "hundred_jobs_parallel",
        "description": "100 independent jobs that can run in parallel",
        "jobs": [{"name": "job_{i:03d}", "resource_requirements": "minimal",
                  "command": 'echo "Running job {i}"\necho "Job {i} completed"\n',
                  "parameters": {"i": "1:100"}}],
        "resource_requirements": [{"name": "minimal", "num_cpus": 1, "num_gpus": 0,
                                   "num_nodes": 1, "memory": "1m", "runtime": "PT5M"}]},
        "hundred_jobs.yaml")
    assert run_cli("run", "hundred_jobs.yaml", url=url).returncode == 0
    wf = coordinator.client.list_workflows()[0].id
    status = json.loads(run_cli("-f", "json", "workflows", "status", str(wf), url=url,
                                check=True).stdout)
    assert status["job_counts"]["completed"] == 100
    names = _names(url, wf)
    assert names[0] == "job_001" and names[-1] == "job_100" and len(names) == 100
    results = json.loads(run_cli("results", "list", str(wf), "-f", "json", url=url,
                                 check=True).stdout)["results"]
    assert len(results) == 100 and {r["return_code"] for r in results} == {0}
    out = tmp_path / "output" / "job_stdio" / f"job_wf{wf}_j1_r1_a1.o"
    assert out.read_text() == "Running job 1\nJob 1 completed\n"


def test_simple_params(coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    write_spec(tmp_path, {"name": "parallel_tasks", "description": "Run 10 parallel tasks",
                          "jobs": [{"name": "task_{i}", "parameters": {"i": "1:10"},
                                    "command": 'echo "Processing task {i}"\n'
                                               'echo "Task {i} complete"\n'}]},
               "parallel_tasks.yaml")
    wf = _create(url, tmp_path / "parallel_tasks.yaml")
    assert run_cli("run", str(wf), url=url).returncode == 0
    assert _names(url, wf) == sorted(f"task_{i}" for i in range(1, 11))

    # Parameterized jobs with dependencies: aggregate waits for all five.
    (tmp_path / "results").mkdir()
    write_spec(tmp_path, {"name": "process_and_aggregate", "jobs": [
        {"name": "process_{i}", "command": 'echo "Processing chunk {i}" > '
                                           "results/chunk_{i}.txt\n",
         "parameters": {"i": "1:5"}},
        {"name": "aggregate", "command": "cat results/chunk_*.txt > results/final.txt\n",
         "depends_on": ["process_{i}"], "parameters": {"i": "1:5"}}]}, "aggregate.yaml")
    wf = _create(url, tmp_path / "aggregate.yaml")
    assert run_cli("run", str(wf), url=url).returncode == 0
    assert len((tmp_path / "results" / "final.txt").read_text().splitlines()) == 5

    # The learning-rate sweep: files parameterized like the jobs, format specifiers.
    lrs = "[0.0001,0.0005,0.001,0.005,0.01]"
    write_spec(tmp_path, {
        "name": "lr_sweep",
        "jobs": [
            {"name": "train_lr{lr:.4f}", "parameters": {"lr": lrs},
             "command": "echo {lr} > ${files.output.model_lr{lr:.4f}}"},
            {"name": "evaluate_lr{lr:.4f}", "parameters": {"lr": lrs},
             "command": "cat ${files.input.model_lr{lr:.4f}} > "
                        "${files.output.metrics_lr{lr:.4f}}"},
            {"name": "compare_results", "parameters": {"lr": lrs},
             "command": "cat results/metrics_*.json > results/best.txt",
             "input_files": ["metrics_lr{lr:.4f}"]}],
        "files": [{"name": "model_lr{lr:.4f}", "path": "models/model_lr{lr:.4f}.txt",
                   "parameters": {"lr": lrs}},
                  {"name": "metrics_lr{lr:.4f}", "path": "results/metrics_lr{lr:.4f}.json",
                   "parameters": {"lr": lrs}}]}, "learning_rate_sweep.yaml")
    (tmp_path / "models").mkdir()
    wf = _create(url, tmp_path / "learning_rate_sweep.yaml")
    run_cli("workflows", "initialize", str(wf), url=url, check=True)
    names = _names(url, wf)
    assert len(names) == 11 and "train_lr0.0010" in names and "evaluate_lr0.0100" in names
    states = _statuses(url, wf)
    assert states["train_lr0.0001"] == "ready" and states["evaluate_lr0.0001"] == "blocked"
    assert states["compare_results"] == "blocked"
    assert run_cli("run", str(wf), url=url).returncode == 0
    assert (tmp_path / "results" / "best.txt").read_text().split() == \
        ["0.0001", "0.0005", "0.001", "0.005", "0.01"]


def test_advanced_params_grid(coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    grid = {"lr": "[0.0001,0.001,0.01]", "bs": "[16,32,64]", "opt": "['adam','sgd']"}
    write_spec(tmp_path, {
        "name": "hyperparameter_grid_search",
        "jobs": [
            {"name": "prepare_data", "command": "echo data > ${files.output.training_data}"},
            {"name": "train_lr{lr:.4f}_bs{bs}_opt{opt}", "parameters": grid,
             "command": "cat ${files.input.training_data} > "
                        "${files.output.metrics_lr{lr:.4f}_bs{bs}_opt{opt}}"},
            {"name": "aggregate_results", "parameters": grid,
             "command": "ls metrics_* | wc -l > summary.csv",
             "input_files": ["metrics_lr{lr:.4f}_bs{bs}_opt{opt}"]},
            {"name": "select_best_model", "command": "cat summary.csv",
             "depends_on": ["aggregate_results"]}],
        "files": [{"name": "training_data", "path": "processed.pkl"},
                  {"name": "metrics_lr{lr:.4f}_bs{bs}_opt{opt}", "parameters": grid,
                   "path": "metrics_lr{lr:.4f}_bs{bs}_opt{opt}.json"}]}, "grid_search.yaml")
    wf = _create(url, tmp_path / "grid_search.yaml")
    run_cli("workflows", "initialize", str(wf), url=url, check=True)
    names = _names(url, wf)
    assert len(names) == 1 + 18 + 2 and "train_lr0.0010_bs32_optadam" in names
    assert run_cli("run", str(wf), url=url).returncode == 0
    assert (tmp_path / "summary.csv").read_text().strip() == "18"
    status = json.loads(run_cli("-f", "json", "workflows", "status", str(wf), url=url,
                                check=True).stdout)
    assert status["job_counts"]["completed"] == 21


def test_multi_stage_barrier(coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    stage = {"i": "0:19"}
    write_spec(tmp_path, {"name": "Efficient Multi-Stage Workflow", "jobs": [
        {"name": "preprocess_{i:03d}", "command": "echo {i} > data_stage1_{i:03d}.json",
         "parameters": stage},
        {"name": "barrier_stage1_complete", "command": "echo 'Stage 1 complete' && date",
         "depends_on_regexes": ["^preprocess_.*"]},
        {"name": "analyze_{i:03d}", "command": "cat data_stage1_{i:03d}.json",
         "depends_on": ["barrier_stage1_complete"], "parameters": stage},
        {"name": "barrier_stage2_complete", "command": "echo 'Stage 2 complete'",
         "depends_on_regexes": ["^analyze_.*"]}]}, "barrier_demo.yaml")
    run_cli("workflows", "create", "barrier_demo.yaml", url=url, check=True)
    wf = coordinator.client.list_workflows()[0].id
    r = run_cli("workflows", "run", str(wf), url=url)
    assert r.returncode == 0, r.stdout + r.stderr
    ends = {r.job_name: r.end_time for r in coordinator.client.list_results(wf)}
    starts = {r.job_name: r.start_time for r in coordinator.client.list_results(wf)}
    assert max(ends[f"preprocess_{i:03d}"] for i in range(20)) <= \
        starts["barrier_stage1_complete"]
    assert ends["barrier_stage1_complete"] <= min(starts[f"analyze_{i:03d}"] for i in range(20))


@pytest.mark.skipif(shutil.which("jq") is None, reason="the tutorial's jobs read with jq")
def test_user_data(coordinator: Coordinator, tmp_path: Path) -> None:
    """The page pipes ``torc user-data get ID`` into ``jq``; Torc's code prints JSON only
    with ``-f json`` (its text otherwise), and where the page and the code differ the code
    wins: the jobs here say ``-f json``."""
    url = coordinator.url
    small: dict[str, Any] = {"num_cpus": 1, "memory": "1m", "runtime": "PT5M"}
    write_spec(tmp_path, {
        "name": "config_pipeline",
        "jobs": [
            {"name": "generate_config", "resource_requirements": "minimal", "command":
             "echo '{\"learning_rate\": 0.001, \"batch_size\": 32, \"epochs\": 10}' "
             "> config.json\n"
             "torc user-data update ${user_data.output.ml_config} --data \"$(cat config.json)\""},
            {"name": "train_model", "resource_requirements": "minimal", "command":
             'echo "Training with config:"\n'
             "torc -f json user-data get ${user_data.input.ml_config} | jq '.data'"},
            {"name": "evaluate_model", "resource_requirements": "minimal", "command":
             'echo "Evaluating with config:"\n'
             "torc -f json user-data get ${user_data.input.ml_config} | jq '.data'"}],
        "user_data": [{"name": "ml_config", "data": None}],
        "resource_requirements": [{"name": "minimal", **small}]}, "user_data_workflow.yaml")
    wf = _create(url, tmp_path / "user_data_workflow.yaml")
    run_cli("workflows", "initialize", str(wf), url=url, check=True)
    listed = json.loads(run_cli("user-data", "list", str(wf), "-f", "json", url=url,
                                check=True).stdout)["user_data"]
    assert [(u["name"], u["data"]) for u in listed] == [("ml_config", None)]
    assert _statuses(url, wf) == {"generate_config": "ready", "train_model": "blocked",
                                  "evaluate_model": "blocked"}
    r = run_cli("run", str(wf), url=url)
    assert r.returncode == 0, r.stdout + r.stderr
    listed = json.loads(run_cli("user-data", "list", str(wf), "-f", "json", url=url,
                                check=True).stdout)["user_data"]
    assert listed[0]["data"] == {"learning_rate": 0.001, "batch_size": 32, "epochs": 10}
    train = next(j for j in coordinator.client.list_jobs(wf) if j.name == "train_model")
    out = (tmp_path / "output" / "job_stdio" / f"job_wf{wf}_j{train.id}_r1_a1.o").read_text()
    assert json.loads(out.split("\n", 1)[1])["batch_size"] == 32
    results = json.loads(run_cli("results", "list", str(wf), "-f", "json", url=url,
                                 check=True).stdout)["results"]
    assert [r["return_code"] for r in results] == [0, 0, 0]


def test_failure_handler_tutorial(tmp_path: Path) -> None:
    """``torc run failure_handler_demo.yaml``: a job that fails with a retryable code runs
    ``python process.py``-like commands from the spec's directory, and succeeds on retry."""
    (tmp_path / "process.sh").write_text(
        'n=$(cat attempts 2>/dev/null || echo 0); echo $((n + 1)) > attempts\n'
        '[ "$n" -ge 1 ] || exit 10\necho done\n')
    write_spec(tmp_path, {
        "name": "failure_handler_demo",
        "failure_handlers": [{"name": "retry_transient", "rules": [
            {"exit_codes": [10, 11], "max_retries": 3,
             "recovery_script": "echo recovering >> recovery.log"}]}],
        "jobs": [{"name": "process", "command": "bash process.sh",
                  "failure_handler": "retry_transient"}]}, "failure_handler_demo.yaml")
    r = run_cli("run", "failure_handler_demo.yaml", timeout=300)  # in tmp_path
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "attempts").read_text().strip() == "2"
    assert (tmp_path / "recovery.log").read_text() == "recovering\n"
