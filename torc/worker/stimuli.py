"""What happens to a worker (events), what it decides to do (commands) and what its main loop
does next (steps): the vocabulary between :class:`~torc.worker.state.WorkerState`, which
decides, and the runner, which carries the decisions out.

Events carry every reading the state needs (the time, a return code, the coordinator's
answer), so the state reads no clock and does no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from torc.proto import torc_pb2 as pb
from torc.worker.claim_policy import Ask

# ----- events


@dataclass(frozen=True, slots=True)
class Answer:
    """What a coordinator's answer (to a claim or to reports) says, as the state needs it."""

    jobs: Sequence[pb.ClaimedJob] = ()  # claimed now, in priority order
    next_jobs: Sequence[pb.ClaimedJob] = ()  # hand-offs: each to start when its parent succeeds
    workflow_done: bool = False
    actions_pending: bool = False
    canceled: bool = False
    initialized: bool = True
    ready_jobs: int = 0  # ready jobs left that did not fit
    refused_job_ids: Sequence[int] = ()  # hand-off starts the coordinator refused
    rejected: Sequence[str] = ()  # reports it rejected, and why

    @classmethod
    def of(cls, resp: pb.ClaimJobResponse | pb.ReportStatusResponse) -> Answer:
        """The parts of a ClaimJob or ReportStatus response the state looks at."""
        if isinstance(resp, pb.ClaimJobResponse):
            return cls(resp.jobs, resp.next_jobs, resp.workflow_done, resp.actions_pending,
                       resp.canceled, resp.initialized, resp.ready_jobs)
        return cls(resp.jobs, resp.next_jobs, resp.workflow_done, resp.actions_pending,
                   refused_job_ids=resp.refused_job_ids, rejected=resp.rejected)


@dataclass(frozen=True, slots=True)
class ClaimAnswered:
    """The main loop's claim came back (``peek``: the one waiting for initialization)."""

    answer: Answer
    now: float  # monotonic seconds
    peek: bool = False


@dataclass(frozen=True, slots=True)
class ClaimAbandoned:
    """The main loop's claim was given up (the worker is stopping)."""


@dataclass(frozen=True, slots=True)
class ReportsAnswered:
    """A batch of reports was delivered (``claimed``: with a claim riding on it)."""

    batch: Sequence[pb.JobReport]
    answer: Answer
    claimed: bool
    now: float


@dataclass(frozen=True, slots=True)
class ReportsFailed:
    """Reports could not be delivered: the worker cannot account for its work."""

    why: str


@dataclass(frozen=True, slots=True)
class SpawnFailed:
    """A job's process could not start (the process logged why)."""

    job_id: int
    at: float  # epoch seconds, for its report
    now: float  # monotonic seconds, for the queue


@dataclass(frozen=True, slots=True)
class JobExited:
    """A job's process exited with ``rc`` (negative: killed by that signal); ``waited``:
    after the pause an unexplained SIGTERM asks for (see :class:`AwaitStop`)."""

    job_id: int
    rc: int
    waited: bool = False


@dataclass(frozen=True, slots=True)
class JobEnded:
    """A job's attempt was assessed: ``report`` says how it ended (None: nothing to report,
    it is only over here), ``succeeded`` whether its dependents may follow it here."""

    job_id: int
    succeeded: bool
    report: pb.JobReport | None
    took: float  # seconds it ran
    now: float


@dataclass(frozen=True, slots=True)
class CoordinatorCanceled:
    """A heartbeat answer: these jobs (or, with ``shutdown``, the workflow) were canceled."""

    job_ids: Sequence[int]
    shutdown: bool


@dataclass(frozen=True, slots=True)
class IdleChecked:
    """Whether a job not yet done would fit this worker (asked after ``idle_wait``)."""

    could_run_more: bool
    now: float


@dataclass(frozen=True, slots=True)
class Tick:
    """Time passed (the queue's patience is measured in these)."""

    now: float


@dataclass(frozen=True, slots=True)
class Stop:
    """Stop asked: a signal's name, "allocation ends", "coordinator error"... ``failure``:
    why the worker cannot finish its work (it then exits non-zero)."""

    reason: str
    failure: str = ""


@dataclass(frozen=True, slots=True)
class Shutdown:
    """The main loop ended: give back the queue, stop what still runs."""


Event = (ClaimAnswered | ClaimAbandoned | ReportsAnswered | ReportsFailed | SpawnFailed
         | JobExited | JobEnded | CoordinatorCanceled | IdleChecked | Tick | Stop | Shutdown)

# ----- commands


@dataclass(frozen=True, slots=True)
class Spawn:
    """Start a job's process and report its start: within ``start_delay`` seconds, or, for a
    hand-off (``after``: its parent), right behind the parent's end. When it cannot start,
    tell the state (:class:`SpawnFailed`)."""

    job: pb.ClaimedJob
    gpus: list[str] | None  # the devices it may use (None: Slurm's or none)
    after: int = 0


@dataclass(frozen=True, slots=True)
class Kill:
    """Stop a job: ``final_status`` TERMINATED or CANCELED (SIGTERM with grace when it
    supports termination, else SIGKILL); ``refused``: a hand-off the coordinator refused,
    SIGKILL at once and never reported."""

    job_id: int
    final_status: int
    refused: bool = False


@dataclass(frozen=True, slots=True)
class Assess:
    """Work out how an ended attempt is reported (as ``final_status`` says it was stopped),
    then tell the state (:class:`JobEnded`)."""

    job_id: int
    rc: int
    final_status: int


@dataclass(frozen=True, slots=True)
class AwaitStop:
    """An exit by a SIGTERM the worker did not send: Slurm signals a whole allocation at once
    and the worker's own stop may follow. Wait up to ``seconds`` for it, then tell the state
    again (:class:`JobExited` with ``waited``)."""

    job_id: int
    rc: int
    seconds: float


@dataclass(frozen=True, slots=True)
class Report:
    """Send a report within ``delay`` seconds."""

    report: pb.JobReport
    delay: float = 0.0


@dataclass(frozen=True, slots=True)
class Note:
    """Something the user should read in the worker's log."""

    level: int  # a logging level
    message: str


@dataclass(frozen=True, slots=True)
class ExitNow:
    """A second stop signal: exit at once."""


Command = Spawn | Kill | Assess | AwaitStop | Report | Note | ExitNow

# ----- main-loop steps


@dataclass(frozen=True, slots=True)
class Claim:
    """Claim ``ask``, or with ``peek`` ask whether the workflow is initialized; with
    ``long_poll`` the coordinator may hold the answer until there is work. Then tell the
    state (:class:`ClaimAnswered`, or :class:`ClaimAbandoned` when stopped)."""

    ask: Ask | None
    peek: bool = False
    long_poll: bool = True


@dataclass(frozen=True, slots=True)
class RunActions:
    """Claim and run the workflow actions of these triggers that this worker can run."""

    triggers: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class WaitForChange:
    """Wait until something changes (a job ends, an answer comes, a stop)."""


@dataclass(frozen=True, slots=True)
class WaitForStop:
    """Wait up to ``seconds`` for a stop (an allocation kept after the workflow is done)."""

    seconds: float


@dataclass(frozen=True, slots=True)
class CheckIdle:
    """Ask the coordinator whether a job not yet done fits (:class:`IdleChecked`)."""


@dataclass(frozen=True, slots=True)
class Exit:
    """Leave the main loop."""


Step = Claim | RunActions | WaitForChange | WaitForStop | CheckIdle | Exit
