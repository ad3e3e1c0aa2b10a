"""One job on the worker: its process (command, environment, stdio files) and how the worker
stops it (SIGTERM with a grace period for jobs that support termination, else SIGKILL)."""

from __future__ import annotations

import asyncio
import functools
import os
import signal
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from torc import user_environment
from torc.config import JOB_MARKER
from torc.proto import torc_pb2 as pb
from torc.worker.process import SAME_AS_STDOUT, JobProcess


@dataclass
class RunningJob:
    """A claimed job and its process."""

    job: pb.ClaimedJob
    process: JobProcess | None = None
    final_status: int = 0  # set when the worker kills it: TERMINATED or CANCELED
    task: asyncio.Task | None = field(default=None, repr=False)
    gpus: list[str] | None = None  # the devices it holds
    limit = ""  # "oom" or "timeout" when killed for going over its requirements
    over_memory = 0  # the memory it had when killed for it
    timer: asyncio.TimerHandle | None = field(default=None, repr=False)

    def limit_kill(self, reason: str, sig: int, kill_after: float) -> None:
        """Stop it for going over a limit: ``sig`` now, SIGKILL ``kill_after`` seconds later."""
        if self.limit or self.final_status or self.process is None:
            return
        self.limit = reason
        self.process.kill(sig)
        if sig != signal.SIGKILL:
            asyncio.get_running_loop().call_later(kill_after, self.process.kill,
                                                  signal.SIGKILL)

    def kill(self, final_status: int, grace: float) -> None:
        """Stop it, recording why (TERMINATED or CANCELED); once."""
        if self.final_status or self.process is None:
            return
        self.final_status = final_status
        if self.job.supports_termination:
            self.process.kill(signal.SIGTERM)
            asyncio.get_running_loop().call_later(grace, self.process.kill, signal.SIGKILL)
        else:
            self.process.kill(signal.SIGKILL)


@functools.cache
def _user_env() -> dict[str, str]:
    """The user's environment, read once: rebuilding it from os.environ (decoding every
    variable) for each job was a twentieth of a busy worker's time, and the worker never
    changes its own environment. Callers copy it."""
    return user_environment()


def stdio_paths(cj: pb.ClaimedJob, base: str) -> tuple[str | None, str | Path | None]:
    """stdout and stderr files for the job's stdio mode (None: discarded); "combined"
    writes both streams to the ``.o`` file."""
    mode = cj.stdio_mode or "separate"
    out = None if mode in ("no_stdout", "none") else base + ".o"
    if mode == "combined":
        return out, SAME_AS_STDOUT
    return out, None if mode in ("no_stderr", "none") else base + ".e"


class JobFactory:
    """The processes of one worker's attempts. What all its jobs share (the environment
    with the worker's ``TORC_*`` variables, where stdio goes) is worked out once, not for
    each job: a busy worker's time per job bounds how fast short jobs run."""

    def __init__(self, workflow_id: int, worker_id: int, url: str, output_dir: Path,
                 marker: str) -> None:
        # Jobs run in the worker's own directory, as Torc's do (relative paths in commands
        # mean what they mean where the user started it); only their logs go to output_dir.
        self.cwd = None
        self._env = {**_user_env(), "TORC_WORKFLOW_ID": str(workflow_id),
                     "TORC_OUTPUT_DIR": str(output_dir), "TORC_URL": url,
                     "TORC_WORKER_ID": str(worker_id), JOB_MARKER: marker}
        # Strings, not Paths: building Paths for every job was a twentieth of a busy
        # worker's time.
        self._stdio_prefix = f"{output_dir}{os.sep}job_stdio{os.sep}job_wf{workflow_id}_j"

    def environment(self, cj: pb.ClaimedJob) -> dict[str, str]:
        """The user's environment plus Torc's ``TORC_*`` variables and the worker's marker."""
        env = self._env.copy()
        env["TORC_JOB_ID"] = str(cj.id)
        env["TORC_JOB_NAME"] = cj.name
        env["TORC_ATTEMPT_ID"] = str(cj.attempt_id)
        env["TORC_RUN_ID"] = str(cj.run_id)
        return env

    def stdio_base(self, cj: pb.ClaimedJob) -> str:
        """Where an attempt's stdio goes, without the suffix (Torc's naming)."""
        return f"{self._stdio_prefix}{cj.id}_r{cj.run_id}_a{cj.attempt_id}"

    def process(self, cj: pb.ClaimedJob, wrap: Callable[[list[str]], list[str]] | None = None,
                extra_env: dict[str, str] | None = None) -> JobProcess:
        """The (not yet started) process of one attempt, its stdio in ``job_stdio/``;
        ``wrap`` turns the command into another (``srun ...`` for Slurm steps)."""
        command = f"{cj.invocation_script} {cj.command}" if cj.invocation_script \
            else cj.command
        out, err = stdio_paths(cj, self.stdio_base(cj))
        argv = ["bash", "-c", command]
        env = self.environment(cj)
        if extra_env:
            env.update(extra_env)
        return JobProcess(wrap(argv) if wrap else argv, self.cwd, env, out, err,
                          label=f"job {cj.id} ({cj.name})")

    def recovery(self, cj: pb.ClaimedJob, script: str, return_code: int) -> JobProcess:
        """A failure handler's recovery script for a failed attempt: run like the job (same
        directory and ``TORC_*`` variables, plus ``TORC_RETURN_CODE``), its output beside
        the job's stdio (``.recovery.o``/``.recovery.e``)."""
        env = self.environment(cj)
        env["TORC_RETURN_CODE"] = str(return_code)
        base = self.stdio_base(cj)
        return JobProcess(["bash", "-c", script], self.cwd, env, base + ".recovery.o",
                          base + ".recovery.e", label=f"job {cj.id}: recovery script")
