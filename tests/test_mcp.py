"""``torc mcp`` / ``torc-mcp-server``: Torc's 16 MCP tools, driven by the MCP SDK's own client
over stdio (and streamable HTTP) against a real coordinator and real workers; and
AI-assisted recovery (``recover --ai-recovery``) with a scripted agent in place of a model."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from tests.conftest import Coordinator, job_states, run_cli, wait_for, write_spec
from tests.test_identity import add_user

TORC_TOOLS = {  # Torc's tools and their parameters (torc-mcp-server/src/server.rs)
    "create_workflow": {"spec_json", "user", "action", "workflow_type", "account",
                        "hpc_profile", "output_path"},
    "get_execution_plan": {"spec_or_id"}, "get_job_details": {"job_id"},
    "list_jobs_by_status": {"workflow_id", "status"}, "get_workflow_status": {"workflow_id"},
    "get_workflow_summary": {"workflow_id"},
    "list_results": {"workflow_id", "job_id", "run_id", "return_code", "failed_only",
                     "status", "limit", "sort_by", "reverse_sort"},
    "analyze_workflow_logs": {"workflow_id", "output_dir"},
    "get_job_logs": {"workflow_id", "job_id", "run_id", "attempt_id", "log_type",
                     "tail_lines"},
    "list_failed_jobs": {"workflow_id"},
    "check_resource_utilization": {"workflow_id", "include_failed"},
    "get_slurm_sacct": {"workflow_id"},
    "update_job_resources": {"job_id", "num_cpus", "memory", "runtime"},
    "recover_workflow": {"workflow_id", "dry_run", "memory_multiplier", "runtime_multiplier",
                         "retry_unknown"},
    "list_pending_failed_jobs": {"workflow_id"},
    "classify_and_resolve_failures": {"workflow_id", "classifications", "dry_run"},
}


def _server(url: str, out: Path, token: str | None = None) -> StdioServerParameters:
    env = {**os.environ, **({"TORC_TOKEN": token} if token else {})}
    return StdioServerParameters(command=sys.executable, args=[
        "-m", "torc.client.cli", "--url", url, "mcp", "--output-dir", str(out)], env=env)


def _session(server: Any, calls: list[tuple[str, dict[str, Any]]]) -> list[Any]:
    """Each call's answer (JSON), or ("error", message)."""
    async def go() -> list[Any]:
        answers = []
        async with Client(server) as c:
            for name, args in calls:
                if name == "list_tools":
                    answers.append((await c.list_tools()).tools)
                    continue
                r = await c.call_tool(name, args)
                text = r.content[0].text if r.content else ""
                try:
                    answers.append(("error", text) if r.is_error else json.loads(text))
                except json.JSONDecodeError:
                    raise AssertionError(f"{name}: not JSON: {r.content}") from None
        return answers
    return asyncio.run(go())


def test_the_tools_are_torc_s_by_name_and_parameters(coordinator: Coordinator,
                                                     tmp_path: Path) -> None:
    (tools,) = _session(_server(coordinator.url, tmp_path), [("list_tools", {})])
    assert {t.name: set(t.input_schema["properties"]) for t in tools} == TORC_TOOLS
    assert all(t.description for t in tools)


def test_an_assistant_creates_runs_reads_and_mends_a_workflow(coordinator: Coordinator,
                                                               tmp_path: Path) -> None:
    url, out = coordinator.url, tmp_path / "out"
    spec = {"name": "mcp", "resource_requirements": [{"name": "r", "num_cpus": 1,
                                                     "memory": "100m"}],
            "jobs": [{"name": "ok", "command": "echo hello", "resource_requirements": "r"},
                     {"name": "bad", "command": "echo 'Segmentation fault' >&2; exit 3",
                      "resource_requirements": "r", "depends_on": ["ok"]}]}
    saved = tmp_path / "saved.json"
    (invalid, plan, save, made) = _session(_server(url, out), [
        ("create_workflow", {"spec_json": json.dumps({"name": "x", "jobs": [{"name": "a"}]}),
                             "action": "validate"}),
        ("get_execution_plan", {"spec_or_id": json.dumps(spec)}),
        ("create_workflow", {"spec_json": json.dumps(spec), "action": "save_spec_file",
                             "output_path": str(saved)}),
        ("create_workflow", {"spec_json": json.dumps(spec), "action": "create_workflow"})])
    assert invalid[0] == "error" and "command" in invalid[1], invalid  # names the field
    assert "ok" in json.dumps(plan) and "bad" in json.dumps(plan)
    assert json.loads(saved.read_text())["name"] == "mcp" and save["path"] == str(saved)
    wf_id = made["workflow"]["id"]
    assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url).returncode == 1
    (status, failed, details, results, logs, analysis, summary, usage, by_status,
     updated, recovery, sacct, missing) = _session(_server(url, out), [
        ("get_workflow_status", {"workflow_id": wf_id}),
        ("list_failed_jobs", {"workflow_id": wf_id}),
        ("get_job_details", {"job_id": 2}),
        ("list_results", {"workflow_id": wf_id, "failed_only": True}),
        ("get_job_logs", {"workflow_id": wf_id, "job_id": 2, "run_id": 1,
                          "log_type": "stderr", "tail_lines": 5}),
        ("analyze_workflow_logs", {"workflow_id": wf_id}),
        ("get_workflow_summary", {"workflow_id": wf_id}),
        ("check_resource_utilization", {"workflow_id": wf_id, "include_failed": True}),
        ("list_jobs_by_status", {"workflow_id": wf_id, "status": "completed"}),
        ("update_job_resources", {"job_id": 2, "memory": "200m"}),
        ("recover_workflow", {"workflow_id": wf_id, "dry_run": True, "retry_unknown": True}),
        ("get_slurm_sacct", {"workflow_id": wf_id}),
        ("get_workflow_status", {"workflow_id": 999})])
    assert status["job_counts"]["failed"] == 1 and status["job_counts"]["completed"] == 1
    assert [j["name"] for j in failed["jobs"]] == ["bad"]
    assert details["job"]["name"] == "bad" and details["latest_result"]["return_code"] == 3
    assert [r["return_code"] for r in results["results"]] == [3]
    assert logs["text"] == "Segmentation fault\n"
    assert {(e["type"], e["job_id"]) for e in analysis["errors"]} >= {("Segmentation Fault", 2)}
    assert summary and usage is not None
    assert [j["name"] for j in by_status["jobs"]] == ["ok"]
    assert updated and coordinator.client.list_jobs(wf_id, job_ids=[2])[0].memory_bytes \
        == 200 * 1024 * 1024
    assert [p["job_name"] for p in recovery["recovery"]["jobs"]] == ["bad"]
    assert sacct is not None  # no allocations: an empty report, not an error
    assert missing == ("error", "Error executing tool get_workflow_status: workflow 999 "
                                "does not exist")
    # The dry run changed nothing.
    assert job_states(coordinator.client, wf_id)["bad"] == "failed"


def test_the_tools_act_with_the_caller_s_token(coordinator: Coordinator,
                                               tmp_path: Path) -> None:
    alice, bob = add_user(coordinator, "alice"), add_user(coordinator, "bob")
    env = {**os.environ, "TORC_TOKEN": alice}
    spec = write_spec(tmp_path, {"name": "private", "jobs": [{"name": "a", "command": "true"}]})
    r = subprocess.run([sys.executable, "-m", "torc.client.cli", "--url", coordinator.url,
                        "-f", "json", "workflows", "create", str(spec)],
                       env=env, capture_output=True, text=True, check=True)
    wf_id = json.loads(r.stdout)["id"]
    (mine,) = _session(_server(coordinator.url, tmp_path, alice),
                       [("get_workflow_status", {"workflow_id": wf_id})])
    (theirs,) = _session(_server(coordinator.url, tmp_path, bob),
                         [("get_workflow_status", {"workflow_id": wf_id})])
    assert mine["workflow_id"] == wf_id
    assert theirs[0] == "error" and "another user" in theirs[1] and "alice" not in theirs[1]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_streamable_http_needs_the_token(coordinator: Coordinator, tmp_path: Path) -> None:
    import httpx2
    from mcp.client.streamable_http import streamable_http_client

    from torc import auth
    port = _free_port()
    proc = subprocess.Popen([sys.executable, "-m", "torc.client.cli", "--url", coordinator.url,
                             "mcp", "--transport", "http", "--port", str(port)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    endpoint = f"http://127.0.0.1:{port}/mcp"
    try:
        def refused() -> int:
            try:
                urllib.request.urlopen(urllib.request.Request(endpoint, data=b"{}"), timeout=5)
            except urllib.error.HTTPError as e:
                return e.code
            except OSError:
                return 0  # not listening yet
            return 200
        assert wait_for(refused) == 401
        wf_id = coordinator.client.create_workflow({"name": "h", "jobs": [
            {"name": "a", "command": "true"}]})

        async def go() -> Any:
            headers = {"Authorization": f"Bearer {auth.client_token()}"}
            async with httpx2.AsyncClient(headers=headers) as http, \
                    Client(streamable_http_client(endpoint, http_client=http)) as c:
                r = await c.call_tool("get_workflow_status", {"workflow_id": wf_id})
                return json.loads(r.content[0].text)
        assert asyncio.run(go())["num_jobs"] == 1
    finally:
        proc.terminate()
        proc.wait(timeout=30)


@pytest.mark.parametrize("via", ["recover", "watch"])
def test_ai_recovery_retries_transient_failures_and_fails_permanent_ones(
        coordinator: Coordinator, tmp_path: Path, via: str) -> None:
    url, out = coordinator.url, tmp_path / "out"
    flaky = (f"if [ -f {tmp_path}/once ]; then echo recovered; else touch {tmp_path}/once; "
             "echo 'error: Connection refused by storage.example.com:443' >&2; exit 1; fi")
    wf_id = coordinator.client.create_workflow({
        "name": "ai", "use_pending_failed": True,
        "compute_node_wait_for_new_jobs_seconds": 1,
        "jobs": [{"name": "flaky", "command": flaky},
                 {"name": "buggy", "command": "echo \"ModuleNotFoundError: No module named "
                                              "'numpyy'\" >&2; exit 1"},
                 {"name": "after_flaky", "command": "true", "depends_on": ["flaky"]},
                 {"name": "after_buggy", "command": "true", "depends_on": ["buggy"]}]})
    run_cli("run", str(wf_id), "--output-dir", str(out), url=url, timeout=300)
    assert job_states(coordinator.client, wf_id) == {
        "flaky": "pending_failed", "buggy": "pending_failed", "after_flaky": "blocked",
        "after_buggy": "blocked"}
    agent = f"{sys.executable} {Path(__file__).parent / 'scripted_agent.py'}"
    if via == "recover":
        r = run_cli("recover", str(wf_id), "--ai-recovery", "--ai-agent", agent,
                    "--output-dir", str(out), url=url, timeout=300)
        assert r.returncode == 1, r.stdout + r.stderr  # buggy stays failed
    else:
        # watch asks the agent while the workflow waits on the held jobs; the flaky one's
        # retry then runs on a worker started beside the watch, which ends with the workflow.
        watching = subprocess.Popen(
            [sys.executable, "-m", "torc.client.cli", "--url", url, "watch", str(wf_id),
             "--ai-recovery", "--ai-agent", agent, "--interval", "0.2", "--output-dir",
             str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        wait_for(lambda: job_states(coordinator.client, wf_id)["flaky"] == "ready",
                 timeout=120)
        assert run_cli("run", str(wf_id), "--output-dir", str(out), url=url,
                       timeout=300).returncode == 1
        stdout, stderr = watching.communicate(timeout=120)
        r = subprocess.CompletedProcess(watching.args, watching.returncode, stdout, stderr)
        assert r.returncode == 1, r.stdout + r.stderr
    assert "[agent] job 1: retry" in r.stdout and "[agent] job 2: fail" in r.stdout, r.stdout
    assert job_states(coordinator.client, wf_id) == {
        "flaky": "completed", "buggy": "failed", "after_flaky": "completed",
        "after_buggy": "canceled"}
