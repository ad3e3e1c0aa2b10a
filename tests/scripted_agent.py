"""A stand-in for an AI agent (``torc recover --ai-recovery --ai-agent "python THIS"``): it
does what Torc's prompt asks through the MCP server torc names in ``TORC_MCP_COMMAND``, with
a rule instead of a model: a connection error is transient (retry), anything else permanent
(fail). Dry run first, then apply, as the tool's description asks."""

from __future__ import annotations

import asyncio
import json
import os
import sys

from mcp import Client
from mcp.client.stdio import StdioServerParameters

TRANSIENT = ("Connection refused", "timed out", "NODE_FAIL")


def _json(result) -> dict:  # type: ignore[no-untyped-def]
    if result.is_error:
        raise SystemExit(f"tool failed: {result.content[0].text}")
    return json.loads(result.content[0].text)


async def main() -> None:
    argv = json.loads(os.environ["TORC_MCP_COMMAND"])
    wf_id = int(os.environ["TORC_WORKFLOW_ID"])
    assert f"workflow_id={wf_id}" in sys.argv[-1], sys.argv  # the prompt names the workflow
    server = StdioServerParameters(command=argv[0], args=argv[1:], env=dict(os.environ))
    async with Client(server) as c:
        held = _json(await c.call_tool("list_pending_failed_jobs", {"workflow_id": wf_id}))
        decisions = [{"job_id": j["job_id"],
                      "action": "retry" if any(t in j["stderr_tail"] for t in TRANSIENT)
                      else "fail", "reason": j["stderr_tail"].strip().splitlines()[-1]}
                     for j in held["pending_failed_jobs"]]
        for d in decisions:
            print(f"job {d['job_id']}: {d['action']} ({d['reason']})")
        preview = _json(await c.call_tool("classify_and_resolve_failures", {
            "workflow_id": wf_id, "classifications": decisions, "dry_run": True}))
        assert {r["status"] for r in preview["results"]} == {"would_apply"}, preview
        done = _json(await c.call_tool("classify_and_resolve_failures", {
            "workflow_id": wf_id, "classifications": decisions, "dry_run": False}))
        print(f"retried {done['retried']}, failed {done['failed']}")


asyncio.run(main())
