"""What a workflow's jobs and results say, for people: a summary, each job's results with
where its output is, and whether jobs used what they asked for. Pure functions of the
listings (``pb.Job``, ``pb.JobResult``, ``pb.Worker``), so every report is a table and JSON.
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from torc import states as S
from torc.client.output import iso
from torc.options import DEFAULT_OUTPUT_DIR
from torc.proto import torc_pb2 as pb

OOM_CODES = (137, -9)  # Torc's oom_exit_code, and SIGKILL as the kernel's OOM killer sends it
TIMEOUT_CODE = 152


def summary(wf: pb.Workflow, jobs: list[pb.Job], results: list[pb.JobResult]
            ) -> dict[str, Any]:
    """Counts by state, execution time, attempts and failures by return code (of each job's
    latest result); ``results`` are every result of every run."""
    latest = latest_results(results)
    seconds = [r.end_time - r.start_time for r in latest.values()]
    failed = [r for r in latest.values() if r.status != S.COMPLETED]
    counts = Counter(S.name(j.status) for j in jobs)
    return {
        "workflow_id": wf.id, "name": wf.name, "run_id": wf.run_id, "num_jobs": len(jobs),
        "job_counts": {name: counts.get(name, 0) for name in S.NAMES.values()},
        "total_exec_seconds": round(sum(seconds), 3),
        "mean_exec_seconds": round(sum(seconds) / len(seconds), 3) if seconds else None,
        "max_exec_seconds": round(max(seconds), 3) if seconds else None,
        "attempts": len(results),
        "retried_jobs": sum(1 for n in Counter(r.job_id for r in results).values() if n > 1),
        "failures_by_return_code": {str(k): v for k, v in sorted(
            Counter(r.return_code for r in failed).items())},
    }


def latest_results(results: list[pb.JobResult]) -> dict[int, pb.JobResult]:
    """Each job's last result (results are listed in the order they were recorded)."""
    return {r.job_id: r for r in results}


def stdio_base(output_dir: Path, wf_id: int, r: pb.JobResult) -> Path:
    """Where an attempt's stdout (``.o``) and stderr (``.e``) are, without the suffix (Torc's
    naming, as the worker writes them)."""
    return output_dir / "job_stdio" / f"job_wf{wf_id}_j{r.job_id}_r{r.run_id}_a{r.attempt_id}"


class OutputDirs:
    """Where each attempt's files are: in the output directory the user named, else in the
    one its worker recorded when it registered (workers of one workflow may each have their
    own), else ``./output``."""

    def __init__(self, workers: list[pb.Worker], given: str | Path | None) -> None:
        self.given = Path(given).resolve() if given is not None else None
        self.recorded = {w.id: Path(w.output_dir) for w in workers if w.output_dir}

    def of(self, r: pb.JobResult) -> Path:
        """The output directory of the worker that ran ``r``."""
        return self.of_worker(r.worker_id)

    def of_worker(self, worker_id: int) -> Path:
        """Where a worker wrote (0: no worker in particular)."""
        if self.given is not None:
            return self.given
        return self.recorded.get(worker_id) or Path(DEFAULT_OUTPUT_DIR).resolve()

    def stdio(self, wf_id: int, r: pb.JobResult) -> Path:
        """Its stdout/stderr files without their suffix (see :func:`stdio_base`)."""
        return stdio_base(self.of(r), wf_id, r)


def results_report(wf_id: int, results: list[pb.JobResult], workers: list[pb.Worker],
                   output_dir: str | Path | None) -> list[dict[str, Any]]:
    """Each result with the files of its stdout/stderr and of its allocation's Slurm output
    (``output_dir``: where the user said they are; None: where each worker recorded)."""
    slurm = {w.id: w.slurm_job_id for w in workers}
    dirs = OutputDirs(workers, output_dir)
    rows = []
    for r in results:
        where = dirs.of(r)
        base = stdio_base(where, wf_id, r)
        stdout, stderr = str(base.with_suffix(".o")), str(base.with_suffix(".e"))
        sid = slurm.get(r.worker_id, "")
        rows.append({
            "job_id": r.job_id, "job_name": r.job_name, "run_id": r.run_id,
            "attempt_id": r.attempt_id, "status": S.NAMES.get(r.status, "unknown"),
            "return_code": r.return_code, "message": r.message,
            "exec_seconds": round(r.end_time - r.start_time, 3),
            "stdout": stdout, "stderr": stderr,
            "slurm_job_id": sid or None,
            "slurm_stdout": str(where / f"slurm_output_wf{wf_id}_sl{sid}.o") if sid else None,
            # Torc's names for the same, for its jq scripts.
            "job_stdout": stdout, "job_stderr": stderr,
            "slurm_stderr": str(where / f"slurm_output_wf{wf_id}_sl{sid}.e") if sid else None,
            "compute_node_id": r.worker_id, "compute_node_type": "slurm" if sid else "local",
            "completion_time": iso(r.end_time),
            "exec_time_minutes": round((r.end_time - r.start_time) / 60, 6),
        })
    return rows


def is_oom(r: pb.JobResult) -> bool:
    """The attempt ran out of memory (killed for it by the worker or the kernel)."""
    return r.status != S.COMPLETED and (r.return_code in OOM_CODES
                                        or r.message.startswith("out of memory"))


def is_timeout(r: pb.JobResult, job: pb.Job) -> bool:
    """The attempt outlived its runtime (killed for it, or simply took longer)."""
    took = r.end_time - r.start_time
    return r.status != S.COMPLETED and (
        r.return_code == TIMEOUT_CODE or r.message.startswith("timeout")
        or (job.runtime_seconds > 0 and took >= job.runtime_seconds))
