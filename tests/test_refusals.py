"""Bad input is refused with a clear message and changes nothing: flags that cannot mean
anything (NaN, infinities, zero intervals, ports out of range), an empty id list that would
reset every job, user data that is not finite JSON, JSON specs with duplicate keys, a worker
that cannot register."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Coordinator, run_cli, start_worker
from torc import states as S


def serve_once(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "torc.server.main", "serve", "--data-dir",
                           str(tmp_path / "never"), *flags], capture_output=True, text=True,
                          timeout=60)


@pytest.mark.parametrize("flags", [
    ("--heartbeat-interval", "0"), ("--heartbeat-interval", "nan"),
    ("--heartbeat-interval", "-1"), ("--snapshot-every", "0"), ("--max-message-mb", "-1"),
    ("--max-message-mb", "0"), ("--port", "99999"), ("--port", "-1"),
    ("--slurm-poll-interval", "inf")])
def test_the_coordinator_refuses_flags_that_cannot_mean_anything(tmp_path: Path,
                                                                  flags: tuple[str, ...]) -> None:
    r = serve_once(tmp_path, *flags)
    assert r.returncode == 2, r.stderr
    assert flags[0] in r.stderr and "Traceback" not in r.stderr
    assert not (tmp_path / "never").exists()


def test_a_config_file_value_is_checked_like_its_flag(tmp_path: Path) -> None:
    (tmp_path / "torc.toml").write_text("[server]\nheartbeat_interval = 0.0\n")
    r = subprocess.run([sys.executable, "-m", "torc.server.main", "serve", "--data-dir",
                        str(tmp_path / "never"), "--port", "0"], capture_output=True,
                       text=True, timeout=60, cwd=tmp_path)
    assert r.returncode == 2 and "--heartbeat-interval" in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["inf", "nan", "0", "-2"])
def test_multipliers_must_be_finite_and_positive(coordinator: Coordinator, value: str) -> None:
    wf = coordinator.client.create_workflow({"name": "w", "jobs": [
        {"name": "a", "command": "true"}]})
    r = run_cli("workflows", "correct-resources", str(wf), "--memory-multiplier", value,
                url=coordinator.url)
    assert r.returncode == 2 and "--memory-multiplier" in r.stderr, r.stderr


@pytest.mark.parametrize("flags", [("--idle-timeout", "nan"), ("--idle-timeout", "-5"),
                                   ("--end-buffer", "inf"), ("--num-cpus", "0")])
def test_the_worker_refuses_flags_that_cannot_mean_anything(flags: tuple[str, ...],
                                                            tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "torc.worker.main", "--url", "127.0.0.1:1",
                        "--workflow-id", "1", "--output-dir", str(tmp_path / "out"), *flags],
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 2 and flags[0] in r.stderr, r.stderr


def test_a_worker_that_cannot_register_says_so_in_one_line(coordinator: Coordinator,
                                                           tmp_path: Path) -> None:
    out = tmp_path / "out"
    w = start_worker(coordinator.url, 999, out, log_name="missing.log")
    assert w.wait(timeout=120) != 0
    text = (out / "missing.log").read_text()
    assert "Traceback" not in text and "cannot start" in text and "999" in text, text
    w = start_worker(coordinator.url, 1, out, log_name="token.log",
                     env={"TORC_TOKEN": "not-the-token"})
    assert w.wait(timeout=120) != 0
    text = (out / "token.log").read_text()
    assert "Traceback" not in text and "cannot start" in text, text


def test_an_empty_job_id_list_resets_nothing(coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf = c.create_workflow({"name": "w", "jobs": [{"name": f"j{i}", "command": "true"}
                                                  for i in range(3)]})
    c.initialize(wf)
    assert start_worker(coordinator.url, wf, tmp_path / "out").wait(timeout=120) == 0
    for ids in ("", " ", ","):
        r = run_cli("jobs", "reset-status", str(wf), "--job-ids", ids, url=coordinator.url)
        assert r.returncode != 0 and "--job-ids" in r.stderr, r.stderr
    assert {j.status for j in c.list_jobs(wf)} == {S.COMPLETED}


@pytest.mark.parametrize("value", ["NaN", "Infinity", "1e999", '{"a": -Infinity}'])
def test_user_data_must_be_finite_json(coordinator: Coordinator, tmp_path: Path,
                                       value: str) -> None:
    c = coordinator.client
    spec = tmp_path / "spec.json"
    spec.write_text('{"name": "w", "user_data": [{"name": "d", "data": 1}], '
                    '"jobs": [{"name": "a", "command": "true"}]}')
    wf = c.create_workflow(spec)
    data_id = c.page("ListUserData", wf).user_data[0].id
    r = run_cli("user-data", "update", str(data_id), "--workflow-id", str(wf), "--data", value,
                url=coordinator.url)
    assert r.returncode != 0 and "finite" in r.stderr, r.stderr
    r = run_cli("-f", "json", "user-data", "list", str(wf), url=coordinator.url, check=True)
    import json
    json.loads(r.stdout)  # still valid JSON


@pytest.mark.parametrize("suffix", [".json", ".json5"])
def test_duplicate_keys_in_a_json_spec_are_refused_naming_the_line(tmp_path: Path,
                                                                   suffix: str) -> None:
    spec = tmp_path / f"dup{suffix}"
    spec.write_text('{\n  "name": "w",\n  "jobs": [\n    {"name": "a", "command": "true",\n'
                    '     "command": "rm -rf data"}\n  ]\n}\n')
    r = run_cli("workflows", "create", str(spec), url="127.0.0.1:1")  # refused before any call
    assert r.returncode != 0, r.stdout
    assert "command" in r.stderr and "duplicate" in r.stderr.lower(), r.stderr
    assert f"{spec.name}:5:" in r.stderr, r.stderr


@pytest.mark.parametrize("value", ["@/dev/zero", "@/etc/passwd", "@../outside.txt",
                                   "@link.txt", "@~/.torc/token", "@fifo"])
def test_a_parameter_file_must_be_a_regular_file_beside_the_spec(tmp_path: Path,
                                                                 value: str) -> None:
    spec_dir = tmp_path / "specs"
    spec_dir.mkdir()
    (tmp_path / "outside.txt").write_text("secret-1\nsecret-2\n")
    (spec_dir / "link.txt").symlink_to(tmp_path / "outside.txt")
    os.mkfifo(spec_dir / "fifo")
    (spec_dir / "values.txt").write_text("1\n2\n")
    spec = spec_dir / "w.yaml"
    spec.write_text(f'name: w\njobs:\n  - name: "j_{{x}}"\n    command: echo {{x}}\n'
                    f'    parameters: {{x: "{value}"}}\n')
    r = run_cli("workflows", "create", str(spec), url="127.0.0.1:1", timeout=60)
    assert r.returncode != 0 and value in r.stderr, r.stderr
    assert "secret" not in r.stderr and "cannot reach" not in r.stderr, r.stderr
    # The same spec with a file beside it loads (and fails only for want of a coordinator).
    spec.write_text(spec.read_text().replace(value, "@values.txt"))
    r = run_cli("workflows", "create", str(spec), url="127.0.0.1:1", timeout=60)
    assert "cannot reach" in r.stderr, r.stderr
