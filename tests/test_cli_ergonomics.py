"""What Torc users expect of the CLI beyond the verbs: torc exec, configuration files, dry runs
and execution plans, export/import between coordinators, archiving, watch and shell
completion. Each through the real CLI against a real coordinator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import ROOT, Coordinator, cli_json, cli_rows, job_states, run_cli, write_spec

CLI = [sys.executable, "-m", "torc.client.cli"]


def test_exec_shows_what_its_commands_print_as_they_run(tmp_path: Path) -> None:
    """``torc exec`` streams its jobs' output (each line once, stdout and stderr), prefixed
    with the job's name when there are several; one command's lines come bare."""
    r = run_cli("exec", "-c", "echo alone; echo to-stderr >&2", "--output-dir",
                str(tmp_path / "a"), check=True)
    assert "alone\n" in r.stdout and "to-stderr\n" in r.stdout
    r = run_cli("exec", "-c", "echo first; printf 'no newline'", "-c", "echo oops >&2",
                "--output-dir", str(tmp_path / "b"), check=True)
    lines = r.stdout.splitlines()
    assert lines.count("cmd1 | first") == 1 and "cmd1 | no newline" in lines
    assert "cmd2 (stderr) | oops" in lines


def test_exec_shows_a_job_that_finished_before_the_display_started(tmp_path: Path) -> None:
    """The worker is told the workflow before it is initialized, so a fast job can have
    written (and ended) before ``torc exec`` starts following: its lines still show, once.
    Files of an earlier run of the same workflow never show; a file rewritten from empty
    (truncated) is read again from its start."""
    from torc.client.stream import StdioStream

    stdio = tmp_path / "job_stdio"
    stdio.mkdir()
    (stdio / "job_wf1_j1_r1_a1.o").write_text("earlier run\n")
    (stdio / "job_wf1_j1_r2_a1.o").write_text("first\nsecond\n")  # before following
    (stdio / "job_wf2_j1_r2_a1.o").write_text("another workflow\n")
    shown: list[str] = []
    stream = StdioStream(tmp_path, 1, 2, {1: "one", 2: "two"}, shown.append)
    stream.poll()
    assert shown == ["one | first", "one | second"]
    with open(stdio / "job_wf1_j1_r1_a1.o", "a") as f:
        f.write("still the earlier run\n")
    (stdio / "job_wf1_j2_r2_a1.e").write_text("oops\n")
    (stdio / "job_wf1_j1_r2_a1.o").write_text("again\n")  # truncated and rewritten
    stream.finish()
    assert shown[2:] == ["one | again", "two (stderr) | oops"]


def test_exec_runs_inline_commands_and_says_when_one_failed(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli("-f", "json", "exec", "-c", "echo one > one.txt", "-c", "exit 3",
                "--output-dir", str(out))
    assert r.returncode == 1
    summary = json.loads(r.stdout)
    assert summary["job_counts"]["completed"] == 1 and summary["job_counts"]["failed"] == 1
    assert (tmp_path / "one.txt").read_text() == "one\n"  # jobs run here
    # One job per value of each --param (their product), like Torc's parameters.
    r = run_cli("-f", "json", "exec", "--param", "i=1:3", "--param", "s=[a,b]",
                "-c", "echo {i}{s} > out_{i}{s}.txt", "--max-parallel-jobs", "2",
                "--output-dir", str(tmp_path / "p"))
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in tmp_path.glob("out_*.txt")) == [
        f"out_{i}{s}.txt" for i in (1, 2, 3) for s in "ab"]
    # Everything after -- is one command, quoted as given.
    r = run_cli("exec", "--output-dir", str(tmp_path / "q"), "--", "printf", "%s|",
                "two words", "x")
    assert r.returncode == 0, r.stderr
    (stdout,) = (tmp_path / "q" / "job_stdio").glob("*.o")
    assert stdout.read_text() == "two words|x|"
    r = run_cli("exec", "--param", "i=1:2", "-c", "echo no placeholder")
    assert r.returncode == 1 and "does not use --param i" in r.stderr


def test_config_files_then_variables_then_flags(coordinator: Coordinator,
                                                tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "torc").mkdir(parents=True)
    (home / "torc" / "config.toml").write_text(
        f'[client]\nurl = "{coordinator.url}"\nformat = "json"\n')
    work = tmp_path / "work"
    work.mkdir()
    (work / "torc.toml").write_text('[client.run]\noutput_dir = "from_toml"\n')
    env = {**os.environ, "XDG_CONFIG_HOME": str(home)}
    env.pop("TORC_URL", None)

    def torc(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*CLI, *args], cwd=work, env={**env, **extra},
                              capture_output=True, text=True, timeout=120)

    shown = {r["setting"]: r for r in json.loads(torc("config", "show").stdout)}
    assert shown["[client] url"]["value"] == coordinator.url
    assert shown["[client.run] output_dir"]["source"].endswith("torc.toml")
    # The URL and format come from the user's file: no flag needed.
    assert json.loads(torc("workflows", "list").stdout) == {"workflows": []}  # Torc's shape
    r = torc("exec", "-c", "true")
    assert r.returncode == 0 and (work / "from_toml" / "job_stdio").is_dir()
    # TORC_* beats the files; a flag beats both.
    r = torc("exec", "-c", "true", TORC_OUTPUT_DIR=str(tmp_path / "from_env"))
    assert r.returncode == 0 and (tmp_path / "from_env" / "job_stdio").is_dir()
    r = torc("exec", "-c", "true", "--output-dir", str(tmp_path / "from_flag"),
             TORC_OUTPUT_DIR=str(tmp_path / "from_env"))
    assert r.returncode == 0 and (tmp_path / "from_flag" / "job_stdio").is_dir()
    (work / "torc.toml").write_text('[client.run]\nouput_dir = "typo"\n')
    r = torc("config", "show")
    assert r.returncode == 2 and "torc.toml: unknown key [client.run] ouput_dir" in r.stderr


def test_dry_run_stores_nothing_and_the_plan_matches_the_workflow(
        coordinator: Coordinator) -> None:
    url = coordinator.url
    spec = str(ROOT / "examples" / "slurm_actions.yaml")
    dry = cli_json("workflows", "create", spec, "--dry-run", url=url)
    assert dry["stored"] is False and dry["num_jobs"] == 5
    assert {j["name"]: j["depends_on"] for j in dry["jobs"]}["eval_all"] == [
        "train_model_001", "train_model_002", "train_model_003"]
    assert cli_rows("workflows", "list", url=url) == []
    from_spec = cli_json("workflows", "execution-plan", spec, url=url)
    assert [s["jobs"] for s in from_spec["stages"]] == [
        ["prepare"], ["train_model_001", "train_model_002", "train_model_003"], ["eval_all"]]
    (start,) = from_spec["at_start"]
    assert start["action_type"] == "schedule_nodes" and "login_start" in start["allocations"]
    assert [a["trigger_type"] for a in from_spec["stages"][1]["when_ready"]] == ["on_jobs_ready"]
    wf_id = cli_json("workflows", "create", spec, url=url)["id"]
    from_id = cli_json("workflows", "execution-plan", str(wf_id), url=url)
    assert from_id == from_spec
    r = run_cli("workflows", "create", str(ROOT / "README.md"), "--dry-run")
    assert r.returncode != 0


def _same(c1: Any, id1: int, c2: Any, id2: int) -> None:
    def shape(c: Any, wf_id: int) -> list[tuple]:
        names = {j.id: j.name for j in c.list_jobs(wf_id)}
        return [(j.name, j.command, sorted(names[d] for d in j.depends_on), j.priority,
                 j.resource_requirements, j.memory_bytes) for j in c.list_jobs(wf_id)]

    assert shape(c1, id1) == shape(c2, id2)
    assert [(a.trigger_type, a.action_type, list(a.job_names)) for a in c1.list_actions(id1)] \
        == [(a.trigger_type, a.action_type, list(a.job_names)) for a in c2.list_actions(id2)]


def test_export_then_import_into_another_coordinator(coordinator: Coordinator,
                                                     make_coordinator: Any,
                                                     tmp_path: Path) -> None:
    url, c = coordinator.url, coordinator.client
    spec = write_spec(tmp_path, {
        "name": "moved", "files": [{"name": "f", "path": "f.txt"}],
        "resource_requirements": [{"name": "r", "num_cpus": 1, "memory": "3m",
                                   "runtime": "PT90S"}],
        "failure_handlers": [{"name": "h", "rules": [{"exit_codes": [2]}]}],
        "jobs": [{"name": "a", "command": "echo a > ${files.output.f}",
                  "resource_requirements": "r", "failure_handler": "h"},
                 {"name": "b", "command": "cat ${files.input.f}", "priority": 3},
                 {"name": "c", "command": "exit 4", "depends_on": ["a"]},
                 {"name": "d", "command": "true", "depends_on": ["c"]}],
        "actions": [{"trigger_type": "on_jobs_complete", "action_type": "run_commands",
                     "jobs": ["a"], "commands": ["echo done"]}]})
    wf_id = cli_json("workflows", "create", str(spec), url=url)["id"]
    run_cli("run", str(wf_id), "--output-dir", str(tmp_path / "out"), url=url)
    path = tmp_path / "export.json"
    run_cli("workflows", "export", str(wf_id), "-o", str(path), url=url, check=True)
    doc = json.loads(path.read_text())
    assert doc["format"] == "torc-py workflow" and doc["version"] == 1
    other = make_coordinator()
    fresh = cli_json("workflows", "import", str(path), url=other.url)
    _same(c, wf_id, other.client, fresh["id"])
    assert set(job_states(other.client, fresh["id"]).values()) == {"uninitialized"}
    kept = cli_json("workflows", "import", str(path), "--keep-state", url=other.url)
    _same(c, wf_id, other.client, kept["id"])
    assert job_states(other.client, kept["id"]) == job_states(c, wf_id) == {
        "a": "completed", "b": "completed", "c": "failed", "d": "canceled"}

    def results(cl: Any, i: int) -> list[tuple]:
        return [(r.job_name, r.attempt_id, r.return_code, r.status)
                for r in cl.list_results(i, all_runs=True)]

    assert results(other.client, kept["id"]) == results(c, wf_id)
    # The kept workflow goes on from where it was: reset the failure, run it there.
    run_cli("workflows", "reset-status", str(kept["id"]), "--failed-only", "--reinitialize",
            url=other.url, check=True)
    assert job_states(other.client, kept["id"])["c"] == "ready"
    # A damaged export changes nothing: a status torc does not have, or a number too large
    # for a result (results are kept as 64-bit columns).
    for where, value, why in ((("jobs", "status"), [99] * 4, "job status is not one of torc's"),
                              (("results", 0, 1), 1e300, "run_id"),
                              (("run_id",), 1e300, "run_id")):
        damaged = json.loads(json.dumps(doc))
        target = damaged["state"]
        for key in where[:-1]:
            target = target[key]
        target[where[-1]] = value
        path.write_text(json.dumps(damaged))
        r = run_cli("workflows", "import", str(path), "--keep-state", url=other.url)
        assert r.returncode == 1 and why in r.stderr, r.stderr
        assert len(other.client.list_workflows(all=True)) == 2


def test_archived_workflows_leave_the_list_until_asked_for(coordinator: Coordinator) -> None:
    url, c = coordinator.url, coordinator.client
    ids = [c.create_workflow({"name": f"w{i}", "jobs": [{"name": "a", "command": "true"}]})
           for i in range(3)]
    run_cli("workflows", "archive", str(ids[1]), url=url, check=True)
    assert [w["id"] for w in cli_rows("workflows", "list", url=url)] == [ids[0], ids[2]]
    everything = cli_rows("workflows", "list", "--all", url=url)
    assert [(w["id"], w["archived"]) for w in everything] == [
        (ids[0], False), (ids[1], True), (ids[2], False)]
    me = everything[0]["user"]
    assert len(cli_rows("workflows", "list", "--user", me, url=url)) == 2
    assert cli_rows("workflows", "list", "--user", "nobody", url=url) == []
    run_cli("workflows", "unarchive", str(ids[1]), url=url, check=True)
    coordinator.restart()
    assert len(cli_rows("workflows", "list", url=url)) == 3


def test_watch_shows_progress_and_exits_with_how_it_ended(coordinator: Coordinator,
                                                        tmp_path: Path) -> None:
    url, c = coordinator.url, coordinator.client
    ok = c.create_workflow({"name": "ok", "jobs": [{"name": "a", "command": "true"}]})
    bad = c.create_workflow({"name": "bad", "jobs": [{"name": "a", "command": "exit 1"}]})
    gone = c.create_workflow({"name": "gone", "jobs": [{"name": "a", "command": "true"}]})
    for wf in (ok, bad):
        run_cli("run", str(wf), "--output-dir", str(tmp_path / "o"), url=url)
    c.cancel(gone)
    r = run_cli("watch", str(ok), "--interval", "0.1", url=url)
    assert r.returncode == 0 and "completed" in r.stdout and "initialized" in r.stdout
    assert run_cli("watch", str(bad), "--interval", "0.1", url=url).returncode == 1
    assert run_cli("watch", str(gone), "--interval", "0.1", url=url).returncode == 2


def test_shell_completion_completes_verbs() -> None:
    for shell in ("bash", "zsh"):
        r = run_cli("completion", shell)
        assert r.returncode == 0 and "workflows" in r.stdout
    script = run_cli("completion", "bash").stdout
    r = subprocess.run(["bash", "-c", script + '\nCOMP_WORDS=(torc workflows ""); COMP_CWORD=2;'
                        ' _shtab_torc; echo "${COMPREPLY[@]}"'], capture_output=True,
                       text=True, timeout=60)
    assert {"create", "list", "export", "import", "archive"} <= set(r.stdout.split())


def test_hpc_profiles_from_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "torc.toml").write_text(
        '[hpc.profiles.mysite]\ndisplay_name = "My site"\n'
        'detection = [{env = "MYSITE", value = "1"}]\n'
        '[[hpc.profiles.mysite.partitions]]\nname = "compute"\ncpus_per_node = 64\n'
        'memory_mb = 256000\nmax_walltime_secs = 172800\n'
        '[[hpc.profiles.mysite.partitions]]\nname = "gpu"\ncpus_per_node = 32\n'
        'memory_mb = 512000\nmax_walltime_secs = 86400\ngpus_per_node = 4\n')
    env = {**os.environ, "MYSITE": "1", "XDG_CONFIG_HOME": str(tmp_path / "none")}

    def torc(*args: str) -> Any:
        r = subprocess.run([*CLI, "-f", "json", *args], cwd=tmp_path, env=env,
                           capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stderr
        return json.loads(r.stdout)

    listed = {p["name"]: p for p in torc("hpc", "list")}
    assert listed["mysite"]["detected"] and "torc.toml" in listed["mysite"]["source"]
    assert torc("hpc", "detect")["name"] == "mysite"
    (best,) = [p for p in torc("hpc", "match", "--num-gpus", "2") if p["best"]]
    assert best["name"] == "gpu"


def test_watch_of_an_ended_workflow_shows_the_end_of_its_history(coordinator: Coordinator,
                                                                 tmp_path: Path) -> None:
    # A long history (a failure event per job) arrives in many messages: watch must show its
    # last events, not whatever had arrived when it first looked at the status.
    url, c = coordinator.url, coordinator.client
    wf = c.create_workflow({"name": "many", "jobs": [
        {"name": f"j{i}", "command": "exit 1"} for i in range(2000)]})
    run_cli("run", str(wf), "--output-dir", str(tmp_path / "o"), url=url)
    r = run_cli("watch", str(wf), "--interval", "0.1", url=url)
    assert r.returncode == 1
    assert f"workflow {wf} complete" in r.stdout, r.stdout[-2000:]
