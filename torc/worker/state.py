"""Everything a worker decides, as one synchronous object: what to claim, its queue of jobs
claimed ahead, hand-offs, the resources and GPUs in use, what to report, when to stop.

:meth:`WorkerState.handle` takes an event (:mod:`torc.worker.stimuli`) and returns the
commands that carry its decision out; :meth:`WorkerState.next_step` says what the main loop
does next. No I/O, no clock, no asyncio: the runner reads the world into events and turns
commands into processes and RPCs, so every decision here is tested without either
(``tests/test_worker_state.py``), in the shape of dask's ``WorkerState.handle_stimulus``.
Hand-offs are kept in :class:`~torc.worker.hand_off_book.HandOffs`.
"""

from __future__ import annotations

import logging
import signal
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from torc.proto import torc_pb2 as pb
from torc.triggers import MAIN_LOOP_TRIGGERS
from torc.worker import claim_policy
from torc.worker.claim_policy import QUEUE_PATIENCE_SECONDS, Ask, ClaimState
from torc.worker.gpus import GpuPool
from torc.worker.hand_off_book import HandOffs
from torc.worker.resources import Resources
from torc.worker.stimuli import (
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
    JobEnded,
    JobExited,
    Kill,
    Note,
    Report,
    ReportsAnswered,
    ReportsFailed,
    RunActions,
    Shutdown,
    Spawn,
    SpawnFailed,
    Step,
    Stop,
    Tick,
    WaitForChange,
    WaitForStop,
)

# An end report may wait this long for others while the worker has queued jobs to go on with:
# fewer, larger reports cost both processes less, and nobody is waiting on this one's slot.
END_REPORT_DELAY = 0.02
# How long an exit by an unexplained SIGTERM waits for the worker's own stop to follow.
SLURM_SIGTERM_WAIT = 0.5
SIGNALS = ("SIGTERM", "SIGINT")


@dataclass(frozen=True, slots=True)
class Limits:
    """What the worker may use and how long it waits, fixed once it is registered."""

    total: Resources
    max_parallel: int = 0  # 0: limited by resources only
    gpu_ids: tuple[str, ...] = ()
    steps: bool = False  # jobs run as Slurm steps (Slurm gives them their GPUs)
    idle_wait: float = 90.0  # 0: never leave for idleness
    ignore_completion: bool = False  # keep the allocation until idle after the workflow


@dataclass(slots=True)
class Slot:
    """A job this worker runs (or is starting)."""

    job: pb.ClaimedJob
    needs: Resources
    final_status: int = 0  # set when the worker stops it: TERMINATED or CANCELED
    refused: bool = False  # a hand-off the coordinator refused: never this worker's


class WorkerState:
    """One worker's decisions. Read its attributes freely; change them only through
    :meth:`handle` and :meth:`next_step`."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.used = Resources(0, 0, 0)
        self.gpus = GpuPool(list(limits.gpu_ids))
        self.running: dict[int, Slot] = {}
        self.queue: deque[pb.ClaimedJob] = deque()  # claimed ahead, not started (pending)
        self.hand_offs = HandOffs()
        self.initialized = False
        self.stopping = False
        self.stop_reason = ""
        self.failure = ""  # why the worker could not finish its work (exit code 1)
        self.canceled = False
        self.workflow_done = False
        self.actions_pending = False
        self.claiming = False  # a claim (long poll, or riding on reports) is in flight
        self.jobs_run = 0
        self.jobs_failed = 0  # not succeeded: the node's kernel log is kept (node_logs)
        self.mean_seconds: float | None = None  # recent job duration (moving average)
        self.dequeued_at = 0.0  # when a job last left the queue (or the queue filled)
        self.idle_since = 0.0
        self._warned = False
        self._then: Step | None = None  # what the main loop does after a claim's answer
        self._handlers: dict[type, Callable[..., list[Command]]] = {
            ClaimAnswered: self._claim_answered, ClaimAbandoned: self._claim_abandoned,
            ReportsAnswered: self._reports_answered, ReportsFailed: self._reports_failed,
            SpawnFailed: self._spawn_failed, JobExited: self._job_exited,
            JobEnded: self._job_ended, CoordinatorCanceled: self._coordinator_canceled,
            IdleChecked: self._idle_checked, Tick: self._tick, Stop: self._stop,
            Shutdown: self._shutdown}

    # ----- the entry points

    def handle(self, event: Event) -> list[Command]:
        """Take one event; the commands that carry out what it means, in order."""
        return self._handlers[type(event)](event)

    def next_step(self, now: float) -> Step:
        """What the main loop does next."""
        if self._then is not None:
            step, self._then = self._then, None
            return step
        if self.stopping:
            return Exit()
        if not self.initialized:
            if self.workflow_done:
                return Exit()
            self.claiming = True
            return Claim(None, peek=True)
        if self.actions_pending:
            # Run before claiming more jobs, as Torc's job runner does: setup actions
            # (on_workflow_start, on_jobs_ready) precede the jobs that follow them.
            self.actions_pending = False
            return RunActions(MAIN_LOOP_TRIGGERS)
        # With jobs queued there is no hurry: topping the queue up rides on the next report.
        ask = None if self.queue else self.offer()
        if ask is None or self.claiming:
            return WaitForChange()
        self.claiming = True
        return Claim(ask, long_poll=not self.queue)

    def report_claim(self) -> Ask | None:
        """What to claim with the reports about to go (None: nothing, or the main loop is
        claiming already: one claimer keeps the offers honest); then a claim is in flight."""
        ask = None if self.claiming else self.offer()
        if ask is not None:
            self.claiming = True
        return ask

    def heartbeat_job_ids(self) -> list[int]:
        """The jobs this worker runs, as heartbeats list them (not unconfirmed hand-offs)."""
        if not self.hand_offs.unconfirmed:
            return sorted(self.running)
        return sorted(self.running.keys() - self.hand_offs.unconfirmed)

    # ----- queries

    def free(self) -> Resources:
        """What no running job holds."""
        return self.limits.total - self.used

    def offer(self) -> Ask | None:
        """What to claim now (see claim_policy.offer), or None."""
        return claim_policy.offer(ClaimState(
            total=self.limits.total, free=self.free(), max_parallel=self.limits.max_parallel,
            running=len(self.running), queued=len(self.queue), mean_seconds=self.mean_seconds,
            stopping=self.stopping, actions_pending=self.actions_pending,
            finished=self.workflow_done or self.canceled))

    # ----- claims

    def _claim_answered(self, e: ClaimAnswered) -> list[Command]:
        self.claiming = False
        a = e.answer
        self.workflow_done = a.workflow_done
        self.actions_pending = a.actions_pending
        out: list[Command] = []
        if a.canceled and not self.canceled:
            self.canceled = True
            out += self._kill_all(pb.CANCELED)
        if e.peek:
            if a.initialized and not self.initialized:
                self.initialized = True
                self.idle_since = e.now
                self._then = RunActions(("on_worker_start",))
            return out
        out += self._admit(a.jobs, e.now)
        self._arm(a.next_jobs)
        if a.jobs or self.running or self.queue:
            self.idle_since = e.now
            if not a.jobs and self.queue:
                self._then = WaitForChange()  # nothing to claim ahead: wait for a job's end
            return out
        idle = self.limits.idle_wait
        if self.workflow_done and not self.actions_pending:
            if not self.limits.ignore_completion:
                self._then = Exit()
                return out
            # compute_node_ignore_workflow_completion: keep the allocation until idle.
            left = idle - (e.now - self.idle_since) if idle else 3600.0
            if left > 0:
                self._then = WaitForStop(left)
                return out
        # With actions pending the coordinator hands out nothing: ready jobs are held back
        # for them, not too big for this worker.
        if a.ready_jobs and not self._warned and not self.actions_pending:
            self._warned = True
            out.append(Note(logging.WARNING, f"{a.ready_jobs} ready job(s) need more resources "
                                             "than this worker has free"))
        if idle and e.now - self.idle_since >= idle:
            self._then = CheckIdle()
        return out

    def _claim_abandoned(self, e: ClaimAbandoned) -> list[Command]:
        self.claiming = False
        return []

    def _idle_checked(self, e: IdleChecked) -> list[Command]:
        if e.could_run_more:
            self.idle_since = e.now
        else:
            self.stop_reason = f"idle for {self.limits.idle_wait:g}s with no job left that fits"
            self._then = Exit()
        return []

    # ----- the queue

    def _admit(self, jobs: Sequence[pb.ClaimedJob], now: float) -> list[Command]:
        """Queue claimed jobs (in the coordinator's priority order) and start what fits."""
        if not jobs:
            return self._drain(now) if self.queue else []
        if not self.queue:
            self.dequeued_at = now
        self.queue.extend(jobs)
        if self.canceled:
            self.queue.clear()  # the coordinator canceled them with the workflow
            return []
        if self.stopping:
            return self._release_queue()  # a claim in flight when the worker was stopped
        return self._drain(now)

    def _drain(self, now: float) -> list[Command]:
        """Start queued jobs from the head while they fit; the head waits for room."""
        out: list[Command] = []
        slots = self.limits.max_parallel
        while self.queue and not self.stopping and not self.canceled:
            needs = Resources.of(self.queue[0])
            if (slots and len(self.running) >= slots) or not self.free().fits(needs):
                break
            cj = self.queue.popleft()
            self.running[cj.id] = Slot(cj, needs)
            self.used = self.used + needs
            gpus = None if self.limits.steps else self.gpus.take(cj.id, cj.num_gpus)
            out.append(Spawn(cj, gpus))
            self.dequeued_at = now
        return out

    def _release_queue(self) -> list[Command]:
        """Give back what was claimed ahead and will not run here: it becomes ready again."""
        out: list[Command] = []
        while self.queue:
            cj = self.queue.popleft()
            self.hand_offs.disarm(cj.id)
            out.append(Report(_released(cj)))
        return out

    def _tick(self, e: Tick) -> list[Command]:
        if not self.queue or e.now - self.dequeued_at <= QUEUE_PATIENCE_SECONDS:
            return []
        # Nothing left the queue for that long: what runs turned out long. The queued jobs
        # go back to other workers, and claiming ahead stops until jobs are short again.
        self.mean_seconds = None
        return [Note(logging.INFO, f"giving back {len(self.queue)} queued job(s): the "
                                   "running ones are long"), *self._release_queue()]

    # ----- job ends

    def _spawn_failed(self, e: SpawnFailed) -> list[Command]:
        slot = self.running.get(e.job_id)
        if slot is None:
            return []
        out: list[Command] = []
        if e.job_id in self.hand_offs.unconfirmed:
            # A hand-off is not claimed: it becomes ready, and whoever claims it sees the
            # same error.
            self.hand_offs.unconfirmed.discard(e.job_id)
        else:
            cj = slot.job
            out.append(Report(pb.JobReport(
                job_id=cj.id, kind=pb.FINISHED, run_id=cj.run_id, attempt_id=cj.attempt_id,
                return_code=127, status=pb.FAILED, start_time=e.at, end_time=e.at)))
        return out + self._release(e.job_id, e.now)

    def _job_exited(self, e: JobExited) -> list[Command]:
        slot = self.running.get(e.job_id)
        if slot is None:
            return []
        if e.rc == -signal.SIGTERM and not slot.final_status:  # a SIGTERM the worker did not send
            if not e.waited:
                return [AwaitStop(e.job_id, e.rc, SLURM_SIGTERM_WAIT)]
            if self.stopping:
                slot.final_status = pb.TERMINATED  # its own stop followed: terminated
        return [Assess(e.job_id, e.rc, slot.final_status)]

    def _job_ended(self, e: JobEnded) -> list[Command]:
        slot = self.running.get(e.job_id)
        if slot is None:
            return []
        out: list[Command] = []
        if e.report is not None:
            self.jobs_run += 1
            self.jobs_failed += not e.succeeded
            self.mean_seconds = e.took if self.mean_seconds is None else \
                0.8 * self.mean_seconds + 0.2 * e.took
            if not slot.refused:
                nxt = self._hand_off(slot, e.succeeded)
                wait = self.queue and not self.stopping
                out.append(Report(e.report, END_REPORT_DELAY if wait else 0.0))
                if nxt is not None:
                    out.append(nxt)
        return out + self._release(e.job_id, e.now)

    def _release(self, job_id: int, now: float) -> list[Command]:
        """The job is over here: free what it held, start what now fits."""
        slot = self.running.pop(job_id)
        self.hand_offs.unconfirmed.discard(job_id)
        self.hand_offs.disarm(job_id)
        self.gpus.give_back(job_id)
        self.used = self.used - slot.needs
        return self._drain(now)

    # ----- hand-offs

    def _arm(self, next_jobs: Sequence[pb.ClaimedJob]) -> None:
        if not (self.stopping or self.canceled):
            self.hand_offs.arm(next_jobs, self.running)

    def _hand_off(self, slot: Slot, succeeded: bool) -> Spawn | None:
        """Start the hand-off armed on ``slot``'s job if it succeeded here."""
        cj = self.hand_offs.take(slot.job.id)
        if cj is None:
            return None
        needs = Resources.of(cj)
        if not (succeeded and not slot.final_status and not self.stopping
                and not self.canceled and not cj.num_gpus and slot.needs.fits(needs)):
            self.hand_offs.disarm(cj.id)
            return None
        self.running[cj.id] = Slot(cj, needs)
        self.used = self.used + needs
        self.hand_offs.unconfirmed.add(cj.id)
        return Spawn(cj, None, after=slot.job.id)

    # ----- the coordinator's answers

    def _reports_answered(self, e: ReportsAnswered) -> list[Command]:
        if e.claimed:
            self.claiming = False
        a = e.answer
        out = self._admit(a.jobs, e.now)
        if self.hand_offs.unconfirmed:
            for job_id in self.hand_offs.answered(e.batch, set(a.refused_job_ids)):
                slot = self.running.get(job_id)
                if slot is not None:
                    slot.refused = True
                    out.append(Note(logging.WARNING, f"coordinator refused hand-off job "
                                                     f"{job_id} ({slot.job.name}): stopped"))
                    out.append(Kill(job_id, 0, refused=True))
        self._arm(a.next_jobs)
        out += [Note(logging.WARNING, f"report rejected: {why}") for why in a.rejected]
        if a.workflow_done:
            self.workflow_done = True
        if a.actions_pending:
            self.actions_pending = True
        return out

    def _reports_failed(self, e: ReportsFailed) -> list[Command]:
        return self._stop(Stop("coordinator error", failure=e.why))

    def _coordinator_canceled(self, e: CoordinatorCanceled) -> list[Command]:
        out: list[Command] = []
        if e.job_ids:
            gone = set(e.job_ids)
            self.queue = deque(cj for cj in self.queue if cj.id not in gone)
        for job_id in e.job_ids:
            slot = self.running.get(job_id)
            if slot is not None and not slot.final_status:
                slot.final_status = pb.CANCELED
                out.append(Note(logging.INFO, f"coordinator canceled job {job_id}"))
                out.append(Kill(job_id, pb.CANCELED))
        if e.shutdown and not self.canceled:
            self.canceled = True
            out += self._kill_all(pb.CANCELED)
        return out

    # ----- stopping

    def _stop(self, e: Stop) -> list[Command]:
        self.failure = self.failure or e.failure
        if self.stopping:
            return [ExitNow()] if e.reason in SIGNALS else []
        self.stopping = True
        self.stop_reason = e.reason
        return [Note(logging.INFO, f"terminating: {e.reason}"), *self._kill_all(pb.TERMINATED),
                *self._release_queue()]

    def _shutdown(self, e: Shutdown) -> list[Command]:
        out = self._release_queue()
        if self.running and not self.stopping:
            out += self._stop(Stop("main loop ended"))
        return out

    def _kill_all(self, final_status: int) -> list[Command]:
        self.hand_offs.armed.clear()
        if final_status == pb.CANCELED:
            self.queue.clear()  # the coordinator canceled them with the workflow
        out: list[Command] = []
        for job_id, slot in self.running.items():
            if not slot.final_status and not slot.refused:
                slot.final_status = final_status
                out.append(Kill(job_id, final_status))
        return out


def _released(cj: pb.ClaimedJob) -> pb.JobReport:
    """A claimed job given back unstarted: it becomes ready again."""
    return pb.JobReport(job_id=cj.id, kind=pb.RELEASED, run_id=cj.run_id,
                        attempt_id=cj.attempt_id)

