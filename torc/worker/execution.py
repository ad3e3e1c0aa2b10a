"""How a worker runs each job beyond starting it: resource sampling and limits (memory and
runtime, Torc's ``execution_config``), output file checks, the failure handler's recovery
script, stdio clean-up; and what the attempt's report says (:class:`Outcome`).

The runner owns the jobs' lifecycle; this module decides what an ended attempt means and
carries out the limits while it runs.
"""

from __future__ import annotations

import asyncio
import json
import logging
import signal
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import cast

import psutil

from torc.proto import torc_pb2 as pb
from torc.spec.settings import matching_rule
from torc.worker import steps
from torc.worker.jobs import JobFactory, RunningJob
from torc.worker.monitor import Monitor, Usage
from torc.worker.process import SAME_AS_STDOUT, JobProcess
from torc.worker.resources import Placement
from torc.worker.worker_options import WorkflowSettings

log = logging.getLogger("torc.worker")

LIMIT_CHECK_SECONDS = 1.0  # memory limits are checked this often when monitoring is off


@dataclass
class Outcome:
    """What an ended attempt is reported as."""

    return_code: int
    status: int = 0  # 0: by the return code; FAILED, TERMINATED or CANCELED
    message: str = ""
    metrics: tuple[int | None, int | None, float | None, float | None] | None = None
    recovery_rc: int | None = None
    output_mtimes: dict[int, float] = field(default_factory=dict)
    series: Usage | None = None  # samples still to store (time_series monitoring)
    recover: bool = False  # its failure handler may run a recovery script

    def report(self, cj: pb.ClaimedJob, start: float, end: float) -> pb.JobReport:
        """The FINISHED report of this attempt."""
        r = pb.JobReport(job_id=cj.id, kind=pb.FINISHED, run_id=cj.run_id,
                         attempt_id=cj.attempt_id, return_code=self.return_code,
                         status=cast(pb.JobStatus, self.status), start_time=start,
                         end_time=end)
        # Set only when there is something to say: most attempts have neither.
        if self.message:
            r.message = self.message
        if self.output_mtimes:
            r.output_mtimes.update(self.output_mtimes)
        if self.metrics is not None:
            for name, value in zip(("peak_memory_bytes", "avg_memory_bytes",
                                    "peak_cpu_percent", "avg_cpu_percent"), self.metrics,
                                   strict=True):
                if value is not None:
                    setattr(r, name, value)
        if self.recovery_rc is not None:
            r.recovery_return_code = self.recovery_rc
        return r


def _mb(n: int) -> str:
    """Bytes in MiB, as every table and Slurm count memory."""
    return f"{n / 2**20:,.0f} MiB"


TIME_SERIES_SCHEMA = """
CREATE TABLE IF NOT EXISTS job_resource_samples (
    job_id INTEGER NOT NULL, timestamp INTEGER NOT NULL, cpu_percent REAL NOT NULL,
    memory_bytes INTEGER NOT NULL, num_processes INTEGER NOT NULL,
    run_id INTEGER, attempt_id INTEGER);
CREATE INDEX IF NOT EXISTS idx_job_resource_samples_job_id ON job_resource_samples(job_id);
CREATE TABLE IF NOT EXISTS job_metadata (job_id INTEGER PRIMARY KEY, job_name TEXT NOT NULL);
"""

class Execution:
    """The worker's per-job policies, configured from the workflow's settings."""

    def __init__(self, workflow_id: int, url: str, output_dir: Path, marker: str) -> None:
        self.workflow_id = workflow_id
        self.url = url
        self.output_dir = output_dir
        self.marker = marker
        self.settings = WorkflowSettings()
        self.monitor: Monitor | None = None
        self.series_path: Path | None = None
        self.placement: Placement | None = None
        self.steps = False  # jobs run as Slurm steps
        self.jobs: JobFactory  # made at configure(), once the worker has its id
        self._runtime_limits = False  # the worker stops jobs that run past their runtime
        self._step_limits: dict[int, int] = {}  # job id -> its step's --time (seconds)

    def configure(self, worker_id: int, settings: WorkflowSettings,
                  placement: Placement) -> None:
        """After registration: what the workflow asks for."""
        self.settings, self.placement = settings, placement
        self.jobs = JobFactory(self.workflow_id, worker_id, self.url, self.output_dir,
                               self.marker)
        mode = settings.execution.get("mode", "direct")
        self.steps = steps.uses_steps(mode, placement.slurm_job_id)
        # Slurm stops a step at its --time itself.
        self._runtime_limits = settings.limit_resources and not self.steps
        if mode == "slurm" and not self.steps:
            log.warning("execution_config.mode is slurm but this worker is in no Slurm "
                        "allocation: jobs run directly")
        if settings.monitoring or settings.limit_resources:
            keep = settings.monitoring and settings.monitor.get("granularity") == "time_series"
            self.monitor = Monitor(keep_series=keep)
            if keep:
                d = self.output_dir / "resource_utilization"
                d.mkdir(parents=True, exist_ok=True)
                self.series_path = d / f"resource_metrics_wf{self.workflow_id}_w{worker_id}.db"

    @property
    def sample_interval(self) -> float:
        """Seconds between samples."""
        if self.settings.monitoring:
            interval = float(self.settings.monitor.get("sample_interval_seconds", 5))
            return min(interval, LIMIT_CHECK_SECONDS) if self.settings.limit_resources \
                else interval
        return LIMIT_CHECK_SECONDS

    def process(self, cj: pb.ClaimedJob, gpu_ids: list[str] | None = None) -> JobProcess:
        """The process of one attempt: the command itself, or a Slurm step running it; with
        the GPU devices it was given."""
        wrap: Callable[[list[str]], list[str]] | None = None
        if self.steps:
            p = self.placement
            assert p is not None

            def in_step(argv: list[str]) -> list[str]:
                argv = steps.srun_argv(self.workflow_id, cj, p.slurm_job_id, p.node_name,
                                       self.settings.execution, p.end_time, argv)
                self._step_limits[cj.id] = steps.time_limit(argv)
                return argv
            wrap = in_step
        env = None
        if gpu_ids is not None:
            devices = ",".join(gpu_ids)
            env = {"CUDA_VISIBLE_DEVICES": devices, "ROCR_VISIBLE_DEVICES": devices}
        return self.jobs.process(cj, wrap, env)

    # ----- while jobs run

    def started(self, rj: RunningJob) -> None:
        """A job's process is running: sample it, and arm its runtime limit."""
        assert rj.process is not None
        if self.monitor is not None:
            self.monitor.add(rj.job.id, rj.process.pid)
        if self._runtime_limits and rj.job.runtime_seconds > 0:
            rj.timer = asyncio.get_running_loop().call_later(
                rj.job.runtime_seconds, self._over_time, rj)

    def _over_time(self, rj: RunningJob) -> None:
        ec = self.settings.execution
        sig = signal.Signals[ec.get("termination_signal", "SIGTERM")]
        lead = float(ec.get("sigterm_lead_seconds", 30))
        log.warning("job %d (%s) ran past its runtime of %gs: %s, SIGKILL in %gs", rj.job.id,
                    rj.job.name, rj.job.runtime_seconds, sig.name, lead)
        rj.limit_kill("timeout", sig, lead)

    async def sample_loop(self, running: dict[int, RunningJob]) -> None:
        """Sample every running job each interval; kill those over their memory limit."""
        assert self.monitor is not None
        while True:
            await asyncio.sleep(self.sample_interval)
            memory = await asyncio.to_thread(self.monitor.sample)
            if not self.settings.limit_resources:
                continue
            for job_id, rss in memory.items():
                rj = running.get(job_id)
                if rj is not None and rj.job.memory_bytes and rss > rj.job.memory_bytes:
                    log.warning("job %d (%s) uses %s, over its memory of %s: killed", job_id,
                                rj.job.name, _mb(rss), _mb(rj.job.memory_bytes))
                    rj.over_memory = rss
                    self._kill_tree(rj)

    def _kill_tree(self, rj: RunningJob) -> None:
        """SIGKILL the job's group and any process of its tree that left the group."""
        rj.limit_kill("oom", signal.SIGKILL, 0)
        if self.monitor is None or rj.process is None:
            return
        for p in self.monitor.tree(rj.process.pid):
            try:
                p.kill()
            except psutil.Error:
                pass

    # ----- when a job ends

    def outcome(self, rj: RunningJob, rc: int) -> Outcome:
        """What the ended attempt is reported as, as far as it is known without waiting:
        :meth:`complete` does the rest when :meth:`needs_completion` says so."""
        cj = rj.job
        if rj.timer is not None:
            rj.timer.cancel()
        usage = self.monitor.remove(cj.id) if self.monitor is not None else None
        out = Outcome(rc, rj.final_status)
        if usage is not None and self.settings.monitoring:
            figures = usage.figures()
            wanted = self.settings.monitor.get("metrics") or ("memory_bytes", "cpu_percent")
            if figures is not None:
                mem, cpu = "memory_bytes" in wanted, "cpu_percent" in wanted
                out.metrics = (figures[0] if mem else None, figures[1] if mem else None,
                               figures[2] if cpu else None, figures[3] if cpu else None)
            if usage.series and self.series_path is not None:
                out.series = usage
        ec = self.settings.execution
        if self.steps and rc != 0 and not rj.final_status and rj.process is not None:
            # Slurm ended the step: its words in the job's stderr (or the time) say why.
            p = rj.process
            err = p.stderr_path if p.stderr_path not in (None, SAME_AS_STDOUT) else \
                p.stdout_path
            rj.limit = steps.why_killed(err, p.end_time - p.start_time,
                                        self._step_limits.pop(cj.id, 0))
        if rj.limit == "oom":
            out.return_code, out.status = int(ec.get("oom_exit_code", 137)), pb.FAILED
            out.message = (f"out of memory: used {_mb(rj.over_memory)}, more than its "
                           f"{_mb(cj.memory_bytes)}") if rj.over_memory else \
                f"out of memory: Slurm killed the step over its {_mb(cj.memory_bytes)}"
        elif rj.limit == "timeout" and rc != 0:
            out.return_code, out.status = int(ec.get("timeout_exit_code", 152)), pb.FAILED
            out.message = f"timeout: ran past its runtime of {cj.runtime_seconds:g}s"
        if out.return_code == 0 and not out.status:
            if cj.output_files:
                self._check_outputs(cj, out)
        if out.return_code == 0 and not out.status:
            self._clean_stdio(cj)
        elif out.status in (0, pb.FAILED) and cj.failure_handler_json:
            out.recover = True
        return out

    @staticmethod
    def needs_completion(out: Outcome) -> bool:
        """Whether :meth:`complete` has work to wait on (samples to store, a failure
        handler to consult)."""
        return out.series is not None or out.recover

    async def complete(self, rj: RunningJob, out: Outcome) -> None:
        """Store the attempt's samples; run the recovery script if its failure handler's
        rule will retry it."""
        if out.series is not None:
            await asyncio.to_thread(self._store_series, rj.job, out.series)
        if out.recover:
            out.recovery_rc = await self._recover(rj.job, out.return_code)

    def _check_outputs(self, cj: pb.ClaimedJob, out: Outcome) -> None:
        missing = []
        for f in cj.output_files:
            path = Path(f.path)  # relative: to where the job ran, the worker's directory
            try:
                out.output_mtimes[f.id] = path.stat().st_mtime
            except OSError:
                missing.append(f"{f.name!r} ({f.path})")
        if missing:
            out.status = pb.FAILED
            out.message = f"exited 0 but did not write its output file(s) {', '.join(missing)}"

    def _clean_stdio(self, cj: pb.ClaimedJob) -> None:
        if not cj.delete_stdio_on_success:
            return
        base = self.jobs.stdio_base(cj)
        for suffix in (".o", ".e"):
            Path(base + suffix).unlink(missing_ok=True)

    async def _recover(self, cj: pb.ClaimedJob, rc: int) -> int | None:
        """Run the recovery script of the rule that will retry this attempt; its return code
        (None when no rule retries it or the rule has no script)."""
        rule = matching_rule(json.loads(cj.failure_handler_json), rc)
        if rule is None or cj.attempt_id >= rule["max_retries"] or not rule["recovery_script"]:
            return None
        proc = self.jobs.recovery(cj, rule["recovery_script"], rc)
        try:
            proc.spawn()
        except (OSError, ValueError):  # the process logged why
            return 127
        code = await proc.wait()
        log.info("job %d (%s): recovery script exited %d", cj.id, cj.name, code)
        return code

    def write_plots(self) -> Path | None:
        """``generate_plots``: this worker's samples as an HTML page beside them."""
        if self.series_path is None or not self.series_path.exists() \
                or not self.settings.monitor.get("generate_plots"):
            return None
        from torc.plots import plot_resources
        page = self.series_path.with_suffix(".html")
        plot_resources(self.series_path, page)
        return page

    def _store_series(self, cj: pb.ClaimedJob, usage: Usage) -> None:
        """Append a job's samples to this worker's SQLite file (Torc's time_series)."""
        assert self.series_path is not None
        with sqlite3.connect(self.series_path) as db:
            # Torc's schema (its users' sqlite3 queries and plots read it), plus the run and
            # attempt each sample belongs to; timestamps keep their fraction of a second.
            db.executescript(TIME_SERIES_SCHEMA)
            db.execute("INSERT OR REPLACE INTO job_metadata VALUES (?, ?)", (cj.id, cj.name))
            db.executemany("INSERT INTO job_resource_samples (job_id, timestamp, memory_bytes, "
                           "cpu_percent, num_processes, run_id, attempt_id) "
                           "VALUES (?,?,?,?,?,?,?)",
                           [(cj.id, *s, cj.run_id, cj.attempt_id) for s in usage.series])
