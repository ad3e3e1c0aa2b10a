"""Job-level commands: look at one job, filter jobs and results, and re-run a subset of jobs
(with everything downstream of them) while the rest stays done."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from tests.conftest import Coordinator, cli_json, cli_rows, run_cli


def test_rerun_a_subset_while_the_rest_stays_done(coordinator: Coordinator,
                                                  tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({"name": "subset", "jobs": [
        {"name": "gen_a", "command": "echo a >> runs.txt"},
        {"name": "use_a", "command": "echo use_a >> runs.txt", "depends_on": ["gen_a"]},
        {"name": "other", "command": "echo other >> runs.txt; exit 3"},
    ]})
    out = tmp_path / "out"
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 1
    # One job, by id, with what it depends on.
    job = cli_json("jobs", "get", str(wf_id), "2", url=url)  # one object, as Torc prints it
    assert job["name"] == "use_a" and job["depends_on"] == [1]
    assert [j["name"] for j in cli_json("jobs", "list", str(wf_id), "--name", "_a$",
                                        url=url)["jobs"]] == ["gen_a", "use_a"]
    # Re-run gen_a and what depends on it; `other` keeps its failure from run 1.
    cli_json("jobs", "reset-status", str(wf_id), "--job-ids", "1", "--reinitialize", url=url)
    states = {j["name"]: j["status"]
              for j in cli_json("jobs", "list", str(wf_id), url=url)["jobs"]}
    assert states == {"gen_a": "ready", "use_a": "blocked", "other": "failed"}
    run_cli("run", str(wf_id), "--output-dir", str(out), url=url)
    ran = (tmp_path / "runs.txt").read_text().split()
    assert Counter(ran) == {"a": 2, "use_a": 2, "other": 1}, ran
    run2 = cli_rows("results", "list", str(wf_id), "--run-id", "2", url=url)
    assert sorted(r["job_name"] for r in run2) == ["gen_a", "use_a"]
    assert [r["job_name"] for r in cli_rows("results", "list", str(wf_id), "--return-code", "3",
                                            url=url)] == ["other"]
    # Each job's latest result, as Torc; --all-runs shows every run.
    assert [r["run_id"] for r in cli_rows("results", "list", str(wf_id), "--job-id", "1",
                                          url=url)] == [2]
    assert [r["run_id"] for r in cli_rows("results", "list", str(wf_id), "--job-id", "1",
                                          "--all-runs", url=url)] == [1, 2]


def test_job_commands_refuse_what_does_not_exist(coordinator: Coordinator) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({"name": "w", "jobs": [
        {"name": "a", "command": "true"}]})
    r = run_cli("jobs", "get", str(wf_id), "9", url=url)
    assert r.returncode == 1 and "no job 9" in r.stderr
    r = run_cli("jobs", "reset-status", str(wf_id), "--job-ids", "9", url=url)
    assert r.returncode == 1 and "job 9" in r.stderr
    r = run_cli("jobs", "list", str(wf_id), "--name", "(", url=url)
    assert r.returncode == 1 and "invalid regex" in r.stderr
