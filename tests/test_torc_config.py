"""Torc's configuration files and variables work here: the keys of Torc's configuration
reference (``core/reference/configuration.md``) and its tutorial
(``specialized/tools/configuration.md``) are read with their effect, a Torc ``api_url`` gets
a message saying what to set instead, and an unknown key still fails naming the file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.conftest import Coordinator, free_port, wait_for, write_spec
from torc.client import TorcClient

CLI = [sys.executable, "-m", "torc.client.cli"]

# The reference's "Complete Example", as a Torc user has it in ~/.config/torc/config.toml.
TORC_COMPLETE = """
[client]
api_url = "http://localhost:8080/torc-service/v1"
format = "table"
log_level = "info"
username = "developer"

[client.run]
poll_interval = 5.0
output_dir = "output"
num_cpus = 8
memory_gb = 32.0
num_gpus = 1

[server]
log_level = "info"
https = false
url = "localhost"
port = 8080
threads = 4
database = "/var/lib/torc/torc.db"
auth_file = "/etc/torc/htpasswd"
require_auth = true
enforce_access_control = true
admin_users = ["alice", "bob"]
completion_check_interval_secs = 30.0

[server.logging]
log_dir = "/var/log/torc"
json_logs = false

[dash]
host = "127.0.0.1"
port = 8090
api_url = "http://localhost:8080/torc-service/v1"
torc_bin = "torc"
torc_server_bin = "torc-server"
standalone = false
server_port = 0
completion_check_interval_secs = 5
"""


def _torc(home: Path, cwd: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "TORC_URL"}
    environment.update(XDG_CONFIG_HOME=str(home), **env)
    return subprocess.run([*CLI, *args], cwd=cwd, env=environment, capture_output=True,
                          text=True, timeout=120)


def _user_config(tmp_path: Path, text: str) -> Path:
    home = tmp_path / "home"
    (home / "torc").mkdir(parents=True, exist_ok=True)
    (home / "torc" / "config.toml").write_text(text)
    return home


def test_torc_s_complete_example_is_valid_and_says_what_has_no_effect(tmp_path: Path) -> None:
    home = _user_config(tmp_path, TORC_COMPLETE)
    r = _torc(home, tmp_path, "config", "validate")
    assert r.returncode == 0, r.stderr
    assert "configuration is valid" in r.stdout
    # Keys that cannot mean anything here say why, and what to use.
    assert "[server] threads" in r.stdout and "[server] database" in r.stdout
    assert "[client] api_url" in r.stdout and 'url = "HOST:PORT"' in r.stdout
    shown = {row["setting"]: row for row in json.loads(
        _torc(home, tmp_path, "-f", "json", "config", "show").stdout)}
    assert shown["[client.run] memory_gb"]["value"] == 32.0
    assert shown["[server] threads"]["note"] and not shown["[client.run] num_cpus"]["note"]


def test_a_torc_api_url_alone_says_which_url_to_set(tmp_path: Path) -> None:
    home = _user_config(tmp_path, '[client]\napi_url = "http://h:8080/torc-service/v1"\n')
    r = _torc(home, tmp_path, "workflows", "list")
    assert "api_url" in r.stderr and 'url = "HOST:PORT"' in r.stderr, r.stderr
    assert "TORC_URL" in r.stderr


def test_client_keys_take_effect(coordinator: Coordinator, tmp_path: Path) -> None:
    home = _user_config(tmp_path, f"""
[client]
url = "{coordinator.url}"
format = "json"
log_level = "debug"
username = "nobody_else"

[client.run]
poll_interval = 0.5
output_dir = "workflow_output"
num_cpus = 3
memory_gb = 2.5
""")
    spec = write_spec(tmp_path, {"name": "cfg", "jobs": [{"name": "a", "command": "true"}]})
    r = _torc(home, tmp_path, "run", spec.name)
    assert r.returncode == 0, r.stderr
    summary = json.loads(r.stdout)  # [client] format = "json"
    assert Path(summary["output_dir"]) == tmp_path / "workflow_output"
    (worker,) = [w for w in json.loads(_torc(home, tmp_path, "workers", "list",
                                             str(summary["id"])).stdout)["compute_nodes"]
                 if w["role"] == "worker"]
    assert worker["num_cpus"] == 3 and worker["memory"] == "2560m"  # 2.5 GiB
    # The worker logs at the client's level: debug lines are in its log.
    (log,) = (tmp_path / "workflow_output").glob("job_runner_*.log")
    assert " DEBUG " in log.read_text()
    # [client] username: whose workflows are listed (none are nobody_else's).
    assert json.loads(_torc(home, tmp_path, "workflows", "list").stdout) == {"workflows": []}
    assert len(json.loads(_torc(home, tmp_path, "workflows", "list",
                                "--all-users").stdout)["workflows"]) == 1
    # Torc's variables (double underscore) beat the file; a flag beats both.
    r = _torc(home, tmp_path, "run", spec.name, TORC_CLIENT__RUN__OUTPUT_DIR="from_env",
              TORC_CLIENT__FORMAT="table")
    assert r.returncode == 0 and (tmp_path / "from_env" / "job_stdio").is_dir()
    assert not r.stdout.startswith("{")
    r = _torc(home, tmp_path, "run", spec.name, "-o", "from_flag",
              TORC_CLIENT__RUN__OUTPUT_DIR="from_env")
    assert r.returncode == 0 and (tmp_path / "from_flag" / "job_stdio").is_dir()


def test_bad_settings_name_the_file_or_variable(tmp_path: Path) -> None:
    home = _user_config(tmp_path, '[client]\nlog_level = "loud"\n')
    r = _torc(home, tmp_path, "config", "show")
    assert r.returncode == 2 and "config.toml" in r.stderr and "log_level" in r.stderr
    home = _user_config(tmp_path, '[client.run]\nouput_dir = "typo"\n')
    r = _torc(home, tmp_path, "config", "show")
    assert r.returncode == 2 and "unknown key [client.run] ouput_dir" in r.stderr
    home = _user_config(tmp_path, "")
    r = _torc(home, tmp_path, "config", "show", TORC_CLIENT__RUN__OUPUT_DIR="x")
    assert r.returncode == 2 and "$TORC_CLIENT__RUN__OUPUT_DIR" in r.stderr
    r = _torc(home, tmp_path, "--password", "secret", "workflows", "list")
    assert r.returncode == 2 and "token" in r.stderr


def test_torc_s_hpc_profiles_and_default_account(tmp_path: Path) -> None:
    home = _user_config(tmp_path, """
[client.hpc.profile_overrides.kestrel]
default_account = "my_default_account"

[client.hpc.custom_profiles.mycluster]
display_name = "My Research Cluster"
description = "Internal research HPC system"
detect_env_var = "MY_CLUSTER=research"
default_account = "default_project"

[[client.hpc.custom_profiles.mycluster.partitions]]
name = "compute"
cpus_per_node = 64
memory_mb = 256000
max_walltime_secs = 172800
shared = false

[[client.hpc.custom_profiles.mycluster.partitions]]
name = "gpu"
cpus_per_node = 32
memory_mb = 128000
max_walltime_secs = 86400
gpus_per_node = 4
gpu_type = "A100"
shared = false
""")
    r = _torc(home, tmp_path, "-f", "json", "hpc", "detect", MY_CLUSTER="research")
    assert r.returncode == 0 and json.loads(r.stdout)["name"] == "mycluster", r.stderr
    spec = write_spec(tmp_path, {"name": "g", "resource_requirements": [
        {"name": "r", "num_cpus": 4, "memory": "8g", "runtime": "PT1H"}],
        "jobs": [{"name": "a", "command": "true", "resource_requirements": "r"}]})

    def generated_account(*args: str, **env: str) -> Any:
        r = _torc(home, tmp_path, "slurm", "generate", spec.name, "-o", "out.yaml", *args,
                  **env)
        assert r.returncode == 0, r.stderr
        import yaml
        return yaml.safe_load((tmp_path / "out.yaml").read_text())[
            "slurm_schedulers"][0]["account"]

    assert generated_account(MY_CLUSTER="research") == "default_project"
    assert generated_account("--profile", "kestrel") == "my_default_account"
    assert generated_account("--profile", "kestrel", "--account", "given") == "given"


def test_torc_s_server_keys_start_the_coordinator(tmp_path: Path) -> None:
    port = free_port()
    logs = tmp_path / "logs"
    home = _user_config(tmp_path, f"""
[server]
url = "127.0.0.1"
port = {port}
log_level = "debug"
admin_users = ["alice"]
threads = 4
database = "/var/lib/torc/torc.db"
[server.logging]
log_dir = "{logs}"
json_logs = true
""")
    env = {k: v for k, v in os.environ.items() if k != "TORC_URL"}
    env["XDG_CONFIG_HOME"] = str(home)
    proc = subprocess.Popen([sys.executable, "-m", "torc.server.main", "serve", "--data-dir",
                             str(tmp_path / "data")], cwd=tmp_path, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        client = TorcClient(f"127.0.0.1:{port}")
        client.wait_ready(timeout=60)
        assert client.list_workflows() == []
        log = logs / "torc-coord.log"
        wait_for(lambda: log.exists() and log.read_text().strip())
        first = json.loads(log.read_text().splitlines()[0])
        assert {"time", "level", "message"} <= set(first)
        client.close()
    finally:
        proc.terminate()
        proc.wait(timeout=60)
