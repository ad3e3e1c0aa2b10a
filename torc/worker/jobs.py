"""One job on the worker: its process (command, environment, stdio files) and how the worker
stops it (SIGTERM with a grace period for jobs that support termination, else SIGKILL)."""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass, field
from pathlib import Path

from torc import user_environment
from torc.config import JOB_MARKER
from torc.proto import torc_pb2 as pb
from torc.worker.process import JobProcess
from torc.worker.resources import Resources


@dataclass
class RunningJob:
    """A claimed job and its process."""

    job: pb.ClaimedJob
    needs: Resources
    process: JobProcess | None = None
    final_status: int = 0  # set when the worker kills it: TERMINATED or CANCELED
    task: asyncio.Task | None = field(default=None, repr=False)

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


def job_environment(cj: pb.ClaimedJob, workflow_id: int, worker_id: int, url: str,
                    output_dir: Path, marker: str) -> dict[str, str]:
    """The user's environment plus Torc's ``TORC_*`` variables and the worker's marker."""
    env = user_environment()
    env.update({
        "TORC_WORKFLOW_ID": str(workflow_id), "TORC_JOB_ID": str(cj.id),
        "TORC_JOB_NAME": cj.name, "TORC_OUTPUT_DIR": str(output_dir),
        "TORC_ATTEMPT_ID": str(cj.attempt_id), "TORC_RUN_ID": str(cj.run_id),
        "TORC_URL": url, "TORC_WORKER_ID": str(worker_id), JOB_MARKER: marker,
    })
    return env


def job_process(cj: pb.ClaimedJob, workflow_id: int, worker_id: int, url: str,
                output_dir: Path, cwd: Path | None, marker: str) -> JobProcess:
    """The (not yet started) process of one attempt, its stdio in ``job_stdio/``."""
    base = output_dir / "job_stdio" / f"job_wf{workflow_id}_j{cj.id}_r{cj.run_id}_a{cj.attempt_id}"
    command = f"{cj.invocation_script} {cj.command}" if cj.invocation_script else cj.command
    return JobProcess(["bash", "-c", command], cwd,
                      job_environment(cj, workflow_id, worker_id, url, output_dir, marker),
                      base.with_suffix(".o"), base.with_suffix(".e"))
