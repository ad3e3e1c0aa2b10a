"""``torc-worker``: run the jobs of one workflow on this machine (or Slurm node)."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from datetime import datetime
from pathlib import Path

from torc import logs, slurm
from torc.arguments import check_parsed
from torc.config import default_url
from torc.exits import exit_now
from torc.logs import LOG_LEVEL
from torc.options import add_worker_arguments
from torc.spec.units import parse_memory
from torc.version import VersionAction
from torc.worker import node_logs
from torc.worker.gpus import detect_gpu_ids
from torc.worker.resources import detect_placement, detect_resources
from torc.worker.runner import WorkerRunner
from torc.worker.worker_options import WorkerOptions


def options_from_args(args: argparse.Namespace, url: str, workflow_id: int) -> WorkerOptions:
    """Build WorkerOptions from parsed worker arguments (SystemExit on a bad value)."""
    resources = detect_resources()
    if args.num_cpus is not None:
        resources.num_cpus = args.num_cpus
    if args.memory is not None:
        try:
            resources.memory = parse_memory(args.memory)
        except ValueError as e:
            raise SystemExit(f"error: --memory: {e}") from None
    if args.num_gpus is not None:
        resources.num_gpus = args.num_gpus
    elif args.gpu_ids:
        resources.num_gpus = len([x for x in args.gpu_ids.split(",") if x.strip()])
    if resources.num_cpus < 1 or args.max_parallel_jobs < 0:
        raise SystemExit("error: --num-cpus must be at least 1 and --max-parallel-jobs >= 0")
    placement = detect_placement()
    if placement.slurm_job_id and placement.end_time is None:
        # Slurm 22.05 sets no SLURM_JOB_END_TIME; ask squeue (before any gRPC channel exists,
        # so the fork is harmless).
        placement.end_time = slurm.job_end_time(placement.slurm_job_id)
    return WorkerOptions(
        url=url, workflow_id=workflow_id, output_dir=Path(args.output_dir).resolve(),
        resources=resources, placement=placement,
        max_parallel_jobs=args.max_parallel_jobs, idle_timeout=args.idle_timeout,
        end_buffer=args.end_buffer, scheduler=args.scheduler,
        gpu_ids=detect_gpu_ids(resources.num_gpus, args.gpu_ids or ""),
    )


def _target_from_stdin() -> tuple[str, int]:
    """The coordinator URL and workflow id, and the log to write to, as one JSON line on
    stdin: ``torc run`` starts its worker while its coordinator starts and the workflow is
    created, so the worker's Python start (a fifth of a second) is not on the way."""
    line = sys.stdin.readline()
    if not line:
        raise SystemExit(0)  # torc run stopped before there was anything to run
    target = json.loads(line)
    fd = os.open(target["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)  # umask
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    return target["url"], int(target["workflow_id"])


def _log_file(args: argparse.Namespace) -> str | None:
    """Where the log goes: ``--log-file``; in a Slurm allocation, Torc's name for its Slurm
    job runner's log in the output directory; else stderr (None)."""
    if args.log_file:
        return str(args.log_file)
    job = os.environ.get("SLURM_JOB_ID")
    if not job or args.target_on_stdin:
        return None
    name = (f"job_runner_slurm_wf{args.workflow_id}_sl{job}_n"
            f"{os.environ.get('SLURM_NODEID', '0')}_pid{os.getpid()}.log")
    Path(args.output_dir).mkdir(parents=True, exist_ok=True)
    return str(Path(args.output_dir) / name)


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of torc-worker."""
    p = argparse.ArgumentParser(prog="torc-worker", description="run a torc workflow's jobs")
    p.add_argument("--version", action=VersionAction, program="torc-worker")
    p.add_argument("--url", default=None, help="coordinator host:port (default: $TORC_URL)")
    p.add_argument("--workflow-id", type=int)
    p.add_argument("--target-on-stdin", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--log-level", type=LOG_LEVEL,
                   default=os.environ.get("TORC_LOG_LEVEL") or logs.from_environment("info"),
                   help="error, warn, info (default), debug, trace")
    p.add_argument("--log-file", help="append the log here (default: stderr; in a Slurm "
                   "allocation <output-dir>/job_runner_slurm_wf<W>_sl<J>_n<node>_pid<pid>.log, "
                   "as Torc names it)")
    p.add_argument("--gpu-ids", help="GPU device ids, e.g. 0,1 (default: from Slurm or "
                   "CUDA_VISIBLE_DEVICES, else 0..num-gpus-1)")
    add_worker_arguments(p)
    return p


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``torc-worker``."""
    p = build_parser()
    args = p.parse_args(argv)
    check_parsed(p, args)
    if args.target_on_stdin:
        args.url, args.workflow_id = _target_from_stdin()
    elif args.workflow_id is None:
        p.error("the following arguments are required: --workflow-id")
    log_file = _log_file(args)
    if log_file:
        print(f"torc-worker: log in {log_file}", file=sys.stderr, flush=True)
    logs.configure(args.log_level, file=log_file, stderr=not log_file)
    options = options_from_args(args, args.url or default_url(), args.workflow_id)
    started = datetime.now()
    in_allocation = bool(os.environ.get("SLURM_JOB_ID")) and not args.target_on_stdin
    if in_allocation:
        options.output_dir.mkdir(parents=True, exist_ok=True)
        node_logs.capture_env(options.output_dir, args.workflow_id)
    runner = WorkerRunner(options)
    code = asyncio.run(runner.run())
    if in_allocation and (code or runner.jobs_failed):
        node_logs.capture_dmesg(options.output_dir, args.workflow_id, started)
    # Its work is reported, its channel closed and its log written by then.
    exit_now(code, in_process=argv is not None)


if __name__ == "__main__":
    main()
