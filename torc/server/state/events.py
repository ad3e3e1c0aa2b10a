"""Every change to the coordinator's state, as a typed event.

The service builds one per mutating call, the watchers one per decision of their own; the
store applies them (:meth:`Store.apply`), the WAL stores their encoding, and replay decodes
and applies the same events, so a restart reproduces the live state exactly. An event carries
every decision (ids, timestamps, which jobs a claim gets): applying it never asks the clock.

Encoding (:mod:`event_codec`, version 2): ``{"v": 2, "t": <kind>, <field>: <value>, ...}``
with the field names below. Version 1 records (no ``"v"``, terse keys such as ``wf``, ``r``,
``cid``) are still read. Anything else, an unknown kind, version or field, is damage and
raises ValueError.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, NamedTuple

VERSION = 2


class ReportRow(NamedTuple):
    """One job's start, end or release, as a worker reported it (a list in JSON)."""

    job_id: int
    kind: int  # torc.v1.ReportKind
    return_code: int
    status: int  # the worker's final status (TERMINATED, CANCELED) or 0
    start_time: float
    end_time: float
    run_id: int
    attempt_id: int
    # Newer fields (absent from older records): why, resource figures (peak/avg memory
    # bytes, peak/avg CPU percent), the recovery script's return code, and the mtimes of
    # the output files the job wrote as [file index, mtime] pairs.
    message: str = ""
    metrics: tuple | None = None
    recovery_rc: int | None = None
    output_mtimes: tuple = ()
    # STARTED only: a hand-off, started right after this job succeeded on the same worker.
    after: int = 0


@dataclass(frozen=True, slots=True)
class Event:
    """Base of every event; ``KIND`` names it in the log."""

    KIND = ""
    # Holds only strings, 64-bit integers, finite floats, None and lists (the log encodes it
    # with orjson: see wal.encode_payload).
    PLAIN = False
    # Fields that are plain in an event that is not (encoded with orjson, the rest with json).
    PLAIN_FIELDS: ClassVar[tuple[str, ...]] = ()


@dataclass(frozen=True, slots=True)
class CreateWorkflow(Event):
    """A validated, normalized spec becomes workflow ``workflow_id``."""

    KIND = "create"
    # The job columns, most of a big create's bytes, are plain: normalize leaves only
    # strings, bounded integers, booleans, None and lists of them in a job (no float, so no
    # NaN for orjson to write as null); the spec's free-form metadata is not among them.
    PLAIN_FIELDS = ("job_specs",)
    workflow_id: int
    spec: dict[str, Any]
    user: str
    ts: float
    # The jobs' specs column by column (``job.spec_columns``), and then ``spec`` has no "jobs":
    # a million jobs encode, log and replay as a few long lists instead of a million objects.
    # Records from before it carry the jobs in ``spec``.
    job_specs: dict[str, list[Any]] | None = None

    @classmethod
    def columnar(cls, workflow_id: int, spec: dict[str, Any], user: str,
                 ts: float) -> CreateWorkflow:
        """The event for a normalized spec, its jobs as columns."""
        from torc.server.state.job import dict_columns

        rest = {k: v for k, v in spec.items() if k != "jobs"}
        return cls(workflow_id, rest, user, ts, dict_columns(spec["jobs"]))


@dataclass(frozen=True, slots=True)
class DeleteWorkflow(Event):
    KIND = "delete"
    workflow_id: int
    ts: float


@dataclass(frozen=True, slots=True)
class InitializeWorkflow(Event):
    KIND = "init"
    workflow_id: int
    ts: float
    # [file index, mtime] pairs of the files the caller saw; None when it did not look.
    mtimes: tuple | None = None


@dataclass(frozen=True, slots=True)
class ReinitializeWorkflow(Event):
    KIND = "reinit"
    workflow_id: int
    ts: float
    mtimes: tuple | None = None


@dataclass(frozen=True, slots=True)
class ResetStatus(Event):
    KIND = "reset"
    workflow_id: int
    ts: float
    failed_only: bool = False
    reinit: bool = False
    job_ids: tuple[int, ...] = ()  # only these and their downstream
    retry: bool = False  # the jobs run again in the current run (job_controls.retry_jobs)


@dataclass(frozen=True, slots=True)
class CancelWorkflow(Event):
    KIND = "cancel"
    workflow_id: int
    ts: float


@dataclass(frozen=True, slots=True)
class RegisterWorker(Event):
    KIND = "register"
    worker_id: int
    workflow_id: int
    ts: float
    hostname: str = ""
    slurm_job_id: str = ""
    node_name: str = ""
    resources: dict[str, Any] = field(default_factory=dict)
    pid: int = 0
    role: str = "worker"
    instance: str = ""
    scheduler: str = ""
    output_dir: str = ""  # absent from older records


@dataclass(frozen=True, slots=True)
class UnregisterWorker(Event):
    KIND = "unregister"
    worker_id: int
    ts: float


@dataclass(frozen=True, slots=True)
class ClaimJobs(Event):
    """Jobs the service picked for a worker (it pops them from the ready queue only once this
    event is applied)."""

    KIND = "claim"
    PLAIN = True
    workflow_id: int
    worker_id: int
    job_ids: tuple[int, ...]
    claim_id: int = 0


@dataclass(frozen=True, slots=True)
class Report(Event):
    KIND = "report"
    PLAIN = True  # report_row refuses a time or figure that is not a finite number
    workflow_id: int
    worker_id: int
    rows: tuple[ReportRow, ...]


@dataclass(frozen=True, slots=True)
class ClaimActions(Event):
    KIND = "claim_action"
    workflow_id: int
    worker_id: int
    action_ids: tuple[int, ...]
    claim_id: int = 0


@dataclass(frozen=True, slots=True)
class ActionResult(Event):
    KIND = "action_result"
    workflow_id: int
    worker_id: int
    action_id: int
    execution: dict[str, Any]


@dataclass(frozen=True, slots=True)
class WorkerLost(Event):
    """The coordinator's decision: the worker stopped heartbeating (or its allocation ended)."""

    KIND = "worker_lost"
    worker_id: int
    ts: float


@dataclass(frozen=True, slots=True)
class RecordAllocation(Event):
    KIND = "allocation"
    workflow_id: int
    worker_id: int
    action_id: int
    slurm_job_id: str
    ts: float
    scheduler: str = ""
    num_nodes: int = 1


@dataclass(frozen=True, slots=True)
class AllocationState(Event):
    KIND = "allocation_state"
    workflow_id: int
    slurm_job_id: str
    state: str
    ts: float


@dataclass(frozen=True, slots=True)
class UpdateUserData(Event):
    """A job (or a user) wrote a user data value."""

    KIND = "user_data"
    workflow_id: int
    user_data_id: int
    data: Any
    ts: float


@dataclass(frozen=True, slots=True)
class ImportWorkflow(Event):
    """An exported workflow becomes workflow ``workflow_id``: its spec (validated and
    normalized), with its checked state when kept, and its events."""

    KIND = "import"
    workflow_id: int
    spec: dict[str, Any]
    user: str
    ts: float
    state: dict[str, Any] | None = None
    events: tuple = ()


@dataclass(frozen=True, slots=True)
class ArchiveWorkflow(Event):
    KIND = "archive"
    workflow_id: int
    archived: bool
    ts: float


@dataclass(frozen=True, slots=True)
class CancelJobs(Event):
    """Jobs canceled one by one (the TUI's ``c``, ``t``): killed if running."""

    KIND = "cancel_jobs"
    workflow_id: int
    job_ids: tuple[int, ...]
    ts: float
    terminate: bool = False  # a running job ends terminated rather than canceled


@dataclass(frozen=True, slots=True)
class RemoteWorkers(Event):
    """Hosts added to or removed from the workflow's remote workers (``torc remote``),
    canonical ``[user@]host[:port]`` strings (``torc.hosts``)."""

    KIND = "remote_workers"
    workflow_id: int
    add: tuple[str, ...]
    remove: tuple[str, ...]
    ts: float


@dataclass(frozen=True, slots=True)
class FailPending(Event):
    """Jobs held in pending_failed judged permanent failures (AI-assisted recovery): they
    become failed, and what depends on them is canceled as after any failure."""

    KIND = "fail_pending"
    workflow_id: int
    job_ids: tuple[int, ...]
    ts: float


@dataclass(frozen=True, slots=True)
class AddToWorkflow(Event):
    """Jobs (as columns), files, user data and resource requirements added to a workflow
    not yet initialized, normalized with what it holds (``additions.plan``): indexes count
    on from its entries, so replay appends exactly what was checked."""

    KIND = "add"
    PLAIN_FIELDS = ("job_specs",)
    workflow_id: int
    ts: float
    job_specs: dict[str, list[Any]]
    files: list[dict[str, Any]] = field(default_factory=list)
    user_data: list[dict[str, Any]] = field(default_factory=list)
    resource_requirements: list[dict[str, Any]] = field(default_factory=list)
    slurm_schedulers: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class UpdateJob(Event):
    """``torc jobs update``: a job's priority, requirements or command."""

    KIND = "update_job"
    workflow_id: int
    job_id: int
    ts: float
    priority: int | None = None
    rr_name: str = ""
    resources: dict[str, Any] = field(default_factory=dict)
    command: str | None = None


@dataclass(frozen=True, slots=True)
class GroupCreate(Event):
    KIND = "group_create"
    group_id: int
    name: str
    ts: float
    description: str = ""


@dataclass(frozen=True, slots=True)
class GroupDelete(Event):
    KIND = "group_delete"
    group_id: int
    ts: float


@dataclass(frozen=True, slots=True)
class GroupAddUser(Event):
    KIND = "group_add_user"
    group_id: int
    user: str
    ts: float
    role: str = "member"


@dataclass(frozen=True, slots=True)
class GroupRemoveUser(Event):
    KIND = "group_remove_user"
    group_id: int
    user: str
    ts: float


@dataclass(frozen=True, slots=True)
class GroupAddWorkflow(Event):
    KIND = "group_add_workflow"
    group_id: int
    workflow_id: int
    ts: float


@dataclass(frozen=True, slots=True)
class GroupRemoveWorkflow(Event):
    KIND = "group_remove_workflow"
    group_id: int
    workflow_id: int
    ts: float


KINDS: dict[str, type[Event]] = {cls.KIND: cls for cls in (
    CreateWorkflow, DeleteWorkflow, InitializeWorkflow, ReinitializeWorkflow, ResetStatus,
    CancelWorkflow, RegisterWorker, UnregisterWorker, ClaimJobs, Report, ClaimActions,
    ActionResult, WorkerLost, RecordAllocation, AllocationState, UpdateUserData, UpdateJob,
    AddToWorkflow,
    CancelJobs, FailPending, RemoteWorkers, ImportWorkflow, ArchiveWorkflow,
    GroupCreate, GroupDelete,
    GroupAddUser, GroupRemoveUser, GroupAddWorkflow, GroupRemoveWorkflow)}
