"""``recover/watch --ai-recovery [--ai-agent AGENT]`` (Torc's, experimental there too): jobs
held in ``pending_failed`` are handed to an assistant that reads their stderr through the MCP
tools and retries or fails each (``list_pending_failed_jobs``, then
``classify_and_resolve_failures``).

AGENT is ``claude`` (Claude Code, ``--print`` with this server in ``--mcp-config``),
``copilot`` (``gh copilot suggest``, as Torc), or any other command: it gets the prompt as its
last argument and, in its environment, ``TORC_WORKFLOW_ID``, ``TORC_URL``,
``TORC_OUTPUT_DIR`` and ``TORC_MCP_COMMAND`` (the JSON argv that starts this MCP server over
stdio), so a script of your own can be the agent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from torc.arguments import split_command
from torc.errors import TorcError

PROMPT = (
    "You are helping recover a torc workflow. Workflow {wf} has jobs in 'pending_failed' "
    "status that need classification.\n\nUse the torc MCP tools to:\n"
    "1. Call list_pending_failed_jobs with workflow_id={wf} to see the jobs and their "
    "stderr\n2. Decide for each whether the error is transient (retry) or permanent (fail)\n"
    "3. Call classify_and_resolve_failures with your classifications (dry_run=false)\n\n"
    "The output directory is: {out}\n")


def mcp_argv(url: str, output_dir: str) -> list[str]:
    """How to start this MCP server over stdio."""
    return [sys.executable, "-m", "torc.client.mcp.command", "--url", url, "--output-dir",
            str(Path(output_dir).resolve())]


def agent_argv(agent: str, prompt: str, config: Path) -> list[str]:
    if agent == "claude":
        return ["claude", "--print", prompt, "--mcp-config", str(config),
                "--allowedTools", "mcp__torc"]
    if agent in ("copilot", "github-copilot"):
        return ["gh", "copilot", "suggest", prompt]
    return [*split_command(agent, "--ai-agent"), prompt]


def invoke(wf_id: int, agent: str, url: str, output_dir: str) -> None:
    """Run the agent to its end, its output shown as ``[agent] ...``; a TorcError if it cannot
    start or fails."""
    server = mcp_argv(url, output_dir)
    prompt = PROMPT.format(wf=wf_id, out=Path(output_dir).resolve())
    with tempfile.TemporaryDirectory(prefix="torc-agent-") as tmp:
        config = Path(tmp) / "mcp.json"
        config.write_text(json.dumps({"mcpServers": {"torc": {"command": server[0],
                                                              "args": server[1:]}}}))
        argv = agent_argv(agent, prompt, config)
        env = {**os.environ, "TORC_WORKFLOW_ID": str(wf_id), "TORC_URL": url,
               "TORC_OUTPUT_DIR": str(Path(output_dir).resolve()),
               "TORC_MCP_COMMAND": json.dumps(server)}
        print(f"asking the AI agent {argv[0]} to classify workflow {wf_id}'s pending_failed "
              "jobs", flush=True)
        try:
            done = subprocess.run(argv, env=env, capture_output=True, text=True,
                                  errors="replace", stdin=subprocess.DEVNULL, check=False)
        except OSError as e:
            raise TorcError(f"--ai-agent {agent}: cannot start {argv[0]}: {e.strerror}"
                            + (" (Claude Code's CLI)" if agent == "claude" else "")) from None
    for line in done.stdout.splitlines():
        print(f"  [agent] {line}", flush=True)
    for line in done.stderr.splitlines():
        print(f"  [agent] {line}", file=sys.stderr, flush=True)
    if done.returncode != 0:
        raise TorcError(f"the AI agent ({argv[0]}) failed with exit code {done.returncode}")
