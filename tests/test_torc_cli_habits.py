"""Torc's own commands, typed as its documentation types them: the quick start's
``torc run workflow.yaml --poll-interval 1`` (and Torc's ``-o``, ``--memory-gb``,
``--skip-checks``), ``workflows delete`` of several ids with ``--no-prompts --force``, and
``hpc match --cpus --gpus --walltime 4:00:00`` in Slurm's time format."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Coordinator, run_cli, write_spec

CLI = [sys.executable, "-m", "torc.client.cli"]


def test_the_quick_start_s_run_command(coordinator: Coordinator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"name": "quick", "jobs": [
        {"name": "hello", "command": "echo hello"}]}, "workflow.yaml")
    r = run_cli("run", str(spec), "--poll-interval", "1", "-o", str(tmp_path / "out"),
                "--memory-gb", "2", "--skip-checks", url=coordinator.url)
    assert r.returncode == 0, r.stderr
    wf = coordinator.client.list_workflows()[0].id
    assert [j.status for j in coordinator.client.list_jobs(wf)] == [6]  # completed
    assert (tmp_path / "out").is_dir()


@pytest.mark.parametrize("flags,refused", [(("--poll-interval", "0"), "--poll-interval"),
                                           (("--memory-gb", "nan"), "--memory-gb"),
                                           (("--memory", "2g", "--memory-gb", "2"), "--memory")])
def test_run_refuses_what_its_flags_cannot_mean(tmp_path: Path, flags: tuple[str, ...],
                                                refused: str) -> None:
    r = run_cli("run", "1", *flags, url="127.0.0.1:1")
    assert r.returncode == 2 and refused in r.stderr, r.stderr


def test_delete_several_workflows_without_a_prompt(coordinator: Coordinator) -> None:
    c = coordinator.client
    ids = [c.create_workflow({"name": f"w{i}", "jobs": [{"name": "a", "command": "true"}]})
           for i in range(3)]
    r = run_cli("workflows", "delete", str(ids[0]), str(ids[2]), "--no-prompts", "--force",
                url=coordinator.url)
    assert r.returncode == 0, r.stderr
    assert [w.id for w in c.list_workflows()] == [ids[1]]


def test_hpc_match_takes_torc_s_flags_and_slurm_times(tmp_path: Path) -> None:
    (tmp_path / "torc.toml").write_text(
        '[hpc.profiles.mysite]\ndisplay_name = "My site"\n'
        '[[hpc.profiles.mysite.partitions]]\nname = "short"\ncpus_per_node = 64\n'
        'memory_mb = 256000\nmax_walltime_secs = 14400\n'
        '[[hpc.profiles.mysite.partitions]]\nname = "long"\ncpus_per_node = 64\n'
        'memory_mb = 256000\nmax_walltime_secs = 172800\n')
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "none")}

    def match(walltime: str) -> set[str]:
        r = subprocess.run([*CLI, "-f", "json", "hpc", "match", "--cpus", "4", "--gpus", "0",
                            "--walltime", walltime, "--profile", "mysite"], cwd=tmp_path,
                           env=env, capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        rows: Any = json.loads(r.stdout)
        return {p["name"] for p in rows}

    assert match("4:00:00") == {"short", "long"}
    assert match("2-00:00:00") == {"long"}
    assert match("PT5H") == {"long"}
    assert match("240") == {"short", "long"}  # minutes, as sbatch --time reads it
    r = subprocess.run([*CLI, "hpc", "match", "--walltime", "4h", "--profile", "mysite"],
                       cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "'4h'" in r.stderr


def test_is_complete_archive_and_workflows_run_as_torc_has_them(coordinator: Coordinator,
                                                               tmp_path: Path) -> None:
    c = coordinator.client
    ids = [c.create_workflow({"name": f"w{i}", "jobs": [{"name": "a", "command": "true"}]})
           for i in range(3)]
    r = run_cli("-f", "json", "workflows", "is-complete", str(ids[0]), url=coordinator.url,
                check=True)
    assert json.loads(r.stdout) == {"is_canceled": False, "is_complete": False,
                                    "needs_to_run_completion_script": False}
    r = run_cli("workflows", "run", str(ids[0]), "-p", "1", "--output-dir",
                str(tmp_path / "out"), url=coordinator.url)
    assert r.returncode == 0, r.stderr
    r = run_cli("workflows", "is-complete", str(ids[0]), url=coordinator.url, check=True)
    assert "Is Complete: true" in r.stdout and "Is Canceled: false" in r.stdout
    r = run_cli("workflows", "archive", "true", str(ids[1]), str(ids[2]), url=coordinator.url)
    assert r.returncode == 0, r.stderr
    assert [w.id for w in c.list_workflows()] == [ids[0]]
    run_cli("workflows", "archive", "false", str(ids[1]), url=coordinator.url, check=True)
    assert [w.id for w in c.list_workflows()] == [ids[0], ids[1]]
    run_cli("workflows", "archive", str(ids[0]), url=coordinator.url, check=True)  # ours
    assert [w.id for w in c.list_workflows()] == [ids[1]]


def test_config_paths_init_and_validate(tmp_path: Path) -> None:
    env = {**os.environ, "XDG_CONFIG_HOME": str(tmp_path / "home")}

    def torc(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], cwd=tmp_path, env=env, capture_output=True,
                              text=True, timeout=60)

    r = torc("-f", "json", "config", "paths")
    assert r.returncode == 0, r.stderr
    paths = {row["layer"]: row for row in json.loads(r.stdout)}
    assert paths["user"]["path"] == str(tmp_path / "home" / "torc" / "config.toml")
    assert not paths["user"]["exists"]
    assert torc("config", "init").returncode == 0
    assert (tmp_path / "home" / "torc" / "config.toml").is_file()
    r = torc("config", "init")
    assert r.returncode != 0 and "--force" in r.stderr
    assert torc("config", "init", "--force").returncode == 0
    r = torc("config", "validate")
    assert r.returncode == 0 and "valid" in r.stdout, r.stderr
    (tmp_path / "torc.toml").write_text("[client]\nbogus = 1\n")
    r = torc("config", "validate")  # runs despite the broken file, and names it
    assert r.returncode != 0 and "torc.toml" in r.stderr and "bogus" in r.stderr
    assert torc("config", "paths").returncode == 0


def test_watch_into_a_pipe_prints_progress_while_it_runs(coordinator: Coordinator,
                                                         tmp_path: Path) -> None:
    from tests.conftest import start_worker

    c = coordinator.client
    go = tmp_path / "go"
    wf = c.create_workflow({"name": "w", "jobs": [
        {"name": "waits", "command": f"while [ ! -e {go} ]; do sleep 0.05; done"}]})
    c.initialize(wf)
    worker = start_worker(coordinator.url, wf, tmp_path / "out")
    watch = subprocess.Popen([*CLI, "--url", coordinator.url, "watch", str(wf), "--interval",
                              "0.1"], stdout=subprocess.PIPE, text=True)
    assert watch.stdout is not None
    seen = []
    for line in watch.stdout:  # before the workflow ends, not only once it has
        seen.append(line)
        if "running 1" in line:
            break
    else:
        raise AssertionError(f"no progress line while it ran: {seen}")
    go.touch()
    rest = watch.stdout.read()
    assert watch.wait(timeout=120) == 0 and "completed 1" in rest, rest
    assert worker.wait(timeout=120) == 0


def test_workflows_list_takes_torc_s_paging_sorting_and_archive_flags(
        coordinator: Coordinator) -> None:
    c = coordinator.client
    ids = [c.create_workflow({"name": name, "jobs": [{"name": "a", "command": "true"}]})
           for name in ("b", "c", "a")]
    c.archive(ids[1])

    def names(*flags: str) -> list[str]:
        r = run_cli("-f", "json", "workflows", "list", *flags, url=coordinator.url,
                    check=True)
        return [w["name"] for w in json.loads(r.stdout)["workflows"]]

    assert names() == ["b", "a"]
    assert names("--all-users", "--include-archived") == ["b", "c", "a"]
    assert names("--archived-only") == ["c"]
    assert names("--sort-by", "name") == ["a", "b"]
    assert names("--sort-by", "name", "--reverse-sort") == ["b", "a"]
    assert names("--include-archived", "--offset", "1", "-l", "1") == ["c"]
    r = run_cli("workflows", "list", "--sort-by", "colour", url=coordinator.url)
    assert r.returncode != 0 and "colour" in r.stderr


def test_completions_as_torc_spells_it() -> None:
    for shell in ("bash", "fish"):
        r = run_cli("completions", shell)
        assert r.returncode == 0 and "workflows" in r.stdout, r.stderr
    r = run_cli("completions", "elvish")
    assert r.returncode != 0 and "elvish" in r.stderr


def test_json_shapes_jq_scripts_from_torc_s_tutorials_read(coordinator: Coordinator,
                                                           tmp_path: Path) -> None:
    # simple-params: jq -r '.jobs[].name'; user-data: jobs read their input with jq '.data'.
    c = coordinator.client
    wf = c.create_workflow({"name": "w", "user_data": [{"name": "cfg", "data": {"lr": 0.1}}],
                            "jobs": [{"name": f"train_{i}", "command": "true"}
                                     for i in range(3)]})
    r = run_cli("-f", "json", "jobs", "list", str(wf), url=coordinator.url, check=True)
    assert [j["name"] for j in json.loads(r.stdout)["jobs"]] == [
        "train_0", "train_1", "train_2"]
    r = run_cli("-f", "json", "user-data", "list", str(wf), url=coordinator.url, check=True)
    (entry,) = json.loads(r.stdout)["user_data"]
    r = run_cli("-f", "json", "user-data", "get", str(entry["id"]), "--workflow-id", str(wf),
                url=coordinator.url, check=True)
    got = json.loads(r.stdout)
    assert got["data"] == {"lr": 0.1} and got["name"] == "cfg" and got["workflow_id"] == wf
    # Every listing Torc wraps is wrapped the same way, under Torc's key.
    assert run_cli("run", str(wf), url=coordinator.url).returncode == 0
    for words, key in ((("workflows", "list"), "workflows"),
                       (("results", "list", str(wf)), "results"),
                       (("files", "list", str(wf)), "files"),
                       (("compute-nodes", "list", str(wf)), "compute_nodes")):
        r = run_cli(*words, "-f", "json", url=coordinator.url, check=True)
        assert list(json.loads(r.stdout)) == [key], words
    rows = json.loads(run_cli("results", "list", str(wf), "-f", "json", url=coordinator.url,
                              check=True).stdout)["results"]
    assert sorted(row["return_code"] for row in rows) == [0, 0, 0]
    # Torc's model fields are in every row (ours beside them).
    torc_fields = {
        ("results", "list"): {"job_id", "workflow_id", "run_id", "attempt_id",
                              "compute_node_id", "return_code", "exec_time_minutes",
                              "completion_time", "status", "peak_memory_bytes"},
        ("jobs", "list"): {"id", "workflow_id", "name", "command", "status",
                           "depends_on_job_ids", "input_file_ids", "output_file_ids",
                           "input_user_data_ids", "output_user_data_ids", "attempt_id"},
        ("compute-nodes", "list"): {"id", "workflow_id", "hostname", "pid", "start_time",
                                    "is_active", "num_cpus", "memory_gb", "num_gpus"},
        ("user-data", "list"): {"id", "workflow_id", "name", "data", "is_ephemeral"},
        ("events", "list"): {"id", "workflow_id", "timestamp", "data"}}
    for (group, verb), fields in torc_fields.items():
        r = run_cli(group, verb, str(wf), "-f", "json", url=coordinator.url, check=True)
        (listed,) = json.loads(r.stdout).values()
        assert listed and fields <= set(listed[0]), (group, fields - set(listed[0]))
        assert all(row["workflow_id"] == wf for row in listed), group


def test_workflows_create_prints_torc_s_fields(coordinator: Coordinator, tmp_path: Path) -> None:
    spec = write_spec(tmp_path, {"name": "w", "jobs": [{"name": "a", "command": "true"}]})
    r = run_cli("-f", "json", "workflows", "create", str(spec), url=coordinator.url,
                check=True)
    got = json.loads(r.stdout)
    wf = coordinator.client.list_workflows()[0].id
    assert got["workflow_id"] == wf and got["status"] == "success" and got["id"] == wf


def test_numbers_read_right_canceled_is_not_failed_and_bars_add_up(
        coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf = c.create_workflow({"name": "w", "jobs": [
        {"name": "bad", "command": "exit 3"},
        {"name": "after1", "command": "true", "depends_on": ["bad"]},
        {"name": "after2", "command": "true", "depends_on": ["bad"]},
        {"name": "ok", "command": "true"}]})
    r = run_cli("workflows", "status", str(wf), url=coordinator.url, check=True)
    assert "uninitialized" in r.stdout and "in progress" not in r.stdout, r.stdout
    r = run_cli("run", str(wf), "-o", str(tmp_path / "out"), url=coordinator.url)
    assert r.returncode == 1
    bars = {line.split()[0]: line.split()[-2] for line in r.stdout.splitlines()
            if "/4" in line and line.split()}
    assert bars.get("failed") == "1/4" and bars.get("canceled") == "2/4", r.stdout
    r = run_cli("watch", str(wf), "--interval", "0.1", url=coordinator.url)
    # The last counts line (a summary of what did not complete follows it).
    counts = [line for line in r.stdout.splitlines()
              if line.startswith(f"workflow {wf}, run")][-1]
    assert "completed 1/4" in counts and "failed 1" in counts and "canceled 2" in counts


def test_view_job_logs_as_torc_s_how_to_does(coordinator: Coordinator, tmp_path: Path) -> None:
    # core/how-to/view-job-logs: torc reports results <wf> --job-id <id>, then cat the path.
    c, out = coordinator.client, tmp_path / "out"
    wf = c.create_workflow({"name": "w", "jobs": [
        {"name": "ok", "command": "echo fine"},
        {"name": "bad", "command": "echo broken-input >&2; exit 2"}]})
    run_cli("run", str(wf), "-o", str(out), url=coordinator.url)
    bad = next(j.id for j in c.list_jobs(wf) if j.name == "bad")
    r = run_cli("-f", "json", "reports", "results", str(wf), "--job-id", str(bad), "-o",
                str(out), url=coordinator.url, check=True)
    report = json.loads(r.stdout)  # Torc's report, as its how-to shows it
    assert (report["workflow_id"], report["total_results"]) == (wf, 1)
    (row,) = report["results"]
    assert row["job_id"] == bad and row["return_code"] == 2 and row["compute_node_type"] == \
        "local" and row["completion_time"].endswith("Z")
    assert Path(row["job_stderr"]).read_text() == "broken-input\n"


def test_reports_summary_reads_as_text_not_json(coordinator: Coordinator,
                                                tmp_path: Path) -> None:
    c = coordinator.client
    wf = c.create_workflow({"name": "w", "jobs": [{"name": "a", "command": "exit 2"},
                                                  {"name": "b", "command": "true"}]})
    run_cli("run", str(wf), "-o", str(tmp_path / "out"), url=coordinator.url)
    r = run_cli("reports", "summary", str(wf), url=coordinator.url, check=True)
    assert "{" not in r.stdout and "completed 1, failed 1" in r.stdout, r.stdout
    assert "2 1" in r.stdout  # failures by return code: code 2, once


def test_monitoring_is_on_by_default_as_torc_s_and_can_be_turned_off(
        coordinator: Coordinator, tmp_path: Path) -> None:
    # A 50 MB job without a resource_monitor section has its peak memory recorded.
    job = {"name": "hold", "command": "python3 -c 'import time; b = b\"x\" * (50 << 20); "
                                      "time.sleep(6)'"}
    spec = write_spec(tmp_path, {"name": "w", "jobs": [job]})
    r = run_cli("-f", "json", "workflows", "create", str(spec), url=coordinator.url,
                check=True)
    wf = json.loads(r.stdout)["workflow_id"]
    run_cli("run", str(wf), "-o", str(tmp_path / "out"), url=coordinator.url, check=True)
    (result,) = coordinator.client.list_results(wf)
    assert result.HasField("peak_memory_bytes") and result.peak_memory_bytes > 50 << 20
    r = run_cli("-f", "json", "workflows", "create", str(spec), "--no-resource-monitoring",
                url=coordinator.url, check=True)
    off = json.loads(r.stdout)["workflow_id"]
    run_cli("run", str(off), "-o", str(tmp_path / "out2"), url=coordinator.url, check=True)
    (result,) = coordinator.client.list_results(off)
    assert not result.HasField("peak_memory_bytes")


def test_torc_s_read_verbs_and_refusals(coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    wf = coordinator.client.create_workflow({
        "name": "rel", "files": [{"name": "f", "path": "f.txt"}], "user_data": [{"name": "u"}],
        "resource_requirements": [{"name": "r", "num_cpus": 2, "memory": "1g",
                                   "runtime": "PT1H"}],
        "slurm_schedulers": [{"name": "s", "account": "a", "partition": "p", "nodes": 1,
                              "walltime": "01:00:00"}],
        "failure_handlers": [{"name": "fh", "rules": [{"exit_codes": [1],
                                                       "max_retries": 2}]}],
        "jobs": [{"name": "a", "command": "echo > f.txt", "resource_requirements": "r",
                  "output_files": ["f"], "output_user_data": ["u"]},
                 {"name": "b", "command": "cat f.txt", "input_files": ["f"],
                  "input_user_data": ["u"]}]})

    def out(*words: str) -> Any:
        return json.loads(run_cli("-f", "json", *words, url=url, check=True).stdout)

    (dep,) = out("job-dependencies", "job-job", str(wf))["items"]
    assert (dep["job_name"], dep["depends_on_job_name"]) == ("b", "a")
    (rel,) = out("job-dependencies", "job-file", str(wf))["items"]
    assert (rel["file_name"], rel["producer_job_name"], rel["consumer_job_name"]) == \
        ("f", "a", "b")
    page = out("job-dependencies", "job-user-data", str(wf), "--offset", "1")
    assert page["total_count"] == 1 and page["items"] == [] and not page["has_more"]
    (req,) = [r for r in out("resource-requirements", "list", str(wf))[
        "resource_requirements"] if r["name"] == "r"]
    assert (req["memory"], req["runtime"], req["num_cpus"]) == ("1g", "PT1H", 2)
    assert out("resource-requirements", "get", str(req["id"]), "-w", str(wf))["name"] == "r"
    assert out("slurm", "list", str(wf))["slurm_schedulers"][0]["account"] == "a"
    assert out("failure-handlers", "list")["failure_handlers"][0]["name"] == "fh"
    assert out("scheduled-compute-nodes", "list", str(wf)) == {"scheduled_compute_nodes": []}
    assert [e["category"] for e in out("events", "list", str(wf))["events"]] == ["created"]
    # Torc's piecewise edits are refused, saying what to use instead.
    for words in (("jobs", "create", str(wf), "--name", "x"), ("workflows", "new"),
                  ("slurm", "create")):
        r = run_cli(*words, url=url)
        assert r.returncode == 1 and "torc" in r.stderr.split(":", 2)[-1], (words, r.stderr)


def test_every_listing_pages_and_sorts_as_torc_s(coordinator: Coordinator) -> None:
    url = coordinator.url
    wf = coordinator.client.create_workflow({"name": "p", "jobs": [
        {"name": n, "command": "true"} for n in ("c", "a", "d", "b")]})
    assert run_cli("run", str(wf), url=url).returncode == 0

    def names(*flags: str) -> list[str]:
        r = run_cli("-f", "json", "results", "list", str(wf), *flags, url=url, check=True)
        return [row["job_name"] for row in json.loads(r.stdout)["results"]]

    assert names("--sort-by", "job_name") == ["a", "b", "c", "d"]
    assert names("--sort-by", "job_name", "--reverse-sort", "-l", "2") == ["d", "c"]
    assert names("--sort-by", "job_name", "--offset", "3") == ["d"]
    r = run_cli("results", "list", str(wf), "--sort-by", "colour", url=url)
    assert r.returncode == 1 and "colour" in r.stderr and "job_name" in r.stderr
    r = run_cli("-f", "json", "user-data", "list", str(wf), "--limit", "0", url=url)
    assert json.loads(r.stdout) == {"user_data": []}


def test_ping_says_whether_the_coordinator_is_there(coordinator: Coordinator) -> None:
    """Torc's ``torc ping`` (its access-groups tutorial starts with it): exit 0 and "Server is
    running", or exit 1 saying it could not connect."""
    ok = run_cli("ping", url=coordinator.url, check=True)
    assert ok.stdout.strip() == "Server is running"
    coordinator.stop()
    gone = run_cli("-f", "json", "ping", url=coordinator.url)
    assert gone.returncode == 1 and json.loads(gone.stdout)["status"] == "error"


def test_a_narrow_table_keeps_its_title_on_one_line(coordinator: Coordinator) -> None:
    """``workflows status`` has two narrow columns and a longer title: the title must read
    whole, not wrapped over lines."""
    wf = coordinator.client.create_workflow({"name": "w", "jobs": [
        {"name": f"j{i}", "command": "true"} for i in range(6)]})
    out = run_cli("workflows", "status", str(wf), url=coordinator.url, check=True).stdout
    title = out.splitlines()[0].strip()
    assert title == f"workflow {wf}: run 0, 6 jobs, uninitialized", out


def test_tables_show_memory_in_mib_and_gib_and_runtimes_as_the_spec_writes_them(
        coordinator: Coordinator) -> None:
    """One convention for people (binary units, as Slurm counts them); JSON keeps Torc's."""
    url = coordinator.url
    wf = coordinator.client.create_workflow({
        "name": "w", "resource_requirements": [
            {"name": "big", "num_cpus": 1, "memory": "1536m", "runtime": "PT2H"}],
        "jobs": [{"name": "a", "command": "true", "resource_requirements": "big"}]})
    for verb in (("resource-requirements", "list"), ("jobs", "list-resource-requirements")):
        table = run_cli(*verb, str(wf), url=url, check=True).stdout
        assert "1.5 GiB" in table and "PT2H" in table, table
    rr = json.loads(run_cli("-f", "json", "resource-requirements", "list", str(wf), url=url,
                            check=True).stdout)["resource_requirements"]
    assert rr[0]["memory"] == "1536m"
