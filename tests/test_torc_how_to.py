"""Torc's how-to pages, typed as written (``core/how-to/``): check-resource-utilization's flags
and JSON; ``-f json`` after the verb as the tutorials type it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Coordinator, cli_rows, run_cli

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


def test_debug_failed_job_and_lookups(coordinator: Coordinator, tmp_path: Path) -> None:
    """debug-failed-job.md: ``results get WF --job-id J``; and Torc's other lookups."""
    url = coordinator.url
    (tmp_path / "needed.txt").write_text("x\n")
    wf = coordinator.client.create_workflow({
        "name": "dbg", "files": [{"name": "needed", "path": "needed.txt"}],
        "user_data": [{"name": "cfg"}],
        "jobs": [{"name": "ok", "command": "cat needed.txt", "input_files": ["needed"]},
                 {"name": "bad", "command": "echo oops >&2; exit 3",
                  "input_user_data": ["cfg"]}]})

    def out(*words: str) -> dict:
        r = run_cli(*words, "-f", "json", url=url)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    dry = run_cli("workflows", "initialize", str(wf), "--dry-run", url=url)
    assert dry.returncode == 1 and "'cfg'" in dry.stdout, dry.stdout + dry.stderr
    assert [f["name"] for f in out("files", "list-required-existing", str(wf))["files"]
            if f["exists"]] == ["needed"]
    assert [u["name"] for u in out("user-data", "list-missing", str(wf))["user_data"]] == \
        ["cfg"]
    run_cli("user-data", "update", "1", "--workflow-id", str(wf), "--data", "{}", url=url,
            check=True)
    assert out("user-data", "list-missing", str(wf))["user_data"] == []
    dry = run_cli("workflows", "initialize", str(wf), "--dry-run", url=url)
    assert dry.returncode == 0 and "would initialize" in dry.stdout, dry.stdout + dry.stderr
    (tmp_path / "needed.txt").rename(tmp_path / "gone.txt")
    dry = run_cli("workflows", "initialize", str(wf), "--dry-run", url=url)
    assert dry.returncode == 1 and "needed.txt" in dry.stdout
    (tmp_path / "gone.txt").rename(tmp_path / "needed.txt")
    assert not coordinator.client.get_workflow(wf).initialized
    assert run_cli("run", str(wf), url=url).returncode == 1
    bad = next(j.id for j in coordinator.client.list_jobs(wf) if j.name == "bad")
    result = out("results", "get", str(wf), "--job-id", str(bad))
    assert result["return_code"] == 3 and result["job_name"] == "bad"
    assert out("files", "get", "1", "-w", str(wf))["path"] == "needed.txt"
    # torc run returned once its worker stopped: that is the latest event (Torc's
    # compute_node_stopped), the workflow's completion just before it.
    assert out("events", "get-latest-event", str(wf))["category"] == "compute_node_stopped"
    kinds = [e["category"] for e in cli_rows("-f", "json", "events", "list", str(wf),
                                             url=url) if "job_id" not in e["data"]]
    assert kinds[-2:] == ["complete", "compute_node_stopped"]
    (worker,) = [w for w in out("compute-nodes", "list", str(wf))["compute_nodes"]
                 if w["role"] == "worker"]
    assert out("compute-nodes", "get", str(worker["id"]), "-w", str(wf))["id"] == worker["id"]
    synced = out("workflows", "sync-status", str(wf))
    assert synced["failed_job_details"] == [] and "in sync" in synced["message"]
    reqs = out("jobs", "list-resource-requirements", str(wf))["jobs"]
    assert {r["job_name"] for r in reqs} == {"ok", "bad"}


def test_torc_s_listing_filters(coordinator: Coordinator, tmp_path: Path) -> None:
    """The filters of Torc's CLI reference on jobs, results, files, user data and events."""
    url = coordinator.url
    wf = coordinator.client.create_workflow({
        "name": "filters", "files": [{"name": "o", "path": "o.txt"}],
        "user_data": [{"name": "u", "data": 1}],
        "jobs": [{"name": "first", "command": "echo > o.txt", "output_files": ["o"]},
                 {"name": "second", "command": "exit 2", "depends_on": ["first"],
                  "input_user_data": ["u"]},
                 {"name": "alone", "command": "true"}]})
    assert run_cli("run", str(wf), url=url).returncode == 1

    def rows(key: str, *words: str) -> list:
        r = run_cli(*words, "-f", "json", url=url)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)[key]

    assert [j["name"] for j in rows("jobs", "jobs", "list", str(wf), "--upstream-job-id",
                                    "1")] == ["second"]
    (second,) = rows("jobs", "jobs", "list", str(wf), "--upstream-job-id", "1",
                     "--include-relationships")
    assert second["depends_on_job_ids"] == [1] and second["input_user_data_ids"] == [1]
    assert [r["job_name"] for r in rows("results", "results", "list", str(wf), "--status",
                                        "failed")] == ["second"]
    assert [f["name"] for f in rows("files", "files", "list", str(wf),
                                    "--produced-by-job-id", "1")] == ["o"]
    assert rows("files", "files", "list", str(wf), "--produced-by-job-id", "3") == []
    assert [u["name"] for u in rows("user_data", "user-data", "list", str(wf),
                                    "--consumer-job-id", "2")] == ["u"]
    assert rows("user_data", "user-data", "list", str(wf), "--producer-job-id", "2") == []
    assert [e["category"] for e in rows("events", "events", "list", str(wf), "--category",
                                        "complete")] == ["complete"]
    # A job by its id alone, in the only workflow, as Torc's `jobs get <id>`.
    r = run_cli("jobs", "get", "2", "-f", "json", url=url)
    assert r.returncode == 0 and json.loads(r.stdout)["name"] == "second", r.stderr
    r = run_cli("jobs", "update", str(wf), "2", "--name", "renamed", url=url)
    assert r.returncode == 1 and "spec" in r.stderr
