"""The worker's process shell: register, then carry out what :class:`WorkerState` decides
(start and stop processes, send reports, claim, run actions), feed it what happens, and exit.

Everything runs on one asyncio loop. A job's exit frees its resources and wakes the loop at
once; claims long-poll the coordinator, which answers as soon as the workflow changes, so there
is no timer between a dependency finishing and its dependent starting. No decision is made
here: lifecycle phases (startup, main loop, shutdown) and I/O only.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import signal
import time
from collections import deque
from collections.abc import Callable
from typing import Any

from torc.proto import torc_pb2 as pb
from torc.triggers import MAIN_LOOP_TRIGGERS
from torc.worker import action_runner, output_claim, watchdog
from torc.worker.claim_calls import Claims
from torc.worker.claim_policy import QUEUE_PATIENCE_SECONDS
from torc.worker.connection import CallFailed, Connection
from torc.worker.execution import Execution
from torc.worker.heartbeat import Heartbeat
from torc.worker.job_ends import JobEnds
from torc.worker.jobs import RunningJob
from torc.worker.reporter import START_REPORT_DELAY, Reporter
from torc.worker.state import Limits, WorkerState
from torc.worker.stimuli import (
    Answer,
    Assess,
    AwaitStop,
    CheckIdle,
    Claim,
    ClaimAbandoned,
    ClaimAnswered,
    Command,
    CoordinatorCanceled,
    Event,
    Exit,
    ExitNow,
    IdleChecked,
    Kill,
    Note,
    Report,
    ReportsAnswered,
    ReportsFailed,
    RunActions,
    Shutdown,
    Spawn,
    SpawnFailed,
    Stop,
    Tick,
    WaitForChange,
    WaitForStop,
)
from torc.worker.worker_options import (
    WorkerOptions,
    WorkflowSettings,
    registration,
    workflow_settings,
)

log = logging.getLogger("torc.worker")

SHUTDOWN_PATIENCE_SECONDS = 30.0
STOPPING_PATIENCE_SECONDS = 15.0  # Slurm gives a terminated allocation seconds, not minutes


class WorkerRunner:
    """One worker process's life."""

    def __init__(self, options: WorkerOptions) -> None:
        self.o = options
        self.conn: Connection  # created in run(): an aio channel belongs to the running loop
        self.state: WorkerState  # made once registered: the workflow's settings shape it
        self.claims: Claims
        self.actions: action_runner.ActionRunner
        self.worker_id = 0
        self._changed = asyncio.Event()
        self._stopped = asyncio.Event()
        self._commands: deque[Command] = deque()
        self._carrying_out = False
        self._sequence = itertools.count(1)  # claim ids (jobs and actions)
        self.reporter = Reporter(self._send_reports,
                                 lambda why: self.feed(ReportsFailed(why)))
        self.marker = watchdog.new_marker()
        self.settings = WorkflowSettings()  # the workflow's, once registered
        self.execution = Execution(options.workflow_id, options.url, options.output_dir,
                                   self.marker)
        self.ends = JobEnds(self.execution, self.feed, self._stopped)
        self._do: dict[type, Callable[[Any], None]] = {
            Spawn: self._spawn, Kill: self._kill, Assess: self._assess,
            AwaitStop: self._await_stop, Report: self._report, Note: self._note,
            ExitNow: self._exit_now}

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
            await self._main_loop()
        except CallFailed as e:
            log.error("giving up: %s", e.message)
            self.feed(Stop("coordinator error", failure=e.message))
        finally:
            await self._shutdown(background)
        del watchdog_fd  # kept open until exit: its end tells the watchdog we are gone
        return self._exit_code()

    async def _startup(self) -> list[asyncio.Task]:
        """Connect, register, start heartbeats, the reporter and timers."""
        loop = asyncio.get_running_loop()
        self.conn = Connection(self.o.url)
        self.o.output_dir.mkdir(parents=True, exist_ok=True)
        (self.o.output_dir / "job_stdio").mkdir(parents=True, exist_ok=True)
        reg = await self.conn.call("RegisterWorker", registration(self.o, self.marker))
        self.worker_id = reg.worker_id
        refusal = output_claim.claim(self.o.output_dir, reg.coordinator_id, self.o.url)
        if refusal is not None:
            await self.conn.call("UnregisterWorker",
                                 pb.UnregisterWorkerRequest(worker_id=self.worker_id))
            raise output_claim.Taken(refusal)
        self.settings = workflow_settings(self.o, reg.settings_json)
        self.conn.give_up_after = self.settings.healthy_wait
        p, r = self.o.placement, self.o.resources
        self.execution.configure(self.worker_id, self.settings, p)
        self.state = WorkerState(Limits(
            total=r, max_parallel=self.o.max_parallel_jobs, gpu_ids=tuple(self.o.gpu_ids),
            steps=self.execution.steps, idle_wait=self.settings.idle_wait,
            ignore_completion=self.settings.ignore_completion))
        self.claims = Claims(self.conn, self.o, self.worker_id, self.settings, self._sequence)
        self.actions = action_runner.ActionRunner(self.conn, self.o.workflow_id,
                                                   self.worker_id, self.o.url,
                                                   self.o.output_dir, self.o.schedule_nodes)
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.feed, Stop(signal.Signals(sig).name))
        log.info("worker %d on %s registered with workflow %d (%d CPUs, %.1f GiB, %d GPUs)",
                 self.worker_id, p.node_name or p.hostname, self.o.workflow_id, r.num_cpus,
                 r.memory / (1 << 30), r.num_gpus)
        beat = Heartbeat(self.conn, self.worker_id, reg.heartbeat_interval or 5.0,
                         self.state.heartbeat_job_ids,
                         lambda ids, shutdown: self.feed(CoordinatorCanceled(ids, shutdown)))
        background = [loop.create_task(beat.run()), loop.create_task(self.reporter.run()),
                      loop.create_task(self._ticks())]
        if p.end_time is not None:
            background.append(loop.create_task(self._allocation_timer(p.end_time)))
        if self.execution.monitor is not None:
            background.append(loop.create_task(self.execution.sample_loop(self.ends.procs)))
        return background

    async def _main_loop(self) -> None:
        """Take the state's steps until it says to leave."""
        while True:
            step = self.state.next_step(time.monotonic())
            if isinstance(step, Exit):
                return
            if isinstance(step, RunActions):
                await self._run_actions(list(step.triggers))
            elif isinstance(step, Claim):
                await self._claim(step)
            elif isinstance(step, WaitForChange):
                self._changed.clear()
                # An answer that came while actions ran may have made more pending (and set
                # the event that the clear above just dropped): run them, do not wait.
                if not self.state.actions_pending:
                    await self._changed.wait()
            elif isinstance(step, WaitForStop):
                try:
                    await asyncio.wait_for(self._stopped.wait(), step.seconds)
                except TimeoutError:
                    pass
            elif isinstance(step, CheckIdle):
                fits = await self.claims.could_run_more()
                self.feed(IdleChecked(fits, time.monotonic()))

    async def _shutdown(self, background: list[asyncio.Task]) -> None:
        """Stop jobs, deliver reports, run the last actions, unregister."""
        self.feed(Shutdown())
        while self.state.running:  # each job's end sets _changed
            self._changed.clear()
            await self._changed.wait()
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
        while await self._run_actions(list(MAIN_LOOP_TRIGGERS)):
            pass  # do not exit while an action this worker could run is pending
        await self._run_actions(["on_worker_complete"])
        try:
            await self.conn.call("UnregisterWorker",
                                 pb.UnregisterWorkerRequest(worker_id=self.worker_id), timeout=10)
        except CallFailed as e:
            log.warning("unregister: %s", e.message)
        for t in background:
            t.cancel()
        await self.conn.close()

    @property
    def jobs_failed(self) -> int:
        """Jobs that ran here and did not succeed (0 if it never registered)."""
        state = getattr(self, "state", None)
        return state.jobs_failed if state is not None else 0

    def _exit_code(self) -> int:
        failure = self.state.failure
        if self.reporter.pending:
            failure = failure or "reports could not be delivered"
            log.error("%d report(s) could not be delivered to the coordinator",
                      len(self.reporter.pending))
        log.info("worker %d exits: %s (%d job(s) run)", self.worker_id,
                 self.state.stop_reason or "workflow done", self.state.jobs_run)
        if failure:
            log.error("worker %d could not finish its work: %s", self.worker_id, failure)
            return 1
        return 0

    # ----- feeding the state, carrying out its commands

    def feed(self, event: Event) -> None:
        """Hand the state an event and carry out its commands (and theirs, in order)."""
        self._commands.extend(self.state.handle(event))
        if not self._carrying_out:  # a command that feeds an event queues its commands
            self._carrying_out = True
            try:
                while self._commands:
                    command = self._commands.popleft()
                    self._do[type(command)](command)
            finally:
                self._carrying_out = False
        if self.state.stopping and not self._stopped.is_set():
            self.conn.give_up_after = min(self.conn.give_up_after, STOPPING_PATIENCE_SECONDS)
            self._stopped.set()
        self._changed.set()

    def _spawn(self, c: Spawn) -> None:
        rj = RunningJob(c.job, gpus=c.gpus)
        proc = self.execution.process(c.job, c.gpus)
        try:
            proc.spawn()
        except (OSError, ValueError):  # the process logged why
            self._commands.extend(self.state.handle(
                SpawnFailed(c.job.id, time.time(), time.monotonic())))
            return
        rj.process = proc
        self.execution.started(rj)
        cj = c.job
        if c.after:
            # Right behind its parent's end in the same report.
            log.debug("job %d (%s) started after job %d (hand-off)", cj.id, cj.name, c.after)
            self.reporter.add(pb.JobReport(
                job_id=cj.id, kind=pb.STARTED, run_id=cj.run_id, attempt_id=cj.attempt_id,
                start_time=proc.start_time, after_job_id=c.after))
        else:
            # A start only updates what users see: it rides with the next end (short jobs)
            # or goes after a moment, instead of costing a round trip of its own.
            self.reporter.start(cj.id, cj.run_id, cj.attempt_id, proc.start_time,
                                START_REPORT_DELAY)
        self.ends.follow(rj)

    def _kill(self, c: Kill) -> None:
        rj = self.ends.procs.get(c.job_id)
        if rj is None or rj.process is None:
            return
        if c.refused:
            rj.process.kill(signal.SIGKILL)
        else:
            rj.kill(c.final_status, self.o.termination_grace)

    def _assess(self, c: Assess) -> None:
        self.ends.assess(c.job_id, c.rc, c.final_status)

    def _await_stop(self, c: AwaitStop) -> None:
        self.ends.await_stop(c.job_id, c.rc, c.seconds)

    def _report(self, c: Report) -> None:
        self.reporter.add(c.report, c.delay)

    @staticmethod
    def _note(c: Note) -> None:
        log.log(c.level, "%s", c.message)

    @staticmethod
    def _exit_now(c: ExitNow) -> None:
        log.warning("second stop signal: exiting now")
        os._exit(1)

    # ----- I/O the state asks for

    async def _claim(self, step: Claim) -> None:
        req = self.claims.request(step.ask, self.state.free(), peek=step.peek,
                                  wait=self.o.claim_wait if step.long_poll else 0.0)
        try:
            resp = await self.claims.long_poll(req, self._stopped)
        except BaseException:
            self.feed(ClaimAbandoned())
            raise
        if resp is None:
            self.feed(ClaimAbandoned())
        else:
            self.feed(ClaimAnswered(Answer.of(resp), time.monotonic(), peek=step.peek))

    async def _send_reports(self, batch: list[pb.JobReport]) -> None:
        """Deliver one batch, with a claim for the freed resources in the same round trip
        when the state asks for one."""
        ask = self.state.report_claim()
        claim = None if ask is None else self.claims.request(ask, self.state.free(),
                                                             peek=False, wait=0.0)
        try:
            resp = await self.conn.call("ReportStatus", pb.ReportStatusRequest(
                workflow_id=self.o.workflow_id, worker_id=self.worker_id, reports=batch,
                claim=claim))
        except BaseException:
            if claim is not None:
                self.feed(ClaimAbandoned())
            raise
        self.feed(ReportsAnswered(batch, Answer.of(resp), claim is not None,
                                  time.monotonic()))

    async def _run_actions(self, triggers: list[str]) -> int:
        """Claim and execute every pending action of ``triggers``; returns how many ran."""
        return await self.actions.run(triggers, next(self._sequence))

    async def _ticks(self) -> None:
        while True:
            await asyncio.sleep(QUEUE_PATIENCE_SECONDS / 4)
            self.feed(Tick(time.monotonic()))

    async def _allocation_timer(self, end_time: float) -> None:
        await asyncio.sleep(max(end_time - self.settings.end_buffer - time.time(), 0))
        self.feed(Stop("allocation ends"))
