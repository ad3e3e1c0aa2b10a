"""Workflow actions: one test per statement of reference/workflow-actions.md.

Each runs against a real coordinator and real worker processes and checks what the action
commands wrote to files.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT, Coordinator, cli_json, job_states, run_cli, start_worker
from torc.errors import SpecError
from torc.spec.load import parse_text
from torc.spec.validate import normalize


def run_workflow(c: Coordinator, spec: dict[str, Any], out: Path, workers: int = 1,
                 *worker_args: str, env: dict[str, str] | None = None) -> int:
    """Create, initialize, run with ``workers`` workers to the end; returns the workflow id."""
    wf_id = c.client.create_workflow(spec)
    procs = [start_worker(c.url, wf_id, out, "--num-cpus", "2", *worker_args,
                          log_name=f"worker{k}.log", env=env) for k in range(workers)]
    c.client.initialize(wf_id)
    assert [p.wait(timeout=120) for p in procs] == [0] * workers
    return wf_id


def lines(path: Path) -> list[str]:
    return path.read_text().splitlines() if path.exists() else []


def stamp_cmd(tag: str, file: str = "events.txt") -> str:
    return f"echo {tag} $TORC_WORKER_ID $(date +%s.%N) >> {file}"


def events(out: Path) -> list[tuple[str, str, float]]:
    return [(t, w, float(ts)) for t, w, ts in (x.split() for x in lines(out / "events.txt"))]


def actions_of(c: Coordinator, wf_id: int) -> list[dict]:
    return cli_json("workflows", "list-actions", str(wf_id), url=c.url)


def test_lifecycle_order_with_racing_workers(coordinator: Coordinator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {
        "name": "lifecycle",
        "jobs": [{"name": f"job{i}", "command": stamp_cmd(f"job{i}") + "; sleep 0.2"}
                 for i in range(6)],
        "actions": [
            {"trigger_type": "on_workflow_start", "action_type": "run_commands",
             "commands": [stamp_cmd("workflow_start")]},
            {"trigger_type": "on_worker_start", "action_type": "run_commands",
             "commands": [stamp_cmd("worker_start")]},
            {"trigger_type": "on_worker_complete", "action_type": "run_commands",
             "commands": [stamp_cmd("worker_complete")]},
            {"trigger_type": "on_workflow_complete", "action_type": "run_commands",
             "commands": [stamp_cmd("workflow_complete")]},
        ],
    }
    wf_id = run_workflow(coordinator, spec, out, 3)
    ev = events(out)
    kinds = [t for t, _, _ in ev]
    # Non-persistent: once per workflow however many workers race for it.
    assert kinds.count("workflow_start") == 1 and kinds.count("workflow_complete") == 1
    # Worker-lifecycle actions are persistent by default: once per worker.
    starts = {w: ts for t, w, ts in ev if t == "worker_start"}
    completes = {w: ts for t, w, ts in ev if t == "worker_complete"}
    assert len(starts) == 3 and kinds.count("worker_start") == 3
    assert set(completes) == set(starts) and kinds.count("worker_complete") == 3
    jobs = [(w, ts) for t, w, ts in ev if t.startswith("job")]
    assert len(jobs) == 6
    for w, ts in jobs:  # a worker runs on_worker_start before it claims any job
        assert starts[w] < ts < completes[w]
    last_job = max(ts for _, ts in jobs)
    workflow_complete = next(ts for t, _, ts in ev if t == "workflow_complete")
    assert workflow_complete > last_job
    workflow_start = next(ts for t, _, ts in ev if t == "workflow_start")
    assert workflow_start < min(ts for _, ts in jobs)
    acts = actions_of(coordinator, wf_id)
    assert [len(a["executions"]) for a in acts] == [1, 3, 3, 1]
    assert [a["persistent"] for a in acts] == [False, True, True, False]


def test_worker_action_with_persistent_false_runs_once(coordinator: Coordinator,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {"name": "np", "jobs": [{"name": f"j{i}", "command": "sleep 0.1"} for i in range(4)],
            "actions": [{"trigger_type": "on_worker_start", "action_type": "run_commands",
                         "persistent": False, "commands": [stamp_cmd("once")]}]}
    run_workflow(coordinator, spec, out, 2)
    assert [t for t, _, _ in events(out)] == ["once"]


def test_on_jobs_ready_fires_only_when_all_selected_jobs_are_ready(coordinator: Coordinator,
                                                                   tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {
        "name": "ready",
        "jobs": [
            {"name": "slow", "command": "sleep 1; " + stamp_cmd("slow_end")},
            {"name": "after_slow", "command": "true", "depends_on": ["slow"]},
            {"name": "independent", "command": stamp_cmd("independent")},
        ],
        "actions": [{"trigger_type": "on_jobs_ready", "action_type": "run_commands",
                     "jobs": ["after_slow", "independent"],
                     "commands": [stamp_cmd("ready_action")]}],
    }
    wf_id = run_workflow(coordinator, spec, out)
    ev = {t: ts for t, _, ts in events(out)}
    assert "independent" in ev, "independent was ready at once and ran"
    assert ev["ready_action"] > ev["slow_end"], "the action waited for after_slow to be ready"
    (action,) = actions_of(coordinator, wf_id)
    assert (action["trigger_count"], action["required_triggers"]) == (2, 2)
    assert len(action["executions"]) == 1 and action["executions"][0]["success"]


def test_on_jobs_complete_counts_failed_and_canceled_as_terminal(coordinator: Coordinator,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {
        "name": "complete",
        "jobs": [
            {"name": "bad", "command": "exit 2"},
            {"name": "doomed", "command": "true", "depends_on": ["bad"]},
            {"name": "good", "command": "sleep 0.5; " + stamp_cmd("good_end")},
        ],
        "actions": [{"trigger_type": "on_jobs_complete", "action_type": "run_commands",
                     "jobs": ["bad", "doomed", "good"],
                     "commands": [stamp_cmd("all_terminal")]}],
    }
    wf_id = run_workflow(coordinator, spec, out)
    assert job_states(coordinator.client, wf_id) == {"bad": "failed", "doomed": "canceled",
                                                     "good": "completed"}
    ev = {t: ts for t, _, ts in events(out)}
    assert ev["all_terminal"] > ev["good_end"]


def test_regex_and_combined_selection(coordinator: Coordinator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {
        "name": "select",
        "jobs": [
            {"name": "critical_job", "command": "sleep 0.8; " + stamp_cmd("critical")},
            *({"name": f"batch_{i}", "command": stamp_cmd(f"batch_{i}")} for i in range(3)),
            {"name": "unrelated", "command": "sleep 2; " + stamp_cmd("unrelated")},
        ],
        "actions": [
            {"trigger_type": "on_jobs_complete", "action_type": "run_commands",
             "jobs": ["critical_job"], "job_name_regexes": ["batch_.*"],
             "commands": [stamp_cmd("combined")]},
            {"trigger_type": "on_jobs_complete", "action_type": "run_commands",
             "job_name_regexes": ["batch_[0-9]+"], "commands": [stamp_cmd("regex_only")]},
        ],
    }
    wf_id = run_workflow(coordinator, spec, out, 1, "--num-cpus", "8")
    ev = {t: ts for t, _, ts in events(out)}
    assert ev["combined"] > ev["critical"]
    assert ev["regex_only"] < ev["critical"], "regex-only action did not wait for critical_job"
    assert ev["combined"] < ev["unrelated"], "unselected jobs are not waited for"
    combined, regex_only = actions_of(coordinator, wf_id)
    assert sorted(combined["jobs"]) == ["batch_0", "batch_1", "batch_2", "critical_job"]
    assert combined["required_triggers"] == 4 and regex_only["required_triggers"] == 3


def test_failing_command_fails_the_action_but_not_the_workflow(coordinator: Coordinator,
                                                               tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {
        "name": "fail",
        "jobs": [{"name": "work", "command": "echo done > work.txt"}],
        "actions": [{"trigger_type": "on_workflow_start", "action_type": "run_commands",
                     "commands": ["pwd > first.txt", "cat first.txt > second.txt",
                                  "echo oops >&2; exit 3", "touch never.txt"]}],
    }
    wf_id = run_workflow(coordinator, spec, out)
    # Sequential, in the output directory; stops at the first failing command.
    assert (out / "first.txt").read_text().strip() == str(out.resolve())
    assert (out / "second.txt").read_text() == (out / "first.txt").read_text()
    assert not (out / "never.txt").exists()
    assert job_states(coordinator.client, wf_id) == {"work": "completed"}
    (action,) = actions_of(coordinator, wf_id)
    (execution,) = action["executions"]
    assert not execution["success"] and "command 3 of 4 exited 3" in execution["message"]
    assert Path(execution["stderr"]).read_text() == "oops\n"
    table = run_cli("workflows", "list-actions", str(wf_id), url=coordinator.url).stdout
    assert "FAILED" in table and "on_workflow_start" in table


def test_commands_use_the_workers_environment(coordinator: Coordinator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {"name": "env", "jobs": [{"name": "j", "command": "true"}],
            "actions": [{"trigger_type": "on_worker_start", "action_type": "run_commands",
                         "commands": ["echo $MY_SETTING $TORC_WORKFLOW_ID > env.txt"]}]}
    wf_id = run_workflow(coordinator, spec, out, 1, env={"MY_SETTING": "from-the-worker"})
    assert (out / "env.txt").read_text().split() == ["from-the-worker", str(wf_id)]


def test_persistent_job_action_runs_at_most_once_per_worker(coordinator: Coordinator,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {
        "name": "persist",
        "jobs": [{"name": "first", "command": "true"},
                 *({"name": f"later_{i}", "command": "sleep 0.3", "depends_on": ["first"]}
                   for i in range(6))],
        "actions": [{"trigger_type": "on_jobs_complete", "action_type": "run_commands",
                     "jobs": ["first"], "persistent": True,
                     "commands": [stamp_cmd("per_worker")]}],
    }
    wf_id = run_workflow(coordinator, spec, out, 2)
    ev = [w for t, w, _ in events(out) if t == "per_worker"]
    assert len(ev) == len(set(ev)) and 1 <= len(ev) <= 2
    (action,) = actions_of(coordinator, wf_id)
    assert len(action["executions"]) == len(ev)


def test_reinitialization_scenario_from_the_document(coordinator: Coordinator,
                                                     tmp_path: Path) -> None:
    out = tmp_path / "out"
    marker = tmp_path / "job1_may_succeed"
    spec = {
        "name": "reinit",
        "jobs": [
            {"name": "job1", "command": f"test -f {marker}"},
            {"name": "job2", "command": "true"},
            {"name": "postprocess_job", "command": "true", "depends_on": ["job1", "job2"]},
        ],
        "actions": [{"trigger_type": "on_jobs_ready", "action_type": "run_commands",
                     "jobs": ["postprocess_job"], "commands": [stamp_cmd("post_ready")]}],
    }
    c = coordinator.client
    wf_id = run_workflow(coordinator, spec, out)
    # 1. job1 fails, job2 succeeds: postprocess_job never became ready.
    assert job_states(c, wf_id) == {"job1": "failed", "job2": "completed",
                                    "postprocess_job": "canceled"}
    assert events(out) == []
    # 2. Reset failed jobs and reinitialize; job2 stays completed.
    marker.touch()
    c.reset_status(wf_id, failed_only=True)
    c.reinitialize(wf_id)
    assert job_states(c, wf_id)["job2"] == "completed"
    (action,) = actions_of(coordinator, wf_id)
    assert action["trigger_count"] == 0 and not action["pending"]
    # 3. When job1 completes in the second run, postprocess_job becomes ready: the action fires.
    worker = start_worker(coordinator.url, wf_id, out)
    assert worker.wait(timeout=60) == 0
    assert [t for t, _, _ in events(out)] == ["post_ready"]
    (action,) = actions_of(coordinator, wf_id)
    assert action["executions"][-1]["run_id"] == 2


def test_reinitialize_rearms_executed_actions(coordinator: Coordinator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {"name": "rearm", "jobs": [{"name": "j", "command": "true"}],
            "actions": [{"trigger_type": "on_workflow_start", "action_type": "run_commands",
                         "commands": [stamp_cmd("start")]}]}
    c = coordinator.client
    wf_id = run_workflow(coordinator, spec, out)
    c.reinitialize(wf_id)
    assert start_worker(coordinator.url, wf_id, out).wait(timeout=60) == 0
    assert [t for t, _, _ in events(out)] == ["start", "start"]


def test_max_retries_reruns_a_failed_action(coordinator: Coordinator, tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {"name": "retry", "jobs": [{"name": "j", "command": "true"}],
            "actions": [{"trigger_type": "on_workflow_start", "action_type": "run_commands",
                         "max_retries": 2,
                         "commands": [stamp_cmd("attempt"),
                                      "test -f flag || (touch flag; exit 1)"]}]}
    wf_id = run_workflow(coordinator, spec, out)
    assert [t for t, _, _ in events(out)] == ["attempt", "attempt"]
    (action,) = actions_of(coordinator, wf_id)
    assert [e["success"] for e in action["executions"]] == [False, True]


def test_without_max_retries_a_failed_action_is_not_retried(coordinator: Coordinator,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    spec = {"name": "noretry", "jobs": [{"name": "j", "command": "true"}],
            "actions": [{"trigger_type": "on_workflow_start", "action_type": "run_commands",
                         "commands": [stamp_cmd("attempt"), "exit 1"]}]}
    run_workflow(coordinator, spec, out, 2)
    assert [t for t, _, _ in events(out)] == ["attempt"]


def test_worker_does_not_exit_while_an_action_is_pending(coordinator: Coordinator,
                                                         tmp_path: Path) -> None:
    """The last job's report makes on_workflow_complete pending; the worker must run it."""
    out = tmp_path / "out"
    spec = {"name": "last", "jobs": [{"name": "j", "command": "true"}],
            "actions": [{"trigger_type": "on_workflow_complete", "action_type": "run_commands",
                         "commands": ["sleep 0.5", stamp_cmd("final")]}]}
    wf_id = run_workflow(coordinator, spec, out)
    assert [t for t, _, _ in events(out)] == ["final"]
    assert actions_of(coordinator, wf_id)[0]["executions"][0]["success"]


def test_document_examples_run_unchanged(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli("-f", "json", "run", str(ROOT / "examples" / "workflow_actions.yaml"),
                "--output-dir", str(out))
    # Every job completes, but the on_workflow_complete action fails (no `aws` here): the
    # run says so and exits 1 rather than claiming success.
    assert r.returncode == 1, r.stderr
    summary = json.loads(r.stdout)
    assert summary["job_counts"]["completed"] == 6 and summary["failed_jobs"] == []
    (failed,) = summary["failed_actions"]
    assert "aws s3 cp" in failed["message"]
    assert (out / "logs" / "status.txt").read_text() == "Workflow started\n"
    log = lines(out / "workflow.log")
    assert log == ["Workflow started at $(date)", "Preprocessing phase complete"]
    worker_log = lines(out / "worker.log")
    assert len(worker_log) == 2 and worker_log[0].startswith("Worker started on ")
    assert worker_log[1].startswith("Worker completed on ")
    assert not (out / "worker_temp").exists()  # removed by on_worker_complete
    assert (out / "results.tar.gz").exists()
    # `aws` is not installed: the on_workflow_complete action failed before `rm -rf temp/`.
    assert (out / "temp").is_dir()
    assert not (out / "coordinator" / "coordinator.json").exists(), "embedded coordinator stopped"


BASE = "name: x\njobs:\n  - {name: a, command: 'true'}\n  - {name: b_1, command: 'true'}\n"


@pytest.mark.parametrize(("actions", "message"), [
    ("- {trigger_type: on_sunrise, action_type: run_commands, commands: [x]}",
     "unknown trigger_type 'on_sunrise'"),
    ("- {trigger_type: on_workflow_start, action_type: send_email, commands: [x]}",
     "unknown action_type 'send_email'"),
    ("- {trigger_type: on_workflow_start, action_type: run_commands}",
     "run_commands needs 'commands'"),
    ("- {action_type: run_commands, commands: [x]}", "missing required key 'trigger_type'"),
    ("- {trigger_type: on_jobs_ready, action_type: run_commands, commands: [x]}",
     "on_jobs_ready needs 'jobs' or 'job_name_regexes'"),
    ("- {trigger_type: on_jobs_ready, action_type: run_commands, jobs: [nope], commands: [x]}",
     "jobs: unknown job 'nope'"),
    ("- {trigger_type: on_jobs_complete, action_type: run_commands, "
     "job_name_regexes: ['z.*'], commands: [x]}", "'z.*' matches no job"),
    ("- {trigger_type: on_jobs_complete, action_type: run_commands, "
     "job_name_regexes: ['('], commands: [x]}", "invalid regex '('"),
    ("- {trigger_type: on_workflow_complete, action_type: run_commands, jobs: [a], "
     "commands: [x]}", "'jobs' does not belong to a on_workflow_complete action"),
    ("- {trigger_type: on_workflow_start, action_type: run_commands, jobs: [nope], "
     "commands: [x]}", "jobs: unknown job 'nope'"),
    ("- {trigger_type: on_workflow_start, action_type: run_commands, commands: [x], "
     "scheduler: s}", "'scheduler' does not belong to action_type 'run_commands'"),
    ("- {trigger_type: on_workflow_start, action_type: schedule_nodes, scheduler: s, "
     "scheduler_type: slurm, num_allocations: 1, commands: [x]}",
     "'commands' does not belong to action_type 'schedule_nodes'"),
    ("- {trigger_type: on_workflow_start, action_type: schedule_nodes, scheduler: nowhere, "
     "scheduler_type: slurm, num_allocations: 1}", "scheduler 'nowhere' is not in"),
    ("- {trigger_type: on_workflow_start, action_type: schedule_nodes, scheduler: s, "
     "scheduler_type: pbs, num_allocations: 1}", "scheduler_type must be 'slurm'"),
    ("- {trigger_type: on_workflow_start, action_type: schedule_nodes, scheduler: s, "
     "scheduler_type: slurm}", "schedule_nodes needs 'num_allocations'"),
    ("- {trigger_type: on_workflow_start, action_type: run_commands, commands: [x], "
     "colour: red}", "'colour' is an unknown key"),
])
def test_invalid_actions_are_creation_errors(actions: str, message: str) -> None:
    text = BASE + "slurm_schedulers:\n  - {name: s, account: acct, walltime: '01:00:00'}\n" \
        + "actions:\n  " + actions + "\n"
    with pytest.raises(SpecError) as e:
        normalize(parse_text(text, "w.yaml"), "w.yaml")
    assert message in e.value.message and "actions[0]" in e.value.message


def test_start_one_worker_per_node_conflicts_with_slurm_execution_mode() -> None:
    text = BASE + ("slurm_schedulers:\n  - {name: s, account: acct}\n"
                   "execution_config: {mode: slurm}\nactions:\n"
                   "  - {trigger_type: on_workflow_start, action_type: schedule_nodes, "
                   "scheduler: s, scheduler_type: slurm, num_allocations: 1, "
                   "start_one_worker_per_node: true}\n")
    with pytest.raises(SpecError, match="not compatible with execution_config.mode: slurm"):
        normalize(parse_text(text))


def test_the_coordinator_rejects_invalid_actions_and_creates_nothing(
        coordinator: Coordinator, tmp_path: Path) -> None:
    spec = tmp_path / "bad.yaml"
    spec.write_text(BASE + "actions:\n  - {trigger_type: on_jobs_ready, "
                    "action_type: run_commands, jobs: [ghost], commands: [x]}\n")
    r = run_cli("workflows", "create", str(spec), url=coordinator.url)
    assert r.returncode == 1 and "unknown job 'ghost'" in r.stderr
    assert coordinator.client.list_workflows() == []


def test_list_actions_shows_progress(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "p", "jobs": [
        {"name": "a", "command": "true"}, {"name": "b", "command": "true", "depends_on": ["a"]}],
        "actions": [{"trigger_type": "on_jobs_ready", "action_type": "run_commands",
                     "jobs": ["a", "b"], "commands": ["true"]}]})
    (before,) = actions_of(coordinator, wf_id)
    progress = (before["trigger_count"], before["required_triggers"], before["pending"])
    assert progress == (0, 2, False)
    c.initialize(wf_id)  # answered once applied and durable: no wait needed
    (after,) = actions_of(coordinator, wf_id)
    assert (after["trigger_count"], after["pending"]) == (1, False)
    assert after["trigger_type"] == "on_jobs_ready" and after["action_type"] == "run_commands"


def test_an_action_made_pending_while_another_runs_is_run_and_the_worker_exits(
        coordinator: Coordinator, tmp_path: Path) -> None:
    """b ends while the action of a's completion runs: the report's answer says another
    action is pending. The worker must run it, then see the workflow done and exit (it used
    to lose that news and wait forever with nothing running)."""
    out = tmp_path / "out"
    torc = f"{sys.executable} -m torc.client.cli --url $TORC_URL -f json"
    b_done = (f"until {torc} jobs list $TORC_WORKFLOW_ID --status completed --name '^b$' "
              "| grep -q '\"b\"'; do sleep 0.1; done")
    spec = {"name": "overlap", "jobs": [
        {"name": "a", "command": "true"},
        {"name": "b", "command": "until [ -e a_action_started ]; do sleep 0.05; done"}],
        "actions": [
            {"trigger_type": "on_jobs_complete", "action_type": "run_commands", "jobs": ["a"],
             # Ends only once b's end is applied (and its answer, after an fsync, is on the
             # way to the worker): that answer arrives while this action runs.
             "commands": ["touch a_action_started", b_done, "sleep 1", stamp_cmd("after_a")]},
            {"trigger_type": "on_jobs_complete", "action_type": "run_commands", "jobs": ["b"],
             "commands": [stamp_cmd("after_b")]}]}
    run_workflow(coordinator, spec, out)
    assert sorted(t for t, _, _ in events(out)) == ["after_a", "after_b"]


def test_no_resource_warning_while_actions_hold_the_jobs_back(coordinator: Coordinator,
                                                              tmp_path: Path) -> None:
    """While an action is pending the coordinator hands out no job, so its answer counts
    ready jobs the worker did not get; that is not 'too little room', and the log must not
    say so."""
    out = tmp_path / "out"
    spec = {"name": "held", "jobs": [
        {"name": "a", "command": "true"},
        *({"name": f"b{i}", "command": "true", "depends_on": ["a"]} for i in range(3))],
        "actions": [{"trigger_type": "on_jobs_complete", "action_type": "run_commands",
                     "jobs": ["a"], "commands": [stamp_cmd("after_a")]}]}
    run_workflow(coordinator, spec, out)
    log = (out / "worker0.log").read_text()
    assert "running action" in log and "need more resources" not in log
