"""A job of a workflow in memory, and one recorded attempt of it (a result)."""

from __future__ import annotations

import hashlib
import json
from operator import attrgetter
from typing import Any, NamedTuple

from torc import states as S

# Optional per-job spec fields, absent for most jobs (a million jobs carry no empty lists).
IO_KEYS = ("input_files", "output_files", "input_user_data", "output_user_data")
_NO_IO: dict[str, list[int]] = {}
_PLUS_ONE = (1).__add__  # spec indices (0-based) to job ids, in C


class Job:
    """A job: static fields from the spec plus its state in the current run."""

    __slots__ = ("id", "name", "command", "invocation_script", "rr", "scheduler",
                 "cancel_on_fail", "supports_termination", "priority", "deps", "dependents",
                 "status", "waiting", "attempt_id", "run_id", "return_code", "worker_id",
                 "retry_on_loss", "handler", "stdio", "io", "digest")

    def __init__(self, job_id: int, spec: dict[str, Any]) -> None:
        self.id = job_id
        self.name: str = spec["name"]
        self.command: str = spec["command"]
        self.invocation_script: str = spec.get("invocation_script") or ""
        self.rr: int = spec["rr"]
        self.scheduler: str | None = spec.get("scheduler")
        self.cancel_on_fail: bool = spec.get("cancel_on_blocking_job_failure", True)
        self.supports_termination: bool = spec.get("supports_termination", False)
        self.priority: int = spec.get("priority", 0)
        # How many times a job lost with its worker runs again before it fails with -128.
        self.retry_on_loss: int = spec.get("retry_on_worker_loss", 0)
        # Index of its failure handler in the workflow's list, or None.
        self.handler: int | None = spec.get("failure_handler")
        self.stdio: dict[str, Any] | None = spec.get("stdio")
        io = {k: spec[k] for k in IO_KEYS if spec.get(k)}
        self.io: dict[str, list[int]] = io or _NO_IO
        # Upstream job ids (1-based); dependents are filled in by the workflow.
        self.deps: tuple[int, ...] = tuple(map(_PLUS_ONE, spec["deps"]))
        self.dependents: tuple[int, ...] = ()
        # A JobStatus; plain ints once read back from a snapshot (the same numbers).
        self.status: int = S.UNINITIALIZED
        self.waiting = 0  # upstream jobs not yet done
        self.attempt_id = 0
        self.run_id = 0
        self.return_code: int | None = None
        self.worker_id = 0
        # What it ran with when it last completed (command and input user data), so that a
        # reinitialize can tell a changed job; 0 when it has not completed. An int: the
        # smallest object a million completed jobs can each hold.
        self.digest = 0

    def to_spec(self) -> dict[str, Any]:
        """The normalized spec entry of this job."""
        spec = {"name": self.name, "command": self.command,
                "invocation_script": self.invocation_script, "deps": [d - 1 for d in self.deps],
                "rr": self.rr, "scheduler": self.scheduler,
                "cancel_on_blocking_job_failure": self.cancel_on_fail,
                "supports_termination": self.supports_termination, "priority": self.priority,
                "retry_on_worker_loss": self.retry_on_loss, **self.io}
        if self.handler is not None:
            spec["failure_handler"] = self.handler
        if self.stdio is not None:
            spec["stdio"] = self.stdio
        return spec

    def inputs_digest(self, user_data: list[dict[str, Any]]) -> int:
        """A hash of what the job runs with: its command and its input user data values."""
        h = hashlib.blake2b(digest_size=8)
        h.update(f"{self.invocation_script}\0{self.command}\0".encode())
        for k in self.io.get("input_user_data", ()):
            h.update(json.dumps(user_data[k].get("data"), sort_keys=True).encode())
        return int.from_bytes(h.digest(), "little") or 1


class Result(NamedTuple):
    """One recorded attempt of a job (a JSON list in snapshots; fields after ``worker_id``
    are newer and default for older snapshots). ``job_id`` is the workflow's own number of
    the job; ``id`` the result's global id (0 in snapshots from before global ids)."""

    job_id: int
    run_id: int
    attempt_id: int
    return_code: int
    status: int
    start_time: float
    end_time: float
    worker_id: int
    message: str = ""
    peak_memory_bytes: int | None = None
    avg_memory_bytes: int | None = None
    peak_cpu_percent: float | None = None
    avg_cpu_percent: float | None = None
    id: int = 0


# Snapshots hold job specs column by column: a million jobs decode as a few long lists, not a
# million small objects (each key written out again), and are rebuilt without a dict each.
DENSE = ("name", "command", "invocation_script", "deps", "rr", "scheduler",
         "cancel_on_blocking_job_failure", "supports_termination", "priority",
         "retry_on_worker_loss")
SPARSE = ("failure_handler", "stdio", *IO_KEYS)


# Each dense spec field but "deps" and the Job attribute that holds it.
_DENSE_ATTRS = {"name": "name", "command": "command", "invocation_script": "invocation_script",
                "rr": "rr", "scheduler": "scheduler",
                "cancel_on_blocking_job_failure": "cancel_on_fail",
                "supports_termination": "supports_termination", "priority": "priority",
                "retry_on_worker_loss": "retry_on_loss"}
_MINUS_ONE = (-1).__add__


def spec_columns(jobs: list[Job]) -> dict[str, list[Any]]:
    """The jobs' normalized specs, one list per field (sparse fields as [index, value]):
    ``dict_columns`` of their ``to_spec``, read column by column off the jobs instead of
    building a dict per job first, which the snapshot child would pay for every job."""
    cols: dict[str, list[Any]] = {}
    for f in DENSE:  # in DENSE's order, as dict_columns writes them
        cols[f] = list(map(attrgetter(_DENSE_ATTRS[f]), jobs)) if f != "deps" else \
            [list(map(_MINUS_ONE, d)) for d in map(attrgetter("deps"), jobs)]  # 0-based
    for f, attr in (("failure_handler", "handler"), ("stdio", "stdio")):
        cols[f] = [[i, v] for i, v in enumerate(map(attrgetter(attr), jobs)) if v is not None]
    ios = list(map(attrgetter("io"), jobs))
    for f in IO_KEYS:
        cols[f] = [[i, io[f]] for i, io in enumerate(ios) if f in io]
    return cols


def dict_columns(specs: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Normalized job specs (dicts) as columns: one list per field, sparse fields as
    [index, value] pairs; :func:`jobs_from_columns` reads them."""
    cols: dict[str, list[Any]] = {f: [s.get(f) for s in specs] for f in DENSE}
    for f in SPARSE:
        cols[f] = [[i, s[f]] for i, s in enumerate(specs) if s.get(f) is not None]
    return cols


def jobs_from_columns(cols: dict[str, list[Any]],
                      state: dict[str, list[Any]] | None = None) -> list[Job]:
    """Jobs rebuilt from :func:`spec_columns` output, with their state columns (status,
    waiting, attempt_id, run_id, return_code, worker_id, digest) when given."""
    n = len(cols["name"])
    sparse: list[dict[str, Any]] = [{} for _ in range(n)] if any(cols[f] for f in SPARSE) \
        else []
    for f in SPARSE:
        for i, value in cols[f]:
            sparse[i][f] = value
    jobs = []
    empty: dict[str, Any] = {}
    for i, (name, command, script, deps, rr, scheduler, cancel, term, priority,
            retry) in enumerate(zip(*(cols[f] for f in DENSE), strict=True)):
        job = Job.__new__(Job)
        extra = sparse[i] if sparse else empty
        job.id, job.name, job.command, job.invocation_script = i + 1, name, command, script or ""
        job.rr, job.scheduler, job.cancel_on_fail = rr, scheduler, cancel
        job.supports_termination, job.priority, job.retry_on_loss = term, priority, retry
        job.handler, job.stdio = extra.get("failure_handler"), extra.get("stdio")
        job.io = ({k: extra[k] for k in IO_KEYS if extra.get(k)} or _NO_IO) if extra \
            else _NO_IO
        job.deps = tuple(map(_PLUS_ONE, deps)) if deps else ()
        job.dependents = ()
        job.status, job.waiting, job.attempt_id, job.run_id = S.UNINITIALIZED, 0, 0, 0
        job.return_code, job.worker_id, job.digest = None, 0, 0
        jobs.append(job)
    restore_state(jobs, state or {})
    return jobs


def restore_state(jobs: list[Job], columns: dict[str, list[Any]]) -> None:
    """Give jobs their state columns (a snapshot's; a column it lacks keeps its default).
    Statuses are checked against the transition table first: a job can be only in a state
    the table reaches, whatever the file says."""
    for status in set(columns.get("status", ())):
        S.check_restored(status, "snapshot job state")
    for field in STATE_FIELDS:
        values = columns.get(field)
        if values is not None:
            for job, value in zip(jobs, values, strict=True):
                setattr(job, field, value)


STATE_FIELDS = ("status", "waiting", "attempt_id", "run_id", "return_code", "worker_id",
                "digest")
