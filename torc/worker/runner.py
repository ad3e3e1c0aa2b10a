"""The worker's main loop: register, run actions, claim and run jobs, report, heartbeat, exit.

Everything runs on one asyncio loop. A job's exit frees its resources and wakes the loop at
once; claims long-poll the coordinator, which answers as soon as the workflow changes, so there
is no timer between a dependency finishing and its dependent starting.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections import deque

from torc.proto import torc_pb2 as pb
from torc.triggers import MAIN_LOOP_TRIGGERS
from torc.worker import actions as worker_actions
from torc.worker import output_claim, watchdog
from torc.worker.claiming import Claiming
from torc.worker.connection import CallFailed, Connection
from torc.worker.execution import Execution
from torc.worker.gpus import GpuPool
from torc.worker.handoffs import HandOffs
from torc.worker.heartbeat import Heartbeat
from torc.worker.job_ends import JobEnds
from torc.worker.jobs import RunningJob
from torc.worker.process import JobProcess
from torc.worker.queueing import QueueAndReports
from torc.worker.reporter import START_REPORT_DELAY, Reporter
from torc.worker.resources import Resources
from torc.worker.settings import WorkerOptions, WorkflowSettings, registration, workflow_settings

log = logging.getLogger("torc.worker")

FINISHED = pb.FINISHED
SHUTDOWN_PATIENCE_SECONDS = 30.0


class WorkerRunner(JobEnds, QueueAndReports, HandOffs, Claiming):
    """One worker process's life."""

    def __init__(self, options: WorkerOptions) -> None:
        self.o = options
        self.conn: Connection  # created in run(): an aio channel belongs to the running loop
        self.worker_id = 0
        self.heartbeat_interval = 5.0
        self.used = Resources(0, 0, 0)
        self.running: dict[int, RunningJob] = {}
        self.stopping = False
        self.stop_reason = ""
        self.workflow_done = False
        self.canceled = False
        self.actions_pending = False
        self._changed = asyncio.Event()
        self._stop_event = asyncio.Event()
        self.reporter = Reporter(self._send_reports, self._reports_failed)
        self.jobs_run = 0
        self._claim_seq = 0
        self._claiming = False  # a claim (long poll or piggybacked on a report) is in flight
        self.queue: deque[pb.ClaimedJob] = deque()  # claimed ahead, not started (pending)
        self.armed: dict[int, pb.ClaimedJob] = {}  # hand-offs (see handoffs.py)
        self.unconfirmed: set[int] = set()
        self._mean_seconds: float | None = None  # recent job duration (moving average)
        self._dequeued_at = 0.0  # when a job last left the queue (or the queue filled)
        self.stdio = options.output_dir / "job_stdio"
        # Why the worker could not finish its work (exit code 1), empty when it could.
        self.failure = ""
        self.marker = watchdog.new_marker()
        self.settings = WorkflowSettings()  # the workflow's, once registered
        self.execution = Execution(options.workflow_id, options.url, options.output_dir,
                                   self.marker)
        self.gpus = GpuPool(options.gpu_ids)

    # ----- lifecycle

    async def run(self) -> int:
        """Run until the workflow is done, the worker is stopped, or it idles out; returns
        the exit code (1 when the worker could not account for its work)."""
        watchdog_fd = watchdog.start(self.marker)  # closed only by this process's exit
        try:
            background = await self._startup()
        except output_claim.Taken as e:
            log.error("cannot start: %s", e.message)
            await self.conn.close()
            return 1
        except CallFailed as e:  # a wrong token, a workflow that is not there: nothing ran
            log.error("cannot start: the coordinator at %s refused or did not answer: %s",
                      self.o.url, e.message)
            await self.conn.close()
            return 1
        try:
            if await self._wait_initialized():
                await self._run_actions(["on_worker_start"])
                await self._main_loop()
        except CallFailed as e:
            log.error("giving up: %s", e.message)
            self.failure = self.failure or e.message
            self.terminate("coordinator error")
        finally:
            await self._shutdown(background)
        del watchdog_fd  # kept open until exit: its end tells the watchdog we are gone
        return self._exit_code()

    async def _startup(self) -> list[asyncio.Task]:
        """Connect, register, start heartbeats, the reporter and timers."""
        loop = asyncio.get_running_loop()
        self.conn = Connection(self.o.url)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.terminate, signal.Signals(sig).name)
        self.o.output_dir.mkdir(parents=True, exist_ok=True)
        self.stdio.mkdir(parents=True, exist_ok=True)
        reg = await self.conn.call("RegisterWorker", registration(self.o, self.marker))
        self.worker_id = reg.worker_id
        refusal = output_claim.claim(self.o.output_dir, reg.coordinator_id, self.o.url)
        if refusal is not None:
            await self.conn.call("UnregisterWorker",
                                 pb.UnregisterWorkerRequest(worker_id=self.worker_id))
            raise output_claim.Taken(refusal)
        self.heartbeat_interval = reg.heartbeat_interval or 5.0
        self.settings = workflow_settings(self.o, reg.settings_json)
        self.conn.give_up_after = self.settings.healthy_wait
        self.execution.configure(self.worker_id, self.settings, self.o.placement)
        self.actions = worker_actions.ActionRunner(self.conn, self.o.workflow_id,
                                                   self.worker_id, self.o.url,
                                                   self.o.output_dir, self.o.schedule_nodes)
        p, r = self.o.placement, self.o.resources
        log.info("worker %d on %s registered with workflow %d (%d CPUs, %.1f GiB, %d GPUs)",
                 self.worker_id, p.node_name or p.hostname, self.o.workflow_id, r.num_cpus,
                 r.memory / (1 << 30), r.num_gpus)
        beat = Heartbeat(self.conn, self.worker_id, self.heartbeat_interval,
                         lambda: sorted(self.running.keys() - self.unconfirmed),
                         self._coordinator_canceled)
        background = [loop.create_task(beat.run()), loop.create_task(self.reporter.run()),
                      loop.create_task(self._queue_patience())]
        if p.end_time is not None:
            background.append(loop.create_task(self._allocation_timer(p.end_time)))
        if self.execution.monitor is not None:
            background.append(loop.create_task(self.execution.sample_loop(self.running)))
        return background

    async def _shutdown(self, background: list[asyncio.Task]) -> None:
        """Stop jobs, deliver reports, run the last actions, unregister."""
        await self._stop_jobs()
        try:
            page = await asyncio.to_thread(self.execution.write_plots)
            if page is not None:
                log.info("resource plots: %s", page)
        except Exception as e:  # a plot must never cost the results
            log.warning("resource plots: %s", e)
        await self.reporter.flushed()
        # Its work is accounted for: what is left (last actions, unregistering) must not hold
        # an allocation for the coordinator's whole outage allowance if it went away.
        self.conn.give_up_after = min(self.conn.give_up_after, SHUTDOWN_PATIENCE_SECONDS)
        await self._finish_actions()
        await self._run_actions(["on_worker_complete"])
        try:
            await self.conn.call("UnregisterWorker",
                                 pb.UnregisterWorkerRequest(worker_id=self.worker_id), timeout=10)
        except CallFailed as e:
            log.warning("unregister: %s", e.message)
        for t in background:
            t.cancel()
        await self.conn.close()

    def _exit_code(self) -> int:
        if self.reporter.pending:
            self.failure = self.failure or "reports could not be delivered"
            log.error("%d report(s) could not be delivered to the coordinator",
                      len(self.reporter.pending))
        log.info("worker %d exits: %s (%d job(s) run)", self.worker_id,
                 self.stop_reason or "workflow done", self.jobs_run)
        if self.failure:
            log.error("worker %d could not finish its work: %s", self.worker_id, self.failure)
            return 1
        return 0

    def terminate(self, reason: str) -> None:
        """Stop: terminate running jobs (SIGTERM if they support it, else SIGKILL).

        A second signal while stopping exits at once.
        """
        if self.stopping:
            if reason in ("SIGTERM", "SIGINT"):
                log.warning("second %s: exiting now", reason)
                os._exit(1)
            return
        log.info("terminating: %s", reason)
        self.stopping = True
        # Slurm gives a terminated allocation seconds, not minutes: stop retrying soon.
        self.conn.give_up_after = min(self.conn.give_up_after, 15.0)
        self.stop_reason = reason
        self._kill_all(pb.TERMINATED)
        self._release_queue()
        self._stop_event.set()
        self._changed.set()

    def _kill_all(self, final_status: int) -> None:
        self.armed.clear()
        if final_status == pb.CANCELED:
            self.queue.clear()  # the coordinator canceled them with the workflow
        for rj in list(self.running.values()):
            self._kill(rj, final_status)

    def _kill(self, rj: RunningJob, final_status: int) -> None:
        rj.kill(final_status, self.o.termination_grace)

    async def _allocation_timer(self, end_time: float) -> None:
        await asyncio.sleep(max(end_time - self.settings.end_buffer - time.time(), 0))
        self.terminate("allocation ends")

    # ----- jobs

    async def _main_loop(self) -> None:
        idle_since = time.monotonic()
        warned = False
        while not self.stopping:
            if self.actions_pending:
                # Run before claiming more jobs, as Torc's job runner does: setup actions
                # (on_workflow_start, on_jobs_ready) precede the jobs that follow them.
                self.actions_pending = False
                await self._run_actions(list(MAIN_LOOP_TRIGGERS))
            # With jobs queued there is no hurry: topping the queue up rides on the next report.
            offer = None if self.queue else self._offer()
            if offer is None or self._claiming:
                self._changed.clear()
                # An answer that came while actions ran may have made more pending (and set
                # the event that the clear above just dropped): run them, do not wait.
                if not self.actions_pending:
                    await self._changed.wait()
                continue
            resp = await self._claim(offer=offer)
            if resp is None:
                continue
            self._admit(resp.jobs)
            self._arm(resp.next_jobs)
            if resp.jobs or self.running or self.queue:
                idle_since = time.monotonic()
                if not resp.jobs and self.queue:
                    # Nothing to claim ahead: wait for a job to end rather than spin.
                    self._changed.clear()
                    await self._changed.wait()
                continue
            idle = self.settings.idle_wait
            if self.workflow_done and not self.actions_pending:
                if not self.settings.ignore_completion:
                    return
                # compute_node_ignore_workflow_completion: keep the allocation until idle.
                left = idle - (time.monotonic() - idle_since) if idle else 3600.0
                if left > 0:
                    try:
                        await asyncio.wait_for(self._stop_event.wait(), left)
                    except TimeoutError:
                        pass
                    continue
            # With actions pending the coordinator hands out nothing: ready jobs are held
            # back for them, not too big for this worker.
            if resp.ready_jobs and not warned and not self.actions_pending:
                warned = True
                log.warning("%d ready job(s) need more resources than this worker has free",
                            resp.ready_jobs)
            if idle and time.monotonic() - idle_since >= idle:
                if not await self._could_run_more():
                    self.stop_reason = f"idle for {idle:g}s with no job left that fits"
                    return
                idle_since = time.monotonic()

    def _start(self, cj: pb.ClaimedJob, needs: Resources) -> None:
        rj = RunningJob(cj, needs)
        # Slurm assigns a step's GPUs itself; a direct job gets devices no other job holds.
        rj.gpus = None if self.execution.steps else self.gpus.take(cj.id, cj.num_gpus)
        self.running[cj.id] = rj
        self.used = self.used + needs
        # Spawned here, not later: a slot freed by a job's end refills in the same step of
        # the loop, instead of after every other callback that step runs.
        try:
            started = self._spawn(rj)
        except BaseException:
            self._release(rj)  # whatever went wrong, it does not hold its slot
            raise
        self._follow(rj, started)

    def _spawn(self, rj: RunningJob) -> bool:
        """Start a claimed job's process and report it; False when it did not start (what
        happened instead is reported)."""
        cj = rj.job
        if self.canceled:
            return False  # the coordinator canceled it with the workflow
        if self.stopping:
            self._report(cj, pb.RELEASED, 0, 0, 0.0, 0.0)  # never started: ready again
            return False
        proc = self._launch(rj)
        if proc is None:
            self._report(cj, FINISHED, 127, pb.FAILED, time.time(), time.time())
            return False
        # A start only updates what users see: it rides with the next end (short jobs) or
        # goes after a moment, instead of costing a round trip of its own.
        self.reporter.start(cj.id, cj.run_id, cj.attempt_id, proc.start_time,
                            START_REPORT_DELAY)
        return True

    def _launch(self, rj: RunningJob) -> JobProcess | None:
        """Spawn a job's process (a claimed job's or a hand-off's) and start watching over
        it; None (the process logged why) when it cannot start: what then is the caller's to
        say."""
        proc = self.execution.process(rj.job, rj.gpus)
        try:
            proc.spawn()
        except (OSError, ValueError):
            return None
        rj.process = proc
        self.execution.started(rj)
        return proc

    async def _stop_jobs(self) -> None:
        self._release_queue()
        if self.running:
            if not self.stopping:
                self.terminate("main loop ended")
            while self.running:  # each job's end sets _changed
                self._changed.clear()
                await self._changed.wait()

    # ----- heartbeats

    def _coordinator_canceled(self, job_ids: list[int], shutdown: bool) -> None:
        """What a heartbeat answer says: jobs (or the whole workflow) were canceled."""
        if job_ids:
            gone = set(job_ids)
            self.queue = deque(cj for cj in self.queue if cj.id not in gone)
        for job_id in job_ids:
            rj = self.running.get(job_id)
            if rj is not None:
                log.info("coordinator canceled job %d", job_id)
                self._kill(rj, pb.CANCELED)
        if shutdown and not self.canceled:
            self.canceled = True
            self._kill_all(pb.CANCELED)
            self._changed.set()

    # ----- actions

    async def _run_actions(self, triggers: list[str]) -> int:
        """Claim and execute every pending action of ``triggers``; returns how many ran."""
        self._claim_seq += 1
        return await self.actions.run(triggers, self._claim_seq)

    async def _finish_actions(self) -> None:
        """Do not exit while an action this worker could run is pending."""
        while await self._run_actions(list(MAIN_LOOP_TRIGGERS)):
            pass
