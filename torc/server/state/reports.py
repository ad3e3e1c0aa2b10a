"""A worker's reports applied to the state: a job started (or started as a hand-off), ended
(its result recorded, then retried, held or done) or was given back. Each row is applied or
rejected on its own; re-sent rows are recognised and change nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from torc import states as S
from torc.errors import InvalidArgument, TorcError
from torc.server.state import handoffs
from torc.server.state.job_controls import job_killed
from torc.server.state.records import ReportOutcome, Worker

if TYPE_CHECKING:
    from torc.server.state.events import ReportRow
    from torc.server.state.workflow import Workflow

# Report kinds, as in torc.v1.ReportKind.
STARTED, FINISHED, RELEASED = 1, 2, 3
Note = Callable[[int, float, str, str], None]  # (workflow, time, kind, message) to the feed


def apply_report(wf: Workflow, w: Worker, rows: Iterable[ReportRow], note: Note
                 ) -> ReportOutcome:
    """Apply a batch of reports; each is applied or rejected on its own. Hand-off starts
    (``after``) are accepted or refused here, and the outcome says which."""
    out = ReportOutcome()
    for row in rows:
        try:
            _report_one(wf, w, row, note)
        except TorcError as e:
            out.rejected.append(e.message)
            if row.kind == STARTED and row.after:
                out.refused.append(row.job_id)
            continue
        if row.kind == STARTED and row.after:
            out.handed_off.append(row.job_id)
    return out


def _report_one(wf: Workflow, w: Worker, row: ReportRow, note: Note) -> None:
    job_id, kind, rc, status, start, end, run_id, attempt_id = row[:8]
    job = wf.job(job_id)
    same_attempt = (job.worker_id == w.id and job.run_id == run_id
                    and job.attempt_id == attempt_id)
    if kind == STARTED:
        if same_attempt and job.status in (S.RUNNING, *S.TERMINAL):
            return  # a re-sent report that was already applied
        if row.after:
            handoffs.start_after(wf, w.id, job_id, row.after, run_id, attempt_id)
            w.jobs.add(job_id)
            return
        wf.transitions.start(w.id, job_id, run_id, attempt_id)
    elif kind == FINISHED:
        if same_attempt and job.status in S.TERMINAL and job.return_code is not None:
            return  # re-sent
        if job.status == S.CANCELED and wf.canceled and job.worker_id == w.id:
            w.jobs.discard(job_id)  # canceled while pending; nothing ran to record
            return
        if same_attempt and job_killed(wf, w, job, row):
            return  # canceled or terminated on its own (the TUI's c, t): recorded
        if not status:
            status = S.COMPLETED if rc == 0 else S.FAILED
        outcome = wf.transitions.finish(w.id, job_id, status, rc, start, end, run_id,
                                        attempt_id, row)
        w.jobs.discard(job_id)
        if outcome:
            note(wf.id, end, outcome, f"job {wf.gid(job_id)} ({job.name}) failed "
                       f"with return "
                       f"code {rc}: {wf.results[-1].message}")
        elif status != S.COMPLETED:
            note(wf.id, end, S.name(status),
                       f"job {wf.gid(job_id)} ({job.name}) {S.name(status)} with return code "
                       f"{rc}"
                       + (f": {row.message}" if row.message else ""))
        if wf.done_count == len(wf.jobs):
            note(wf.id, end, "complete", f"workflow {wf.id} complete")
    elif kind == RELEASED:
        wf.transitions.release(w.id, job_id, run_id, attempt_id)
        w.jobs.discard(job_id)
    else:
        raise InvalidArgument(f"job {wf.gid(job_id)}: unknown report kind {kind}")
