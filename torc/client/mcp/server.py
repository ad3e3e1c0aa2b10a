"""The MCP server: Torc's tools (``tools``) registered with the maintained ``mcp`` SDK's
``MCPServer``, served over stdio (an assistant starts ``torc mcp`` itself) or streamable HTTP
on loopback (then every request must carry ``Authorization: Bearer <the torc token>``: the
port is open to every local user, the token only to its owner)."""

from __future__ import annotations

import functools
import hmac
import inspect
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import Field

from torc import auth
from torc.client.mcp import tools
from torc.client.mcp.cli_calls import ToolFailure
from torc.errors import TorcError

INSTRUCTIONS = (
    "torc-py: workflows of shell jobs on Slurm or one machine. Inspect with "
    "get_workflow_status, get_workflow_summary, list_jobs_by_status, get_job_details, "
    "list_results, get_job_logs, analyze_workflow_logs, check_resource_utilization, "
    "get_slurm_sacct; act with update_job_resources and recover_workflow. Jobs held in "
    "pending_failed wait for you: list_pending_failed_jobs, then "
    "classify_and_resolve_failures (dry_run first). To create a workflow, prefer "
    "create_workflow with action=save_spec_file unless asked to run it.")

# Tool: description (Torc's meaning, in our words).
DESCRIPTIONS = {
    "create_workflow": "Validate a workflow spec (JSON), save it to a file (the default "
        "choice: specs an assistant writes have placeholder commands) or create the "
        "workflow. workflow_type 'slurm' plans schedulers and schedule_nodes actions for "
        "the HPC profile (account required). Spec keys: name, jobs (name, command, "
        "depends_on, input_files, output_files, resource_requirements, parameters such as "
        "{\"i\": \"0:9\"} with {i} in names and commands), files (name, path), "
        "resource_requirements (name, num_cpus, memory like '4g', runtime like 'PT1H').",
    "get_execution_plan": "The order jobs will run in (stages of the graph), for a "
        "workflow id or for a JSON spec not yet created.",
    "get_job_details": "A job's command, status, resource requirements and latest result.",
    "list_jobs_by_status": "Jobs of a workflow in one status (uninitialized, blocked, "
        "ready, pending, running, completed, failed, canceled, terminated, disabled, "
        "pending_failed).",
    "get_workflow_status": "A workflow's job counts by status.",
    "get_workflow_summary": "A workflow's completion summary: counts, execution time, "
        "attempts, failures by return code.",
    "list_results": "Job results (return codes, times, peak memory and CPU), filtered and "
        "sorted; at most limit (default 100).",
    "analyze_workflow_logs": "Scan every log of a workflow for known errors (OOM, time "
        "limit, segfault, CUDA, tracebacks, full disk, node failure), each tied to its job.",
    "get_job_logs": "A job attempt's stdout or stderr, optionally only its last lines.",
    "list_failed_jobs": "Jobs of a workflow whose status is failed.",
    "check_resource_utilization": "Requested against used memory, CPU and runtime; jobs "
        "over their limits, likely OOMs and timeouts (include_failed for recovery).",
    "get_slurm_sacct": "Slurm's accounting (sacct) of each job's step in the workflow's "
        "allocations: state, exit code, max RSS, CPU time, nodes.",
    "update_job_resources": "Change a job's CPUs, memory ('8g') or runtime ('PT2H') before "
        "it runs again.",
    "recover_workflow": "Recover a Slurm workflow after failures: more memory for OOMs, "
        "more runtime for timeouts (retry_unknown: the rest unchanged), reset and new "
        "allocations. Call with dry_run=true first and show the plan.",
    "list_pending_failed_jobs": "Jobs held in pending_failed (failed with no failure "
        "handler rule) with the tail of their stderr, for you to classify: transient "
        "(connection refused, timeouts, node failure, preemption, I/O errors: retry) or "
        "permanent (syntax and import errors, bad arguments, assertion failures, "
        "permission denied: fail).",
    "classify_and_resolve_failures": "Apply classifications of pending_failed jobs: each "
        "{job_id, action: 'retry' or 'fail', memory?, runtime?, reason}. Call with "
        "dry_run=true first, show the user, then dry_run=false. Retried jobs run again as "
        "their next attempt; failed ones cancel what depends on them.",
}

PARAMETERS = {
    "workflow_id": "The workflow ID", "job_id": "The job ID",
    "run_id": "The run ID (1 for the first run, more after a restart)",
    "attempt_id": "The attempt ID (1 for the first attempt, more after retries)",
    "log_type": "'stdout' or 'stderr'", "tail_lines": "Only this many lines from the end",
    "status": "A job status name", "spec_json": "The workflow spec as a JSON string",
    "action": "create_workflow: validate, save_spec_file or create_workflow",
    "workflow_type": "'local' or 'slurm'", "user": "Owner (default: you)",
    "account": "Slurm account (needed for slurm)", "hpc_profile": "HPC profile name "
    "(default: detected)", "output_path": "Where save_spec_file writes (.json)",
    "spec_or_id": "A workflow ID, or a JSON spec to preview",
    "output_dir": "Where the workers wrote their logs (default: the server's)",
    "include_failed": "Also failed jobs, with a diagnosis",
    "return_code": "Only this return code", "failed_only": "Only non-zero return codes",
    "limit": "At most this many (default 100)", "sort_by": "A column, e.g. return_code, "
    "peak_memory_bytes", "reverse_sort": "Descending", "num_cpus": "CPUs",
    "memory": "Memory, e.g. '4g', '512m'", "runtime": "ISO 8601 duration, e.g. 'PT30M'",
    "dry_run": "Show what would be done; change nothing",
    "memory_multiplier": "For OOMs (default 1.5)", "runtime_multiplier":
    "For timeouts (default 1.4)", "retry_unknown": "Also retry other failures unchanged",
    "classifications": "One per job: {job_id, action: retry|fail, memory?, runtime?, reason?}",
}


def bound(fn: Callable[..., Any], target: tools.Target) -> Callable[..., Any]:
    """``fn`` with its ``Target`` given: the signature the SDK reads (for the input schema)
    is the rest, each parameter described."""
    sig = inspect.signature(fn, eval_str=True)
    params = [p.replace(annotation=Annotated[p.annotation,
                                             Field(description=PARAMETERS.get(p.name, p.name))])
              for p in list(sig.parameters.values())[1:]]

    from mcp.server.mcpserver.exceptions import ToolError

    @functools.wraps(fn)
    def call(**kwargs: Any) -> Any:
        try:
            result = fn(target, **kwargs)
            # One JSON object per answer, as Torc's tools give (an empty list would be no
            # content at all).
            return result if isinstance(result, dict) else {"items": result or [],
                                                            "count": len(result or [])}
        except ToolFailure as e:  # anticipated: the assistant reads the message
            raise ToolError(str(e)) from None
        except TorcError as e:
            raise ToolError(e.message) from None

    call.__signature__ = sig.replace(parameters=params)  # type: ignore[attr-defined]
    del call.__wrapped__  # the SDK must read the signature above, not fn's
    return call


def build(target: tools.Target) -> Any:
    """The MCP server with every tool bound to ``target``."""
    from mcp.server.mcpserver import MCPServer
    server = MCPServer("torc", instructions=INSTRUCTIONS)
    for name, text in DESCRIPTIONS.items():
        server.add_tool(bound(getattr(tools, name), target), name=name, description=text)
    return server


def serve_stdio(target: tools.Target) -> None:
    build(target).run("stdio")


def serve_http(target: tools.Target, host: str, port: int) -> None:
    """Streamable HTTP at ``http://HOST:PORT/mcp``, loopback only, bearer token checked."""
    import uvicorn
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise TorcError(f"--host {host}: the MCP server listens on loopback only (its tools "
                        "act with your token)")
    token = auth.client_token()
    if not token:
        raise TorcError("no torc token (~/.torc/token or TORC_TOKEN): HTTP clients must "
                        "present it")
    app = build(target).streamable_http_app(host=host)
    uvicorn.run(BearerOnly(app, token), host=host, port=port, log_level="warning")


class BearerOnly:
    """ASGI middleware: HTTP requests without ``Authorization: Bearer <token>`` get 401."""

    def __init__(self, app: Any, token: str) -> None:
        self.app, self.expected = app, f"Bearer {token}".encode()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or ()).get(b"authorization", b"")
            if not hmac.compare_digest(given, self.expected):
                await send({"type": "http.response.start", "status": 401,
                            "headers": [(b"content-type", b"text/plain"),
                                        (b"www-authenticate", b"Bearer")]})
                await send({"type": "http.response.body",
                            "body": b"torc mcp: Authorization: Bearer <torc token> needed\n"})
                return
        await self.app(scope, receive, send)
