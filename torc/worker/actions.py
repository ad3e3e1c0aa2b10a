"""Executing a claimed workflow action on the worker (``run_commands``; ``schedule_nodes``
goes through the Slurm wrappers)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from torc.proto import torc_pb2 as pb

# Submits Slurm allocations for a schedule_nodes action; returns a one-line summary.
ScheduleNodes = Callable[[pb.ClaimedAction, dict], Awaitable[str]]


async def run_commands(commands: list[str], cwd: Path, env: Mapping[str, str], stdout: Path,
                       stderr: Path) -> tuple[bool, str]:
    """Run commands one after another with ``bash -c``; stop at the first failure."""
    with open(stdout, "ab") as out, open(stderr, "ab") as err:
        for i, command in enumerate(commands):
            proc = await asyncio.create_subprocess_exec(
                "bash", "-c", command, cwd=cwd, env=dict(env), stdin=asyncio.subprocess.DEVNULL,
                stdout=out, stderr=err)
            rc = await proc.wait()
            if rc != 0:
                return False, f"command {i + 1} of {len(commands)} exited {rc}: {command}"
    return True, f"{len(commands)} command(s) succeeded"


async def execute(action: pb.ClaimedAction, workflow_id: int, worker_id: int, cwd: Path,
                  env: Mapping[str, str], schedule_nodes: ScheduleNodes | None
                  ) -> pb.ActionExecution:
    """Execute one action and describe how it went."""
    stdio = cwd / "action_stdio"
    stdio.mkdir(parents=True, exist_ok=True)
    base = f"action_wf{workflow_id}_a{action.id}_w{worker_id}_r{action.run_id}"
    stdout, stderr = stdio / f"{base}.o", stdio / f"{base}.e"
    start = time.time()
    try:
        if action.action_type == "run_commands":
            ok, message = await run_commands(list(action.commands), cwd, env, stdout, stderr)
        elif action.action_type == "schedule_nodes" and schedule_nodes is not None:
            message = await schedule_nodes(action, json.loads(action.config_json or "{}"))
            ok = True
        else:
            ok, message = False, f"action type {action.action_type!r} cannot run on this worker"
    except Exception as e:  # an action's failure never stops the workflow
        ok, message = False, f"{type(e).__name__}: {e}"
    return pb.ActionExecution(worker_id=worker_id, start_time=start, end_time=time.time(),
                              success=ok, message=message, stdout_path=str(stdout),
                              stderr_path=str(stderr), run_id=action.run_id)
