"""What workers do to a workflow's jobs: claim, start, release, finish (with the failure
handler's decision), and loss with their worker. A part of each :class:`Workflow`
(``wf.transitions``), whose state machine (``set_status``, ``propagate``) every change goes
through. Pure logic, no I/O.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from torc import states as S
from torc.errors import FailedPrecondition, InvalidArgument
from torc.server.state import failure_handlers
from torc.server.state.events import ReportRow
from torc.server.state.ids import Counters
from torc.server.state.job import Job
from torc.server.state.results import Results


class JobsOwner(Protocol):
    """What the transitions need of their workflow (:class:`Workflow` is one)."""

    results: Results
    counters: Counters
    extra: dict[str, Any]
    file_mtimes: dict[int, float]

    def job(self, job_id: int) -> Job: ...
    def gid(self, job_id: int) -> int: ...
    def set_status(self, job: Job, new: int) -> None: ...
    def propagate(self, finished: list[Job]) -> None: ...
    def after_change(self) -> None: ...
    def unqueue(self, jobs: Iterable[Job]) -> None: ...


class WorkerTransitions:
    """A workflow's jobs as its workers change them (``wf.transitions``)."""

    def __init__(self, wf: JobsOwner) -> None:
        self.wf = wf

    def claim(self, worker_id: int, job_ids: Sequence[int]) -> list[Job]:
        """Hand ready jobs to a worker (pending)."""
        chosen = [self.wf.job(i) for i in job_ids]
        for j in chosen:
            if j.status != S.READY:
                raise FailedPrecondition(
                    f"job {self.wf.gid(j.id)} ({j.name}) is {S.name(j.status)}, not ready; "
                    "cannot claim")
        for j in chosen:
            j.worker_id = worker_id
            self.wf.set_status(j, S.PENDING)
        self.wf.unqueue(chosen)
        return chosen

    def _check_holder(self, job: Job, worker_id: int, run_id: int, attempt_id: int,
                      allowed: tuple[int, ...], what: str) -> None:
        if job.status not in allowed:
            raise FailedPrecondition(
                f"job {self.wf.gid(job.id)} ({job.name}) is {S.name(job.status)}; cannot {what}")
        if job.worker_id != worker_id:
            raise FailedPrecondition(
                f"job {self.wf.gid(job.id)} ({job.name}) is held by worker {job.worker_id}, "
                f"not {worker_id}")
        if (run_id and run_id != job.run_id) or (attempt_id and attempt_id != job.attempt_id):
            raise FailedPrecondition(
                f"job {self.wf.gid(job.id)} ({job.name}): report for run {run_id} attempt "
                f"{attempt_id} is "
                f"stale (current run {job.run_id} attempt {job.attempt_id})")

    def start(self, worker_id: int, job_id: int, run_id: int = 0, attempt_id: int = 0) -> None:
        """A claimed job started running."""
        job = self.wf.job(job_id)
        self._check_holder(job, worker_id, run_id, attempt_id, (S.PENDING,), "start it")
        self.wf.set_status(job, S.RUNNING)

    def start_ready(self, worker_id: int, job: Job) -> None:
        """A ready job runs on a worker without a claim (a hand-off, checked by the caller)."""
        job.worker_id = worker_id
        self.wf.set_status(job, S.RUNNING)
        self.wf.unqueue((job,))

    def release(self, worker_id: int, job_id: int, run_id: int = 0, attempt_id: int = 0) -> None:
        """A claimed job the worker will not run goes back to ready."""
        job = self.wf.job(job_id)
        self._check_holder(job, worker_id, run_id, attempt_id, (S.PENDING,), "release it")
        job.worker_id = 0
        self.wf.set_status(job, S.READY)

    def finish(self, worker_id: int, job_id: int, status: int, return_code: int,
               start: float, end: float, run_id: int = 0, attempt_id: int = 0,
               report: ReportRow | None = None) -> str:
        """A job ended: record its result; then retry it (its failure handler says so),
        hold it (pending_failed), or unblock or cancel its dependents. ``report`` (an
        events.ReportRow) carries the message, resource figures, recovery script outcome
        and output file times. Returns "retried", "pending_failed" or "" (done)."""
        if status not in S.TERMINAL:
            raise InvalidArgument(f"job {self.wf.gid(job_id)}: final status must be terminal, "
                                  f"not {S.NAMES.get(status, status)}")
        job = self.wf.job(job_id)
        self._check_holder(job, worker_id, run_id, attempt_id, (S.PENDING, S.RUNNING), "finish it")
        message = report.message if report is not None else ""
        outcome = ""
        if status == S.FAILED:
            handlers = self.wf.extra.get("failure_handlers") or []
            outcome, why = failure_handlers.decide(
                handlers[job.handler] if job.handler is not None else None,
                bool(self.wf.extra.get("use_pending_failed")), job.attempt_id, return_code,
                report.recovery_rc if report is not None else None)
            message = "; ".join(m for m in (message, why) if m)
        metrics = tuple(report.metrics) if report is not None and report.metrics else ()
        self.wf.results.record(job.id, job.run_id, job.attempt_id, return_code, status, start, end,
                            worker_id, message, *metrics,
                            rid=self.wf.counters.take_result())
        job.return_code = return_code
        if outcome == "retried":
            job.worker_id = 0
            job.attempt_id += 1
            self.wf.set_status(job, S.READY)
            return outcome
        if outcome == "pending_failed":
            self.wf.set_status(job, S.PENDING_FAILED)
            return outcome
        if status == S.COMPLETED:
            job.digest = job.inputs_digest(self.wf.extra.get("user_data") or [])
            if report is not None and report.output_mtimes:
                outputs = set(job.io.get("output_files", ()))
                self.wf.file_mtimes.update({int(k): float(v) for k, v in report.output_mtimes
                                         if k in outputs})
        self.wf.set_status(job, status)
        self.wf.propagate([job])
        self.wf.after_change()
        return outcome

    def lose(self, worker_id: int, job_id: int, ts: float) -> bool:
        """A running job was lost with its worker: run it again as a new attempt while
        ``retry_on_worker_loss`` allows (the lost attempt is recorded with -128), else fail it
        with -128. Returns True when requeued."""
        job = self.wf.job(job_id)
        if job.attempt_id > job.retry_on_loss:
            self.finish(worker_id, job_id, S.FAILED, S.LOST_RETURN_CODE, ts, ts)
            return False
        self.wf.results.record(job.id, job.run_id, job.attempt_id, S.LOST_RETURN_CODE, S.FAILED,
                            ts, ts, worker_id, rid=self.wf.counters.take_result())
        job.worker_id = 0
        job.attempt_id += 1
        self.wf.set_status(job, S.READY)
        return True
