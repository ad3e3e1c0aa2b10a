"""Job-level events for those watching: ``job_started``, ``job_completed``, ``job_failed``
(Torc's names) and one kind per other state a job enters, as they happen and as history.

They are not kept in the store's feed: a million-job run would push every workflow-level
event out of it and into every snapshot. Live, they are made only while someone watches
(``Store.watch_jobs``): each state change is noted in a list the workflows share, and
turned into items once the event is applied. History comes from what is kept anyway, the
results: every attempt's start and end.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from torc import states as S
from torc.server.state.records import FeedItem

if TYPE_CHECKING:
    from torc.server.state.job import Job
    from torc.server.state.workflow import Workflow

# Past this many job changes in one event (an initialize, a reset, a cancel of a large
# workflow), one summary item stands for them: a watcher's queue stays bounded and a
# browser gets one line, not a million.
ONE_BY_ONE = 1000
HISTORY = 1000  # results per workflow a history goes back

_RAN = (S.COMPLETED, S.FAILED, S.TERMINATED)  # what a job that ran ends in
_TORC_KINDS: dict[int, str] = {S.RUNNING: "job_started", S.COMPLETED: "job_completed",
                               S.FAILED: "job_failed"}


def kind_of(status: int) -> str:
    """The event kind of a job entering ``status``: Torc's names where it has them."""
    return _TORC_KINDS.get(status) or f"job_{S.name(status)}"


def job_item(wf: Workflow, job: Job, status: int, ts: float) -> FeedItem:
    """The item of one job entering ``status`` at ``ts``."""
    gid = wf.gid(job.id)
    text = f"job {gid} ({job.name}) {S.name(status)}"
    if status in S.TERMINAL and job.return_code is not None:
        text += f" with return code {job.return_code}"
    return FeedItem(wf.id, ts, kind_of(status), text, gid, S.name(status))


def drain(changes: list[tuple[Workflow, Job, int, int]], ts: float) -> list[FeedItem]:
    """The items for the job changes an event made (``changes`` is emptied). A job's
    passing states within one event are left out (an initialize takes every job through
    blocked), but a run is not: a job that ended straight from pending (its start and end
    in one report) gets its ``job_started`` first."""
    if len(changes) <= ONE_BY_ONE:
        items: list[FeedItem] = []
        last: set[tuple[int, int]] = set()
        for wf, job, old, new in reversed(changes):
            key = (wf.id, job.id)
            if key not in last:
                last.add(key)
            elif new != S.RUNNING:
                continue
            if new != S.PENDING:  # claimed: a worker's business until it starts
                items.append(job_item(wf, job, new, ts))
            if new in _RAN and old == S.PENDING:
                items.append(job_item(wf, job, S.RUNNING, ts))
        items.reverse()
    else:
        items = []
        final = {(wf.id, job.id): new for wf, job, _, new in changes}  # the last wins
        per_wf: dict[int, dict[str, int]] = {}
        for (wf_id, _), new in final.items():
            counts = per_wf.setdefault(wf_id, {})
            counts[S.name(new)] = counts.get(S.name(new), 0) + 1
        for wf_id, counts in per_wf.items():
            parts = ", ".join(f"{n} {name}" for name, n in sorted(counts.items()))
            items.append(FeedItem(wf_id, ts, "jobs_changed",
                                  f"{sum(counts.values())} jobs changed state: {parts}"))
    changes.clear()
    return items


def history(wf: Workflow, limit: int = HISTORY) -> list[FeedItem]:
    """Job events of the workflow's last ``limit`` results, oldest first: each attempt's
    start and its end."""
    items: list[FeedItem] = []
    for r in wf.results[-limit:] if limit else ():
        if not 0 < r.job_id <= len(wf.jobs):
            continue
        job = wf.jobs[r.job_id - 1]
        gid = wf.gid(job.id)
        items.append(FeedItem(wf.id, r.start_time, "job_started",
                              f"job {gid} ({job.name}) running (run {r.run_id} attempt "
                              f"{r.attempt_id})", gid, "running"))
        name = S.name(r.status)
        items.append(FeedItem(wf.id, r.end_time, kind_of(r.status),
                              f"job {gid} ({job.name}) {name} with return code "
                              f"{r.return_code}", gid, name))
    items.sort(key=lambda f: f.timestamp)
    return items


class JobWatch:
    """Whether job events are being made, and the change list the workflows share then."""

    def __init__(self) -> None:
        self.changes: list[tuple[Workflow, Job, int, int]] | None = None

    def set(self, on: bool, workflows: Iterable[Workflow]) -> None:
        """Start (or stop) noting the job changes of ``workflows`` (all the store's)."""
        if on == (self.changes is not None):
            return
        self.changes = [] if on else None
        for wf in workflows:
            wf.watch = self.changes

    def adopt(self, wf: Workflow) -> None:
        """A workflow new to the store is watched as the others are."""
        wf.watch = self.changes

    def take(self, ts: float) -> list[FeedItem]:
        """The items of the changes noted since the last take."""
        return drain(self.changes, ts) if self.changes else []
