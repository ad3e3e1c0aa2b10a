"""Workflow actions on the worker: claiming them, executing them (``run_commands``;
``schedule_nodes`` goes through ``torc.slurm``) and reporting each execution."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path

from torc import user_environment
from torc.proto import torc_pb2 as pb
from torc.slurm import schedule_nodes
from torc.worker.connection import CallFailed, Connection

log = logging.getLogger("torc.worker")

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


class ActionRunner:
    """Claims a worker's pending actions, executes them and reports how each went."""

    def __init__(self, conn: Connection, workflow_id: int, worker_id: int, url: str,
                 output_dir: Path, schedule_nodes: ScheduleNodes | None = None) -> None:
        self.conn = conn
        self.workflow_id = workflow_id
        self.worker_id = worker_id
        self.url = url
        self.output_dir = output_dir
        self.schedule_nodes = schedule_nodes or self._schedule_nodes

    def _env(self) -> dict[str, str]:
        env = user_environment()
        env.update({"TORC_WORKFLOW_ID": str(self.workflow_id), "TORC_URL": self.url,
                    "TORC_OUTPUT_DIR": str(self.output_dir),
                    "TORC_WORKER_ID": str(self.worker_id)})
        return env

    async def run(self, triggers: list[str], claim_id: int) -> int:
        """Claim and execute every pending action of ``triggers``; returns how many ran."""
        try:
            resp = await self.conn.call("ClaimAction", pb.ClaimActionRequest(
                workflow_id=self.workflow_id, worker_id=self.worker_id,
                trigger_types=triggers, claim_id=claim_id))
        except CallFailed as e:
            log.warning("cannot claim actions: %s", e.message)
            return 0
        for action in resp.actions:
            log.info("running action %d (%s, %s)", action.id, action.trigger_type,
                     action.action_type)
            execution = await execute(action, self.workflow_id, self.worker_id,
                                      self.output_dir, self._env(), self.schedule_nodes)
            if not execution.success:
                log.warning("action %d failed: %s", action.id, execution.message)
            try:
                # Re-sent on a lost answer: the coordinator records it once.
                await self.conn.call("ReportActionResult", pb.ReportActionResultRequest(
                    workflow_id=self.workflow_id, worker_id=self.worker_id,
                    action_id=action.id, execution=execution))
            except CallFailed as e:
                log.warning("action %d result not recorded: %s", action.id, e.message)
        return len(resp.actions)

    async def _schedule_nodes(self, action: pb.ClaimedAction, config: dict) -> str:
        """Submit a schedule_nodes action's allocations (sbatch runs on a thread)."""
        loop = asyncio.get_running_loop()

        def record(job_id: str, scheduler: dict) -> None:
            request = pb.RecordAllocationRequest(
                workflow_id=self.workflow_id, worker_id=self.worker_id, action_id=action.id,
                slurm_job_id=job_id, scheduler=scheduler.get("name", ""),
                num_nodes=int(scheduler.get("nodes", 1)))
            asyncio.run_coroutine_threadsafe(self.conn.call("RecordAllocation", request),
                                             loop).result(timeout=300)

        return await loop.run_in_executor(None, schedule_nodes, self.workflow_id, action.id,
                                          config, self.url, self.output_dir, record)
