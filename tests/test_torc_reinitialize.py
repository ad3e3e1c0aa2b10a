"""Torc's integration test ``test_workflow_reinitialize_after_fixing_input``, typed as a Torc user
would with our CLI: a job fails on a bad input file; the file is fixed; ``reinitialize`` makes
that job ready and its dependent blocked; the next run completes everything."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Coordinator, run_cli, write_spec


def _states(c: Coordinator, wf: int) -> dict[str, str]:
    r = run_cli("-f", "json", "jobs", "list", str(wf), url=c.url, check=True)
    rows = json.loads(r.stdout)["jobs"]  # Torc's shape: jq '.jobs[]'
    return {row["name"]: row["status"] for row in rows}


def test_reinitialize_after_fixing_an_input_reruns_the_failed_job(coordinator: Coordinator,
                                                                  tmp_path: Path) -> None:
    config = tmp_path / "config.json"
    config.write_text('{"valid": false, "message": "This input should cause failure"}')
    minimal = "minimal"
    spec = write_spec(tmp_path, {
        "name": "reinitialize_test_workflow",
        "files": [{"name": "config_file", "path": str(config)}],
        "resource_requirements": [{"name": minimal, "num_cpus": 1, "num_gpus": 0,
                                   "num_nodes": 1, "memory": "1m", "runtime": "P0DT1M"}],
        "jobs": [
            {"name": "setup", "command": 'echo "Setup complete"',
             "resource_requirements": minimal},
            {"name": "work_a", "command": 'echo "Work A complete"', "depends_on": ["setup"],
             "resource_requirements": minimal},
            {"name": "work_b", "command": 'echo "Work B complete"', "depends_on": ["setup"],
             "resource_requirements": minimal},
            {"name": "work_fail",
             "command": f'if grep -q \'"valid": true\' {config}; then exit 0; else exit 1; fi',
             "depends_on": ["setup"], "input_files": ["config_file"],
             "resource_requirements": minimal},
            {"name": "finalize", "command": 'echo "Finalize complete"',
             "depends_on": ["work_a", "work_b", "work_fail"],
             "resource_requirements": minimal}]})
    out = tmp_path / "out"
    first = run_cli("run", str(spec), "--output-dir", str(out), url=coordinator.url)
    assert first.returncode == 1, first.stderr  # a job failed
    wf = coordinator.client.list_workflows()[0].id
    assert _states(coordinator, wf) == {"setup": "completed", "work_a": "completed",
                                        "work_b": "completed", "work_fail": "failed",
                                        "finalize": "canceled"}
    config.write_text('{"valid": true, "message": "This input should succeed"}')
    run_cli("workflows", "reinitialize", str(wf), url=coordinator.url, check=True)
    assert _states(coordinator, wf) == {"setup": "completed", "work_a": "completed",
                                        "work_b": "completed", "work_fail": "ready",
                                        "finalize": "blocked"}
    second = run_cli("run", str(wf), "--output-dir", str(out), url=coordinator.url)
    assert second.returncode == 0, second.stderr
    assert set(_states(coordinator, wf).values()) == {"completed"}
    latest = {}
    for r in coordinator.client.list_results(wf, all_runs=True):
        latest[r.job_name] = r.return_code
    assert latest["work_fail"] == 0 and latest["finalize"] == 0
