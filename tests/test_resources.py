"""Resource monitoring and limits with real workers: what jobs really used (their whole process
tree), memory and runtime limits with Torc's exit codes, and the reports that flag them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.conftest import Coordinator, cli_json, cli_rows, run_cli

# Holds 300 MB of written (resident) memory for 3 s.
ALLOC_300 = "python3 -c 'import time; b = b\"x\" * (300 * 1024 * 1024); time.sleep(3)'"
SPIN = "python3 -c 'import time; t = time.time()\nwhile time.time() - t < 3: pass'"
MONITOR = {"enabled": True, "granularity": "time_series", "sample_interval_seconds": 1,
           "generate_plots": True}


def test_monitored_jobs_report_peak_and_average_memory_and_cpu(coordinator: Coordinator,
                                                                 tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({
        "name": "monitor", "resource_monitor": MONITOR,
        "resource_requirements": [{"name": "r", "num_cpus": 1, "memory": "1g"}],
        "jobs": [{"name": "alloc", "command": ALLOC_300, "resource_requirements": "r"},
                 # The allocation happens in a child that leaves its parent behind
                 # (reparented, still in the job's session): it counts too.
                 {"name": "daemon", "resource_requirements": "r",
                  "command": f"({ALLOC_300} &); sleep 4"},
                 {"name": "spin", "command": SPIN, "resource_requirements": "r"}]})
    out = tmp_path / "out"
    r = run_cli("run", str(wf_id), "--output-dir", str(out), "--num-cpus", "1", url=url,
                timeout=300)
    assert r.returncode == 0, r.stderr
    by = {x["job_name"]: x for x in cli_rows("results", "list", str(wf_id), url=url)}
    assert by["alloc"]["peak_memory_bytes"] >= 300 * 1024 * 1024
    assert by["daemon"]["peak_memory_bytes"] >= 300 * 1024 * 1024
    assert 0 < by["alloc"]["avg_memory_bytes"] <= by["alloc"]["peak_memory_bytes"]
    assert by["spin"]["peak_cpu_percent"] >= 50
    # time_series: every sample in the worker's SQLite file, drawn by plot-resources.
    (db,) = (out / "resource_utilization").glob(f"resource_metrics_wf{wf_id}_w*.db")
    with sqlite3.connect(db) as conn:  # the queries of Torc's resource-monitoring page
        names = dict(conn.execute("SELECT * FROM job_metadata").fetchall())
        alloc = next(i for i, n in names.items() if n == "alloc")
        samples = conn.execute(
            "SELECT job_id, timestamp, cpu_percent, memory_bytes, num_processes "
            "FROM job_resource_samples WHERE job_id = ? ORDER BY timestamp", (alloc,)).fetchall()
    assert set(names.values()) == {"alloc", "daemon", "spin"}
    assert samples and max(m for _, _, _, m, _ in samples) >= 300 * 1024 * 1024
    assert all(n >= 1 for *_, n in samples)
    assert "alloc" in db.with_suffix(".html").read_text()  # generate_plots, by the worker
    page = tmp_path / "plot.html"
    run_cli("plot-resources", str(out / "resource_utilization"), "-o", str(page), check=True)
    html = page.read_text()
    assert "alloc" in html and "plotly" in html.lower()
    # Torc's form: the files, -o a directory, --job-ids, --prefix.
    run_cli("plot-resources", *map(str, (out / "resource_utilization").glob("*.db")),
            "-o", str(tmp_path / "plots"), "--job-ids", str(alloc), "-p", "mine", check=True)
    html = (tmp_path / "plots" / "mine.html").read_text()
    assert "alloc (job" in html and "spin (job" not in html


def test_limits_kill_with_torcs_exit_codes_and_reports_flag_them(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({
        "name": "limits", "execution_config": {"limit_resources": True,
                                               "sigterm_lead_seconds": 2},
        "resource_monitor": {"enabled": True, "sample_interval_seconds": 1},
        "resource_requirements": [
            {"name": "small", "num_cpus": 1, "memory": "50m", "runtime": "PT30M"},
            {"name": "short", "num_cpus": 1, "memory": "1g", "runtime": "PT2S"}],
        "jobs": [{"name": "hog", "command": ALLOC_300, "resource_requirements": "small"},
                 {"name": "slow", "command": "sleep 60", "resource_requirements": "short"},
                 {"name": "fine", "command": "true", "resource_requirements": "short"}]})
    r = run_cli("run", str(wf_id), "--output-dir", str(tmp_path / "out"), url=url,
                timeout=300)
    assert r.returncode == 1
    by = {x["job_name"]: x for x in cli_rows("results", "list", str(wf_id), url=url)}
    assert by["hog"]["return_code"] == 137 and by["hog"]["status"] == "failed"
    assert by["hog"]["message"].startswith("out of memory")
    assert by["slow"]["return_code"] == 152 and by["slow"]["status"] == "failed"
    assert by["slow"]["message"].startswith("timeout")
    assert by["fine"]["return_code"] == 0
    report = cli_json("reports", "check-resource-utilization", str(wf_id), "--include-failed",
                      url=url)  # Torc's shape: the failed jobs' diagnosis in resource_violations
    util = {x["job_name"]: x for x in report["resource_violations"]}
    assert util["hog"]["likely_oom"] and not util["hog"]["likely_timeout"]
    assert util["slow"]["likely_timeout"] and not util["slow"]["likely_oom"]
    assert "fine" not in util and report["total_results"] == 3
    plain = cli_json("reports", "check-resource-utilization", str(wf_id), url=url)
    assert plain["total_results"] == 1 and plain["resource_violations"] == []
    summary = cli_json("reports", "summary", str(wf_id), url=url)
    assert summary["job_counts"]["failed"] == 2
    assert summary["failures_by_return_code"] == {"137": 1, "152": 1}


def test_recover_raises_memory_after_an_oom_and_the_workflow_completes(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    out = tmp_path / "out"
    wf_id = coordinator.client.create_workflow({
        "name": "oom", "execution_config": {"limit_resources": True},
        "resource_requirements": [{"name": "r", "num_cpus": 1, "memory": "200m"}],
        "jobs": [{"name": "big", "command": ALLOC_300, "resource_requirements": "r"},
                 {"name": "after", "command": "true", "depends_on": ["big"]}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url,
                   timeout=300).returncode == 1
    plan = cli_json("recover", str(wf_id), "--memory-multiplier", "2.5", "--dry-run", url=url)
    assert [(p["job_name"], p["reason"]) for p in plan["jobs"]] == [("big", "out of memory")]
    assert plan["jobs"][0]["new_memory_bytes"] == 500 * 1024 * 1024
    r = run_cli("-f", "json", "recover", str(wf_id), "--memory-multiplier", "2.5",
                "--output-dir", str(out), url=url, timeout=300)
    assert r.returncode == 0, r.stderr
    states = {j["name"]: j["status"] for j in cli_json("jobs", "list", str(wf_id), url=url)["jobs"]}
    assert states == {"big": "completed", "after": "completed"}


def test_resource_monitor_metrics_choose_the_figures(coordinator: Coordinator,
                                                     tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({
        "name": "metrics", "resource_monitor": {"enabled": True, "sample_interval_seconds": 1,
                                                "metrics": ["memory_bytes"]},
        "jobs": [{"name": "a", "command": "sleep 2"}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(tmp_path / "o"), url=url).returncode == 0
    (r,) = cli_rows("results", "list", str(wf_id), url=url)
    assert r["peak_memory_bytes"] > 0 and r["peak_cpu_percent"] is None


def test_watch_recover_reruns_an_oom_until_the_workflow_completes(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url, out = coordinator.url, tmp_path / "out"
    wf_id = coordinator.client.create_workflow({
        "name": "watched", "execution_config": {"limit_resources": True},
        "resource_requirements": [{"name": "r", "num_cpus": 1, "memory": "100m"}],
        "jobs": [{"name": "big", "command": ALLOC_300, "resource_requirements": "r"}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url,
                   timeout=300).returncode == 1
    # 100m -> 200m -> 400m: two recoveries, then it fits.
    r = run_cli("watch", str(wf_id), "--interval", "0.2", "--recover", "--max-retries", "3",
                "--memory-multiplier", "2", "--output-dir", str(out), url=url, timeout=300)
    assert r.returncode == 0, r.stderr
    assert r.stdout.count("of at most 3)") == 2
    attempts = cli_rows("results", "list", str(wf_id), "--all-runs", url=url)
    assert [x["return_code"] for x in attempts] == [137, 137, 0]
    # Without --recover, watch says the workflow did not complete.
    wf2 = coordinator.client.create_workflow({"name": "fails",
                                              "jobs": [{"name": "x", "command": "exit 3"}]})
    run_cli("run", str(wf2), "--output-dir", str(out), url=url)
    assert run_cli("watch", str(wf2), url=url).returncode == 1
