"""The worker's decisions, driven without processes or a coordinator: every scenario feeds
events to a :class:`WorkerState` and reads the commands it returns, with the state's
invariants checked after every event (as the coordinator's tests check the store's)."""

from __future__ import annotations

import logging
import random
import signal

import pytest

from torc.proto import torc_pb2 as pb
from torc.triggers import MAIN_LOOP_TRIGGERS
from torc.worker.claim_policy import QUEUE_PATIENCE_SECONDS
from torc.worker.resources import Resources
from torc.worker.state import END_REPORT_DELAY, Limits, WorkerState
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
    Stop,
    Tick,
    WaitForChange,
    WaitForStop,
)

GiB = 1 << 30


def job(job_id: int, cpus: int = 1, mem: int = GiB, gpus: int = 0, after: int = 0,
        name: str = "") -> pb.ClaimedJob:
    return pb.ClaimedJob(id=job_id, name=name or f"j{job_id}", num_cpus=cpus,
                         memory_bytes=mem, num_gpus=gpus, run_id=1, attempt_id=1,
                         after_job_id=after)


def check(s: WorkerState, commands: list[Command]) -> None:
    """What must hold after every event, whatever the event."""
    needs = [slot.needs for slot in s.running.values()]
    total = Resources(0, 0, 0)
    for n in needs:
        total = total + n
    assert s.used == total, "used resources are the sum of the running jobs' needs"
    free = s.free()
    assert min(free.num_cpus, free.memory, free.num_gpus) >= 0, "never more than the worker has"
    if s.limits.max_parallel:
        assert len(s.running) <= s.limits.max_parallel
    assert s.hand_offs.unconfirmed <= s.running.keys(), "an unconfirmed hand-off is a running job"
    queued = {cj.id for cj in s.queue}
    assert not queued & s.running.keys(), "a job is queued or running, not both"
    held = [d for ds in s.gpus.held.values() for d in ds]
    assert len(held) == len(set(held)), "no GPU device is given to two jobs"
    assert sorted(held + s.gpus.free) == sorted(s.limits.gpu_ids)
    assert s.gpus.held.keys() <= s.running.keys()
    for c in commands:
        if isinstance(c, Spawn):
            assert not s.stopping and not s.canceled, "nothing starts once stopping"
            assert c.job.id in s.running
        if isinstance(c, Kill):
            assert c.job_id in s.running


class Driver:
    """A worker's state and a clock; every event checked."""

    def __init__(self, cpus: int = 4, mem: int = 16 * GiB, gpus: int = 0, **limits) -> None:
        gpu_ids = tuple(str(i) for i in range(gpus))
        self.s = WorkerState(Limits(total=Resources(cpus, mem, gpus), gpu_ids=gpu_ids,
                                    **limits))
        self.now = 100.0

    def feed(self, event: Event) -> list[Command]:
        out = self.s.handle(event)
        check(self.s, out)
        return out

    def step(self):
        step = self.s.next_step(self.now)
        check(self.s, [])
        return step

    def start(self) -> None:
        """Past initialization and the start actions, into the main loop."""
        assert self.step() == Claim(None, peek=True)
        self.feed(ClaimAnswered(Answer(initialized=True), self.now, peek=True))
        assert self.step() == RunActions(("on_worker_start",))

    def claim(self, *jobs: pb.ClaimedJob, next_jobs=(), **answer) -> list[Command]:
        step = self.step()
        assert isinstance(step, Claim) and not step.peek
        return self.feed(ClaimAnswered(Answer(jobs, next_jobs, **answer), self.now))

    def end(self, job_id: int, rc: int = 0, took: float = 5.0) -> list[Command]:
        """A job's process exits and is assessed as the runner would."""
        out = self.feed(JobExited(job_id, rc))
        assert len(out) == 1 and isinstance(out[0], Assess), out
        a = out[0]
        status = a.final_status
        report = pb.JobReport(job_id=job_id, kind=pb.FINISHED, return_code=rc, status=status)
        return self.feed(JobEnded(job_id, rc == 0 and not status, report, took, self.now))


def spawned(cmds: list[Command]) -> list[int]:
    return [c.job.id for c in cmds if isinstance(c, Spawn)]


def reports(cmds: list[Command], kind: int | None = None) -> list[pb.JobReport]:
    return [c.report for c in cmds if isinstance(c, Report)
            and (kind is None or c.report.kind == kind)]


def killed(cmds: list[Command]) -> dict[int, int]:
    return {c.job_id: c.final_status for c in cmds if isinstance(c, Kill)}


# ----- starting up


def test_the_worker_waits_for_initialization_then_runs_its_start_actions() -> None:
    d = Driver()
    assert d.step() == Claim(None, peek=True)
    d.feed(ClaimAnswered(Answer(initialized=False), d.now, peek=True))
    assert d.step() == Claim(None, peek=True), "not initialized yet: ask again"
    d.feed(ClaimAnswered(Answer(initialized=True), d.now, peek=True))
    assert d.step() == RunActions(("on_worker_start",))
    step = d.step()
    assert isinstance(step, Claim) and step.ask is not None and not step.peek


def test_a_workflow_done_before_initialization_ends_the_worker_without_start_actions() -> None:
    d = Driver()
    d.step()
    d.feed(ClaimAnswered(Answer(initialized=False, workflow_done=True), d.now, peek=True))
    assert d.step() == Exit()


def test_pending_actions_run_before_more_jobs_are_claimed() -> None:
    d = Driver()
    d.start()
    d.claim(actions_pending=True)
    assert d.step() == RunActions(MAIN_LOOP_TRIGGERS)
    assert isinstance(d.step(), Claim)


def test_an_idle_worker_claims_all_it_has_free_and_one_claim_at_a_time() -> None:
    d = Driver(cpus=4, mem=8 * GiB)
    d.start()
    step = d.step()
    assert isinstance(step, Claim)
    assert step.ask is not None and step.ask[0] == Resources(4, 8 * GiB, 0)
    assert d.s.report_claim() is None, "reports do not claim while the main loop does"
    assert d.step() == WaitForChange(), "no second claim while one is in flight"
    d.feed(ClaimAbandoned())
    assert isinstance(d.step(), Claim)


# ----- the queue


def test_claimed_jobs_start_while_they_fit_and_the_rest_wait_in_order() -> None:
    d = Driver(cpus=4)
    d.start()
    out = d.claim(job(1, cpus=2), job(2, cpus=2), job(3, cpus=1), job(4, cpus=1))
    assert spawned(out) == [1, 2]
    assert [cj.id for cj in d.s.queue] == [3, 4], "the head waits for room; order is kept"
    out = d.end(1)
    assert spawned(out) == [3, 4]


def test_max_parallel_jobs_bounds_what_runs_at_once() -> None:
    d = Driver(cpus=64, max_parallel=2)
    d.start()
    out = d.claim(job(1), job(2), job(3))
    assert spawned(out) == [1, 2]
    assert spawned(d.end(2)) == [3]


def test_an_end_report_waits_a_moment_only_while_jobs_are_queued() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2))
    out = d.end(1)
    [end] = [c for c in out if isinstance(c, Report)]
    assert end.delay == END_REPORT_DELAY
    out = d.end(2)
    [end] = [c for c in out if isinstance(c, Report)]
    assert end.delay == 0.0


def test_gpu_jobs_get_devices_no_other_job_holds_and_give_them_back() -> None:
    d = Driver(cpus=8, gpus=3)
    d.start()
    out = d.claim(job(1, gpus=2), job(2, gpus=1), job(3, gpus=1))
    gpus = {c.job.id: c.gpus for c in out if isinstance(c, Spawn)}
    assert gpus == {1: ["0", "1"], 2: ["2"]}
    out = d.end(1)
    assert [c.gpus for c in out if isinstance(c, Spawn)] == [["0"]]


def test_slurm_steps_get_their_gpus_from_slurm() -> None:
    d = Driver(cpus=8, gpus=2, steps=True)
    d.start()
    out = d.claim(job(1, gpus=1))
    assert [c.gpus for c in out if isinstance(c, Spawn)] == [None]


def test_a_job_that_cannot_start_fails_with_127_and_frees_its_slot() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2))
    out = d.feed(SpawnFailed(1, at=1234.0, now=d.now))
    [r] = reports(out, pb.FINISHED)
    assert (r.job_id, r.return_code, r.status, r.end_time) == (1, 127, pb.FAILED, 1234.0)
    assert spawned(out) == [2]


def test_a_job_that_cannot_start_leaves_the_queue_s_patience_on_the_worker_s_clock() -> None:
    """The report's times are wall-clock, the queue's patience is monotonic: a spawn failure
    must not set one from the other (the queue would then never be given back)."""
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2), job(3))
    d.feed(SpawnFailed(1, at=1.7e9, now=d.now))  # job 2 starts in its place
    out = d.feed(Tick(d.now + QUEUE_PATIENCE_SECONDS + 1))
    assert [r.job_id for r in reports(out, pb.RELEASED)] == [3]


def test_a_queue_that_does_not_move_goes_back_to_other_workers() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2), job(3))
    d.s.mean_seconds = 0.1
    assert d.feed(Tick(d.now + QUEUE_PATIENCE_SECONDS / 2)) == []
    out = d.feed(Tick(d.now + QUEUE_PATIENCE_SECONDS + 1))
    assert [r.job_id for r in reports(out, pb.RELEASED)] == [2, 3]
    assert not d.s.queue and d.s.mean_seconds is None, "claiming ahead stops"


def test_short_jobs_are_claimed_ahead_with_the_reports() -> None:
    d = Driver(cpus=2)
    d.start()
    d.claim(job(1), job(2))
    d.end(1, took=0.01)
    ask = d.s.report_claim()
    assert ask is not None and ask[3] > 0, "short jobs: a claim ahead rides on the report"
    assert d.s.report_claim() is None, "one claim in flight"
    batch = [pb.JobReport(job_id=1, kind=pb.FINISHED)]
    out = d.feed(ReportsAnswered(batch, Answer([job(3), job(4)]), True, d.now))
    assert spawned(out) == [3] and [cj.id for cj in d.s.queue] == [4]
    assert not d.s.claiming


# ----- hand-offs


def test_a_hand_off_starts_when_its_parent_succeeds_right_behind_its_end() -> None:
    d = Driver(cpus=2)
    d.start()
    d.claim(job(1), next_jobs=[job(2, after=1)])
    out = d.end(1)
    kinds = [type(c).__name__ for c in out]
    assert kinds == ["Report", "Spawn"], "the parent's end, then the hand-off's start"
    assert out[1] == Spawn(job(2, after=1), None, after=1)
    assert d.s.heartbeat_job_ids() == [], "not the worker's until the coordinator says so"
    batch = [pb.JobReport(job_id=1, kind=pb.FINISHED),
             pb.JobReport(job_id=2, kind=pb.STARTED, after_job_id=1)]
    d.feed(ReportsAnswered(batch, Answer(), False, d.now))
    assert d.s.heartbeat_job_ids() == [2]


def test_a_chain_of_hand_offs_follows_link_by_link() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), next_jobs=[job(2, after=1), job(3, after=2)])
    assert spawned(d.end(1)) == [2]
    assert spawned(d.end(2)) == [3]


@pytest.mark.parametrize("rc", [1, -signal.SIGKILL])
def test_a_failed_parent_drops_its_hand_off_and_theirs(rc: int) -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), next_jobs=[job(2, after=1), job(3, after=2)])
    out = d.end(1, rc=rc)
    assert spawned(out) == [] and d.s.hand_offs.armed == {}


def test_hand_offs_that_need_gpus_or_more_than_the_parent_held_are_not_taken() -> None:
    d = Driver(cpus=8, gpus=1)
    d.start()
    d.claim(job(1, cpus=1), job(2, cpus=1),
            next_jobs=[job(3, cpus=1, gpus=1, after=1), job(4, cpus=2, after=2)])
    assert spawned(d.end(1)) == []
    assert spawned(d.end(2)) == []


def test_a_refused_hand_off_is_killed_and_its_end_never_reported() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), next_jobs=[job(2, after=1)])
    d.end(1)
    batch = [pb.JobReport(job_id=2, kind=pb.STARTED, after_job_id=1)]
    out = d.feed(ReportsAnswered(batch, Answer(refused_job_ids=[2]), False, d.now))
    assert [c for c in out if isinstance(c, Kill)] == [Kill(2, 0, refused=True)]
    out = d.end(2, rc=-signal.SIGKILL)
    assert reports(out) == [] and not d.s.running


def test_a_hand_off_that_cannot_start_is_left_to_the_coordinator() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), next_jobs=[job(2, after=1)])
    d.end(1)
    out = d.feed(SpawnFailed(2, at=0.0, now=d.now))
    assert reports(out) == [], "not claimed: it becomes ready, whoever claims it sees why"
    assert not d.s.running and not d.s.hand_offs.unconfirmed


def test_a_stop_racing_a_hand_off_starts_nothing_and_terminates_the_parent() -> None:
    d = Driver(cpus=2)
    d.start()
    d.claim(job(1), next_jobs=[job(2, after=1)])
    out = d.feed(Stop("SIGTERM"))
    assert killed(out) == {1: pb.TERMINATED} and d.s.hand_offs.armed == {}
    out = d.end(1, rc=-signal.SIGTERM)
    assert spawned(out) == []
    [r] = reports(out, pb.FINISHED)
    assert r.status == pb.TERMINATED


def test_hand_offs_from_an_answer_after_a_stop_are_ignored() -> None:
    d = Driver(cpus=2)
    d.start()
    d.claim(job(1))
    d.feed(Stop("allocation ends"))
    d.feed(ReportsAnswered([], Answer(next_jobs=[job(2, after=1)]), False, d.now))
    assert d.s.hand_offs.armed == {}


# ----- stopping and canceling


def test_an_allocation_ending_mid_queue_gives_the_queue_back_and_terminates_the_rest() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2), job(3))
    out = d.feed(Stop("allocation ends"))
    assert killed(out) == {1: pb.TERMINATED}
    assert [r.job_id for r in reports(out, pb.RELEASED)] == [2, 3]
    assert d.s.stop_reason == "allocation ends"
    out = d.end(1, rc=-signal.SIGTERM)
    assert spawned(out) == [] and not d.s.running
    assert d.step() == Exit()


def test_jobs_claimed_while_stopping_are_given_back_unstarted() -> None:
    d = Driver()
    d.start()
    d.step()
    d.feed(Stop("SIGTERM"))
    out = d.feed(ClaimAnswered(Answer([job(1), job(2)]), d.now))
    assert spawned(out) == [] and [r.job_id for r in reports(out, pb.RELEASED)] == [1, 2]


def test_a_second_stop_signal_exits_at_once_other_second_stops_do_not() -> None:
    d = Driver()
    d.start()
    d.feed(Stop("allocation ends"))
    assert d.feed(Stop("coordinator error")) == []
    assert d.feed(Stop("SIGINT")) == [ExitNow()]


def test_the_coordinator_cancels_one_running_and_one_queued_job() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2), job(3))
    out = d.feed(CoordinatorCanceled([1, 3], False))
    assert killed(out) == {1: pb.CANCELED}
    assert [cj.id for cj in d.s.queue] == [2]
    out = d.end(1, rc=-signal.SIGTERM)
    [r] = reports(out, pb.FINISHED)
    assert r.status == pb.CANCELED, "a kill the worker sent is never taken for Slurm's"
    assert spawned(out) == [2]


@pytest.mark.parametrize("how", ["heartbeat", "claim"])
def test_a_canceled_workflow_kills_everything_and_drops_what_comes(how: str) -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2))
    if how == "heartbeat":
        out = d.feed(CoordinatorCanceled([], True))
    else:
        d.s.claiming = True
        out = d.feed(ClaimAnswered(Answer(canceled=True), d.now))
    assert killed(out) == {1: pb.CANCELED}
    assert reports(out) == [] and not d.s.queue, "canceled with the workflow: no release"
    out = d.feed(ReportsAnswered([], Answer([job(5)]), False, d.now))
    assert spawned(out) == [] and not d.s.queue


def test_an_unexplained_sigterm_waits_for_the_worker_s_own_stop() -> None:
    d = Driver()
    d.start()
    d.claim(job(1), job(2))
    assert d.feed(JobExited(1, -signal.SIGTERM)) == [AwaitStop(1, -signal.SIGTERM, 0.5)]
    d.feed(Stop("SIGTERM"))  # Slurm signals the allocation; the worker's own stop follows
    assert d.feed(JobExited(1, -signal.SIGTERM, waited=True)) == \
        [Assess(1, -signal.SIGTERM, pb.TERMINATED)]
    # Killed by the worker (final status set): assessed at once, never waited on.
    d2 = Driver()
    d2.start()
    d2.claim(job(1))
    d2.feed(Stop("SIGTERM"))
    assert d2.feed(JobExited(1, -signal.SIGTERM)) == [Assess(1, -signal.SIGTERM, pb.TERMINATED)]


def test_an_unexplained_sigterm_with_no_stop_following_is_a_failure() -> None:
    d = Driver()
    d.start()
    d.claim(job(1))
    d.feed(JobExited(1, -signal.SIGTERM))
    assert d.feed(JobExited(1, -signal.SIGTERM, waited=True)) == \
        [Assess(1, -signal.SIGTERM, 0)]


def test_reports_that_cannot_be_delivered_stop_the_worker_as_a_failure() -> None:
    d = Driver()
    d.start()
    d.claim(job(1))
    out = d.feed(ReportsFailed("reports not delivered: unavailable"))
    assert killed(out) == {1: pb.TERMINATED}
    assert d.s.failure == "reports not delivered: unavailable"
    assert d.s.stop_reason == "coordinator error"


def test_rejected_reports_are_logged() -> None:
    d = Driver()
    d.start()
    out = d.feed(ReportsAnswered([], Answer(rejected=["job 9: unknown"]), False, d.now))
    assert Note(logging.WARNING, "report rejected: job 9: unknown") in out


def test_the_main_loop_ending_stops_what_runs_and_gives_back_the_queue() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2))
    out = d.feed(Shutdown())
    assert killed(out) == {1: pb.TERMINATED}
    assert [r.job_id for r in reports(out, pb.RELEASED)] == [2]
    assert d.s.stop_reason == "main loop ended"


# ----- leaving


def test_a_done_workflow_ends_the_worker_once_nothing_runs() -> None:
    d = Driver()
    d.start()
    d.claim(workflow_done=True)
    assert d.step() == Exit()


def test_ignore_workflow_completion_keeps_the_allocation_until_idle() -> None:
    d = Driver(idle_wait=60.0, ignore_completion=True)
    d.start()
    d.now += 10
    d.claim(workflow_done=True)
    assert d.step() == WaitForStop(50.0)


def test_an_idle_worker_asks_before_leaving_and_leaves_when_nothing_fits() -> None:
    d = Driver(idle_wait=30.0)
    d.start()
    d.claim()
    d.now += 31
    d.claim()
    assert d.step() == CheckIdle()
    d.feed(IdleChecked(True, d.now))
    d.now += 31
    d.claim()
    assert d.step() == CheckIdle()
    d.feed(IdleChecked(False, d.now))
    assert d.step() == Exit()
    assert d.s.stop_reason == "idle for 30s with no job left that fits"


def test_jobs_that_do_not_fit_are_warned_about_once() -> None:
    d = Driver()
    d.start()
    out = d.claim(ready_jobs=3)
    assert [c.level for c in out if isinstance(c, Note)] == [logging.WARNING]
    assert not [c for c in d.claim(ready_jobs=3) if isinstance(c, Note)]


def test_a_claim_with_nothing_new_while_jobs_are_queued_waits_for_a_job_to_end() -> None:
    d = Driver(cpus=1)
    d.start()
    d.claim(job(1), job(2))
    d.s.queue.clear()  # the queue drained by reports meanwhile, then refilled
    d.feed(ReportsAnswered([], Answer([job(3)]), False, d.now))
    assert d.step() == WaitForChange()


# ----- everything at once


@pytest.mark.parametrize("seed", range(40))
def test_random_event_sequences_keep_every_invariant(seed: int) -> None:
    """Claims, ends, failures, hand-offs, refusals, cancels, ticks and stops in random order:
    the invariants hold after each, and every claimed job is accounted for exactly once."""
    rng = random.Random(seed)
    d = Driver(cpus=rng.choice([1, 2, 4]), gpus=rng.choice([0, 2]),
               max_parallel=rng.choice([0, 2]))
    d.start()
    next_id = 1
    accounted: dict[int, int] = {}  # job id -> FINISHED/RELEASED reports, or 1 if canceled

    def note(out: list[Command]) -> None:
        for r in reports(out):
            if r.kind in (pb.FINISHED, pb.RELEASED):
                accounted[r.job_id] = accounted.get(r.job_id, 0) + 1

    claimed: set[int] = set()
    for _ in range(150):
        roll = rng.random()
        if roll < 0.3 and not d.s.stopping:
            n = rng.randint(0, 4)
            jobs = [job(next_id + i, cpus=rng.choice([1, 1, 2]),
                        gpus=rng.choice([0, 0, 1]) if d.s.limits.gpu_ids else 0)
                    for i in range(n)]
            jobs = [j for j in jobs if Resources.of(j).num_cpus <= d.s.limits.total.num_cpus]
            held = list(d.s.running)
            nxt = [job(next_id + n + i, after=p) for i, p in enumerate(held[:2])
                   if rng.random() < 0.5]
            next_id += n + 2
            claimed |= {j.id for j in jobs}
            note(d.feed(ReportsAnswered([], Answer(jobs, nxt), False, d.now)))
        elif roll < 0.65 and d.s.running:
            job_id = rng.choice(list(d.s.running))
            rc = rng.choice([0, 0, 0, 1, -signal.SIGTERM])
            out = d.feed(JobExited(job_id, rc))
            if out and isinstance(out[0], AwaitStop):
                out = d.feed(JobExited(job_id, rc, waited=True))
            a = out[0]
            assert isinstance(a, Assess)
            report = pb.JobReport(job_id=job_id, kind=pb.FINISHED, return_code=rc,
                                  status=a.final_status)
            out = d.feed(JobEnded(job_id, rc == 0 and not a.final_status, report, 0.1, d.now))
            claimed |= set(spawned(out))
            note(out)
        elif roll < 0.7 and d.s.running:
            job_id = rng.choice(list(d.s.running))
            out = d.feed(SpawnFailed(job_id, at=0.0, now=d.now))
            note(out)
        elif roll < 0.75 and d.s.hand_offs.unconfirmed:
            job_id = rng.choice(sorted(d.s.hand_offs.unconfirmed))
            batch = [pb.JobReport(job_id=job_id, kind=pb.STARTED, after_job_id=1)]
            refused = [job_id] if rng.random() < 0.5 else []
            out = d.feed(ReportsAnswered(batch, Answer(refused_job_ids=refused), False, d.now))
            if refused:
                claimed.discard(job_id)
        elif roll < 0.8:
            d.now += rng.choice([0.1, 5.0])
            note(d.feed(Tick(d.now)))
        elif roll < 0.83 and d.s.running:
            d.feed(CoordinatorCanceled([rng.choice(list(d.s.running))], False))
        elif roll < 0.85:
            note(d.feed(Stop("allocation ends")))
    note(d.feed(Shutdown()))
    while d.s.running:  # let every process end
        job_id = next(iter(d.s.running))
        out = d.feed(JobExited(job_id, -signal.SIGKILL))
        a = out[0]
        assert isinstance(a, Assess)
        report = pb.JobReport(job_id=job_id, kind=pb.FINISHED, status=a.final_status)
        note(d.feed(JobEnded(job_id, False, report, 0.1, d.now)))
    assert not d.s.queue and d.s.used == Resources(0, 0, 0)
    assert all(n == 1 for n in accounted.values()), "no job reported over twice"
    assert accounted.keys() <= claimed, "only jobs this worker held are reported"
