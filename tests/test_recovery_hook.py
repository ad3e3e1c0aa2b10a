"""``--recovery-hook`` on ``torc recover`` and ``torc watch --recover``, as Torc has it: for
jobs that failed for a reason torc cannot mend (not memory, not time) the user's script runs
with the workflow id as its last argument and in ``TORC_WORKFLOW_ID``, before the jobs are
reset; its changes are what the rerun sees; a failing hook stops the recovery."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.conftest import Coordinator, cli_rows, run_cli

# Fails until the hook has written the file the job needs.
NEEDS_FIX = "test -f {fixed} || exit 3"


def _hook(tmp_path: Path, body: str) -> Path:
    hook = tmp_path / "fix.sh"
    hook.write_text("#!/bin/sh\n" + body)
    hook.chmod(hook.stat().st_mode | stat.S_IXUSR)
    return hook


def test_recover_runs_the_hook_before_the_jobs_run_again(coordinator: Coordinator,
                                                         tmp_path: Path) -> None:
    url, out, fixed = coordinator.url, tmp_path / "out", tmp_path / "fixed"
    wf_id = coordinator.client.create_workflow({
        "name": "hooked", "jobs": [{"name": "needs_fix",
                                    "command": NEEDS_FIX.format(fixed=fixed)},
                                   {"name": "after", "command": "true",
                                    "depends_on": ["needs_fix"]}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 1
    hook = _hook(tmp_path, f'echo "hook got $1 env $TORC_WORKFLOW_ID"\n'
                           f'torc jobs list "$1" -f json > {tmp_path}/seen.json\n'
                           f'touch {fixed}\n')
    # Without --retry-unknown: the hook alone makes an unknown failure worth retrying.
    r = run_cli("recover", str(wf_id), "--recovery-hook", f"sh {hook}",
                "--output-dir", str(out), url=url, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert f"[hook] hook got {wf_id} env {wf_id}" in r.stdout
    # The hook reached the coordinator the recovery uses (TORC_URL) and ran before the reset.
    assert '"status": "failed"' in (tmp_path / "seen.json").read_text()
    states = {j["name"]: j["status"] for j in cli_rows("jobs", "list", str(wf_id), url=url)}
    assert states == {"needs_fix": "completed", "after": "completed"}


def test_a_failing_hook_stops_the_recovery_and_changes_nothing(coordinator: Coordinator,
                                                               tmp_path: Path) -> None:
    url, out = coordinator.url, tmp_path / "out"
    wf_id = coordinator.client.create_workflow({
        "name": "hook_fails", "jobs": [{"name": "bad", "command": "exit 3"}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 1
    hook = _hook(tmp_path, "echo cannot mend this >&2\nexit 4\n")
    r = run_cli("recover", str(wf_id), "--recovery-hook", str(hook), "--output-dir", str(out),
                url=url, timeout=300)
    assert r.returncode == 1
    assert "recovery hook" in r.stderr and "exit code 4" in r.stderr, r.stderr
    assert "cannot mend this" in r.stderr
    (job,) = cli_rows("jobs", "list", str(wf_id), url=url)
    assert job["status"] == "failed" and job["attempt_id"] == 1
    # A hook that cannot start says which.
    r = run_cli("recover", str(wf_id), "--recovery-hook", "'unclosed", url=url)
    assert r.returncode == 1 and "--recovery-hook" in r.stderr, r.stderr


def test_watch_recover_uses_the_hook_each_round(coordinator: Coordinator,
                                                tmp_path: Path) -> None:
    url, out, fixed = coordinator.url, tmp_path / "out", tmp_path / "fixed"
    wf_id = coordinator.client.create_workflow({
        "name": "watch_hook", "jobs": [{"name": "needs_fix",
                                        "command": NEEDS_FIX.format(fixed=fixed)}]})
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 1
    hook = _hook(tmp_path, f"echo round >> {tmp_path}/rounds\ntouch {fixed}\n")
    r = run_cli("watch", str(wf_id), "--interval", "0.2", "--recover", "--recovery-hook",
                str(hook), "--output-dir", str(out), url=url, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "rounds").read_text() == "round\n"
    attempts = cli_rows("results", "list", str(wf_id), "--all-runs", url=url)
    assert [x["return_code"] for x in attempts] == [3, 0]
