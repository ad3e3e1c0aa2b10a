"""Torc's how-to pages, typed as written (``core/how-to/``): check-resource-utilization's flags
and JSON; ``-f json`` after the verb as the tutorials type it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Coordinator, run_cli

HOG = "python3 -c 'import time; b = b\"x\" * (80 << 20); time.sleep(2.5)'"


def test_check_resource_utilization_as_the_how_to_types_it(coordinator: Coordinator,
                                                           tmp_path: Path) -> None:
    url = coordinator.url
    wf = coordinator.client.create_workflow({
        "name": "util", "resource_monitor": {"enabled": True, "sample_interval_seconds": 1},
        "resource_requirements": [{"name": "small", "num_cpus": 1, "memory": "20m",
                                   "runtime": "PT10M"}],
        "jobs": [{"name": "hog", "command": HOG, "resource_requirements": "small"},
                 {"name": "light", "command": "sleep 1.5", "resource_requirements": "small"}]})
    assert run_cli("run", str(wf), url=url).returncode == 0

    def report(*flags: str) -> dict:
        r = run_cli("reports", "check-resource-utilization", str(wf), *flags, "-f", "json",
                    url=url)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    plain = report()
    assert plain["workflow_id"] == wf and plain["total_results"] == 2
    (memory,) = [v for v in plain["violations"] if v["resource_type"] == "Memory"]
    assert memory["job_name"] == "hog" and memory["over_utilization"].startswith("+")
    assert plain["over_utilization_count"] == len(plain["violations"])
    # A threshold above the overuse hides it; --all shows what stayed within, too.
    assert not [v for v in report("--min-over-utilization", "100000")["violations"]
                if v["resource_type"] == "Memory"]
    everything = report("--all")
    assert {v["job_name"] for v in everything["violations"]} == {"hog", "light"}
    assert any(v["over_utilization"].startswith("-") for v in everything["violations"])
    assert report("--run-id", "2")["total_results"] == 0
    table = run_cli("reports", "check-resource-utilization", str(wf), url=url)
    assert "Memory" in table.stdout and "correct-resources" in table.stderr
