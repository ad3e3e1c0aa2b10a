"""Failure handlers as Torc has them, with real workers: retries by exit code, recovery scripts,
max_retries, match_all_exit_codes, use_pending_failed, and a coordinator crash between a
failure and its retry."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import (
    Coordinator,
    cli_rows,
    job_states,
    run_cli,
    start_worker,
    wait_for,
)

# Fails with 2 until its third attempt (a counter in the output directory).
FLAKY = ('n=$(cat count 2>/dev/null || echo 0); n=$((n+1)); echo $n > count; '
         'echo "attempt $TORC_ATTEMPT_ID"; [ $n -ge 3 ] || exit 2')
RECORD = 'echo "$TORC_JOB_NAME $TORC_ATTEMPT_ID $TORC_RETURN_CODE" >> recovery.log'


def _handler(**rule: object) -> list[dict]:
    return [{"name": "retry", "rules": [rule]}]


def _attempts(url: str, wf_id: int) -> list[tuple[str, int, int, str]]:
    return [(r["job_name"], r["attempt_id"], r["return_code"], r["status"])
            for r in cli_rows("results", "list", str(wf_id), "--all-runs", url=url)]


def test_a_retryable_failure_runs_again_after_its_recovery_script(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url, out = coordinator.url, tmp_path / "out"
    wf_id = coordinator.client.create_workflow({
        "name": "flaky", "failure_handlers": _handler(exit_codes=[2], max_retries=3,
                                                      recovery_script=RECORD),
        "jobs": [{"name": "flaky", "command": FLAKY, "failure_handler": "retry"},
                 {"name": "after", "command": "true", "depends_on": ["flaky"]}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 0
    assert _attempts(url, wf_id) == [("flaky", 1, 2, "failed"), ("flaky", 2, 2, "failed"),
                                     ("flaky", 3, 0, "completed"),
                                     ("after", 1, 0, "completed")]
    # The script ran before each retry, with the failed attempt's values.
    assert (tmp_path / "recovery.log").read_text().splitlines() == ["flaky 1 2", "flaky 2 2"]
    # Each attempt kept its own stdio; the script's output is beside it.
    for a in (1, 2, 3):
        assert (out / "job_stdio" / f"job_wf{wf_id}_j1_r1_a{a}.o").read_text() == \
            f"attempt {a}\n"
    assert (out / "job_stdio" / f"job_wf{wf_id}_j1_r1_a1.recovery.o").exists()
    messages = [r["message"] for r in cli_rows("results", "list", str(wf_id), "--all-runs",
                                               url=url)]
    assert messages[:2] == ["retrying as attempt 2 of 3", "retrying as attempt 3 of 3"]


def test_max_retries_exhausted_fails_the_job_and_cancels_dependents(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({
        "name": "exhaust", "failure_handlers": _handler(exit_codes=[2], max_retries=2),
        "jobs": [{"name": "bad", "command": "exit 2", "failure_handler": "retry"},
                 {"name": "after", "command": "true", "depends_on": ["bad"]}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(tmp_path / "o"), url=url).returncode == 1
    assert _attempts(url, wf_id) == [("bad", 1, 2, "failed"), ("bad", 2, 2, "failed")]
    assert job_states(coordinator.client, wf_id) == {"bad": "failed", "after": "canceled"}
    last = cli_rows("results", "list", str(wf_id), url=url)[0]
    assert last["message"] == "max_retries (2) reached"


def test_an_exit_code_no_rule_matches_fails_at_once(coordinator: Coordinator,
                                                    tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({
        "name": "nomatch", "failure_handlers": _handler(exit_codes=[2, 3]),
        "jobs": [{"name": "bad", "command": "exit 5", "failure_handler": "retry"}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(tmp_path / "o"), url=url).returncode == 1
    assert _attempts(url, wf_id) == [("bad", 1, 5, "failed")]


def test_a_failing_recovery_script_fails_the_job(coordinator: Coordinator,
                                                 tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({
        "name": "badscript",
        "failure_handlers": _handler(exit_codes=[2], recovery_script="echo no >&2; exit 9"),
        "jobs": [{"name": "bad", "command": "exit 2", "failure_handler": "retry"}]})
    out = tmp_path / "o"
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 1
    assert _attempts(url, wf_id) == [("bad", 1, 2, "failed")]
    (res,) = cli_rows("results", "list", str(wf_id), url=url)
    assert res["message"] == "the recovery script failed with return code 9"
    assert (out / "job_stdio" / f"job_wf{wf_id}_j1_r1_a1.recovery.e").read_text() == "no\n"


def test_match_all_exit_codes_and_specific_rules_first(coordinator: Coordinator,
                                                       tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = coordinator.client.create_workflow({
        "name": "matchall",
        "failure_handlers": [{"name": "h", "rules": [
            {"match_all_exit_codes": True, "max_retries": 2},
            {"exit_codes": [7], "max_retries": 3}]}],
        "jobs": [{"name": "seven", "command": "exit 7", "failure_handler": "h"},
                 {"name": "nine", "command": "exit 9", "failure_handler": "h"}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(tmp_path / "o"), url=url).returncode == 1
    attempts = _attempts(url, wf_id)
    # exit 7 has a rule of its own (3 attempts); exit 9 falls to match_all (2 attempts).
    assert sorted(a[:2] for a in attempts) == [("nine", 1), ("nine", 2), ("seven", 1),
                                               ("seven", 2), ("seven", 3)]


def test_use_pending_failed_holds_dependents_until_reset(coordinator: Coordinator,
                                                         tmp_path: Path) -> None:
    url, c = coordinator.url, coordinator.client
    wf_id = c.create_workflow({
        "name": "pending", "use_pending_failed": True,
        "compute_node_wait_for_new_jobs_seconds": 1,
        "jobs": [{"name": "bad", "command": "test -e fixed || exit 4"},
                 {"name": "after", "command": "true", "depends_on": ["bad"]}]})
    out = tmp_path / "o"
    r = run_cli("run", str(wf_id), "--output-dir", str(out), url=url)
    assert r.returncode == 1
    assert job_states(c, wf_id) == {"bad": "pending_failed", "after": "blocked"}
    # The run says why it waits, and what ends the wait.
    assert "1 job(s) pending_failed" in r.stdout and f"torc recover {wf_id}" in r.stdout
    assert not c.get_workflow(wf_id).complete
    (tmp_path / "fixed").touch()  # where the jobs run
    run_cli("workflows", "reset-status", str(wf_id), "--failed-only", "--reinitialize",
            url=url, check=True)
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 0
    assert job_states(c, wf_id) == {"bad": "completed", "after": "completed"}


def test_a_coordinator_crash_between_failure_and_retry_neither_loses_nor_doubles(
        coordinator: Coordinator, tmp_path: Path) -> None:
    c, out = coordinator.client, tmp_path / "out"
    wf_id = c.create_workflow({
        "name": "crash", "failure_handlers": _handler(exit_codes=[2], max_retries=3),
        "jobs": [{"name": "j", "failure_handler": "retry", "command":
                  'echo "$TORC_ATTEMPT_ID" >> runs; '
                  'if [ "$TORC_ATTEMPT_ID" = 1 ]; then while [ ! -e go ]; do sleep 0.05; '
                  'done; exit 2; fi'}]})
    c.initialize(wf_id)
    worker = start_worker(coordinator.url, wf_id, out)
    wait_for(lambda: job_states(c, wf_id)["j"] == "running")
    coordinator.kill9()
    (out / "go").touch()  # attempt 1 fails while the coordinator is down
    coordinator.start()
    assert worker.wait(timeout=120) == 0
    c = coordinator.client
    assert (out / "runs").read_text().split() == ["1", "2"]
    assert _attempts(coordinator.url, wf_id) == [("j", 1, 2, "failed"), ("j", 2, 0, "completed")]
    # And a restart replays the same decision.
    coordinator.restart()
    assert _attempts(coordinator.url, wf_id) == [("j", 1, 2, "failed"), ("j", 2, 0, "completed")]
