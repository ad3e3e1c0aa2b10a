"""The coordinator's whole state, changed only by :meth:`Store.apply`.

Events are typed (:mod:`torc.server.state.events`). The gRPC service builds one per mutating call
and applies it; recovery applies the same events read back from the WAL. ``apply`` checks
everything before it changes anything, so a rejected event leaves the state as it was and is
never logged; it takes every decision (ids, timestamps, which jobs a claim gets) from the
event, never from the clock or the ready queue, so replay reproduces the live state exactly;
and it returns what the event means outside the state (Effects), for the service to carry out.

Heartbeat times (``Worker.last_heartbeat``) are the one thing outside the log, by design: they
change every second per worker, and a restart gives every worker a fresh grace period anyway.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from torc import states as S
from torc.errors import FailedPrecondition, InvalidArgument, NotFound
from torc.server.state import (
    additions,
    allocation_events,
    changes,
    export,
    ids,
    live,
    remote_workers,
)
from torc.server.state import events as E
from torc.server.state.access import AccessGroups
from torc.server.state.job import Job, jobs_from_columns
from torc.server.state.job_controls import cancel_jobs, fail_pending, retry_jobs
from torc.server.state.job_updates import update_job
from torc.server.state.records import Effects, Feed, FeedItem, ReportOutcome, Worker
from torc.server.state.reports import apply_report
from torc.server.state.workflow import Workflow

CHECK_INVARIANTS = os.environ.get("TORC_CHECK_INVARIANTS") == "1"


class Store:
    """All workflows and workers."""

    def __init__(self) -> None:
        self.workflows: dict[int, Workflow] = {}
        self.workers: dict[int, Worker] = {}
        self.next_workflow_id = 1
        self.next_worker_id = 1
        self.counters = ids.Counters()  # global job, file, user data and result ids
        self.feed = Feed()
        self.job_watch = live.JobWatch()  # job events, made only while someone watches
        self.groups = AccessGroups()
        self._handlers: dict[type[E.Event], Callable[[Any], Any]] = {
            E.CreateWorkflow: self._create,
            E.DeleteWorkflow: self._delete,
            E.InitializeWorkflow: self._init,
            E.ReinitializeWorkflow: self._reinit,
            E.ResetStatus: self._reset,
            E.CancelWorkflow: self._cancel,
            E.RegisterWorker: self._register,
            E.UnregisterWorker: self._unregister,
            E.ClaimJobs: self._claim,
            E.Report: self._report,
            E.ClaimActions: self._claim_action,
            E.ActionResult: self._action_result,
            E.WorkerLost: self._worker_lost,
            E.RecordAllocation: lambda ev: allocation_events.record(
                self.workflow(ev.workflow_id), self.worker(ev.worker_id), ev, self._note),
            E.AllocationState: lambda ev: allocation_events.set_state(
                self.workflow(ev.workflow_id), ev, self._note),
            E.UpdateUserData: self._update_user_data,
            E.UpdateJob: self._update_job,
            E.AddToWorkflow: self._add,
            E.CancelJobs: self._cancel_jobs,
            E.FailPending: self._fail_pending,
            E.RemoteWorkers: self._remote_workers,
            E.ImportWorkflow: self._import,
            E.ArchiveWorkflow: self._archive,
            **{t: self.groups.apply for t in (E.GroupCreate, E.GroupDelete, E.GroupAddUser,
                                              E.GroupRemoveUser, E.GroupAddWorkflow,
                                              E.GroupRemoveWorkflow)},
        }
        self._fx = Effects()

    # ----- lookups

    def workflow(self, wf_id: int) -> Workflow:
        """Workflow by id, or NotFound."""
        wf = self.workflows.get(wf_id)
        if wf is None:
            raise NotFound(f"workflow {wf_id} does not exist")
        return wf

    def worker(self, worker_id: int) -> Worker:
        """Worker by id, or NotFound."""
        w = self.workers.get(worker_id)
        if w is None:
            raise NotFound(f"worker {worker_id} does not exist")
        return w

    def live_worker(self, worker_id: int, wf_id: int) -> Worker:
        """A worker allowed to act on ``wf_id``: registered to it, not lost, not gone."""
        w = self.worker(worker_id)
        if w.lost:
            raise FailedPrecondition(f"worker {worker_id} was declared lost; its reports are "
                                     "rejected")
        if not w.active:
            raise FailedPrecondition(f"worker {worker_id} has unregistered")
        if w.workflow_id != wf_id:
            raise InvalidArgument(f"worker {worker_id} belongs to workflow {w.workflow_id}, "
                                  f"not {wf_id}")
        return w

    def _note(self, wf_id: int, ts: float, kind: str, message: str) -> None:
        item = FeedItem(wf_id, ts, kind, message)
        self.feed.append(item)
        self._fx.feed.append(item)

    def _wake(self, wf_id: int) -> None:
        """Claimers long-polling on the workflow should look again."""
        self._fx.wake.add(wf_id)

    # ----- apply

    def apply(self, event: E.Event) -> tuple[Any, Effects]:
        """Apply one event; returns (result, effects) for the service to carry out.

        Raises TorcError, with the state unchanged, when the event is illegal.
        """
        handler = self._handlers.get(type(event))
        if handler is None:
            raise InvalidArgument(f"unknown event type {type(event).__name__}")
        self._fx = Effects()
        if self.job_watch.changes:  # noted by an event that was refused half-way
            self.job_watch.changes.clear()
        result = handler(event)
        if self.job_watch.changes:
            self._fx.live = self.job_watch.take(getattr(event, "ts", 0.0))
        if CHECK_INVARIANTS:
            self.check()
        return result, self._fx

    def check(self) -> None:
        """Verify every invariant (AssertionError); after every apply when the environment
        sets TORC_CHECK_INVARIANTS=1, as the test suite does for the coordinators it starts."""
        for wf in self.workflows.values():
            wf.check()
        for w in self.workers.values():
            wf = self.workflows.get(w.workflow_id)
            if not w.active or wf is None:
                assert not w.jobs, f"worker {w.id} is gone but holds jobs {sorted(w.jobs)}"
                continue
            for job_id in w.jobs:
                job = wf.jobs[job_id - 1]
                assert job.worker_id == w.id and job.status in (S.PENDING, S.RUNNING), \
                    f"worker {w.id} holds job {job_id}, which is {S.name(job.status)} " \
                    f"on worker {job.worker_id}"

    def _create(self, ev: E.CreateWorkflow) -> Workflow:
        wf_id = ev.workflow_id
        if wf_id in self.workflows:
            raise FailedPrecondition(f"workflow {wf_id} already exists")
        jobs = jobs_from_columns(ev.job_specs) if ev.job_specs is not None else None
        wf = Workflow(wf_id, ev.spec, ev.user, ev.ts, jobs)
        ids.assign(self.counters, wf)
        self.workflows[wf_id] = wf
        self.job_watch.adopt(wf)
        self.next_workflow_id = max(self.next_workflow_id, wf_id + 1)
        self._note(wf_id, ev.ts, "created", f"workflow {wf.name!r} with {len(wf.jobs)} jobs")
        return wf

    def _import(self, ev: E.ImportWorkflow) -> Workflow:
        """Like a create; with the export's state (checked by the service) applied."""
        wf = self._create(E.CreateWorkflow(ev.workflow_id, ev.spec, ev.user, ev.ts))
        if ev.state is not None:
            export.apply_state(wf, export.restored(ev.state))
            wf.results.number(self.counters)  # new ids: the export's were another store's
        for ts, kind, message in ev.events:
            self.feed.append(FeedItem(wf.id, ts, kind, message))
        self._note(wf.id, ev.ts, "imported", f"workflow {wf.id} imported"
                   + (" with its state" if ev.state is not None else ""))
        return wf

    def _archive(self, ev: E.ArchiveWorkflow) -> Workflow:
        wf = self.workflow(ev.workflow_id)
        wf.archived = ev.archived
        self._note(wf.id, ev.ts, "archived" if ev.archived else "unarchived",
                   f"workflow {wf.id} {'archived' if ev.archived else 'unarchived'}")
        return wf

    def _delete(self, ev: E.DeleteWorkflow) -> None:
        wf = self.workflow(ev.workflow_id)
        del self.workflows[wf.id]
        self.groups.forget_workflow(wf.id)
        for w in self.workers.values():
            if w.workflow_id == wf.id:
                w.active = False
                w.jobs.clear()
        self.feed.drop_workflow(wf.id)  # its items go with it (subscribers still see this one)
        item = FeedItem(wf.id, ev.ts, "deleted", f"workflow {wf.id} deleted")
        self._fx.feed.append(item)
        self._wake(wf.id)
        self._fx.stop.add(wf.id)

    def _init(self, ev: E.InitializeWorkflow) -> Workflow:
        wf = self.workflow(ev.workflow_id)
        mtimes = _mtimes(ev.mtimes)
        wf.initialize(mtimes, changes.missing_inputs(wf, mtimes))
        self._note(wf.id, ev.ts, "initialized", f"run {wf.run_id}: "
                   f"{wf.counts[S.READY]} ready, {wf.counts[S.BLOCKED]} blocked")
        self._wake(wf.id)
        return wf

    def _reinit(self, ev: E.ReinitializeWorkflow | E.ResetStatus) -> Workflow:
        wf = self.workflow(ev.workflow_id)
        mtimes = _mtimes(getattr(ev, "mtimes", None))
        wf.reinitialize(mtimes, [i for i, _ in changes.changed_jobs(wf, mtimes)])
        self._note(wf.id, ev.ts, "reinitialized", f"run {wf.run_id}: "
                   f"{wf.counts[S.READY]} ready, {wf.counts[S.BLOCKED]} blocked")
        self._wake(wf.id)
        return wf

    def _reset(self, ev: E.ResetStatus) -> Workflow:
        wf = self.workflow(ev.workflow_id)
        if ev.retry:
            n = retry_jobs(wf, ev.job_ids)
            self._note(wf.id, ev.ts, "retried", f"{n} job(s) run again (run {wf.run_id})")
            self._wake(wf.id)
            return wf
        if ev.reinit:
            wf.require_idle("reset and reinitialize")
        n = wf.reset_status(ev.failed_only, ev.job_ids)
        self._note(wf.id, ev.ts, "reset", f"{n} job(s) reset to uninitialized")
        if ev.reinit:
            self._reinit(ev)
        return wf

    def _cancel(self, ev: E.CancelWorkflow) -> Workflow:
        wf = self.workflow(ev.workflow_id)
        running = wf.cancel()
        for w in self.workers.values():
            if w.workflow_id == wf.id:
                w.jobs = {j for j in w.jobs if wf.jobs[j - 1].status == S.RUNNING}
        self._note(wf.id, ev.ts, "canceled", f"workflow canceled; {len(running)} running "
                   "job(s) are being killed")
        self._wake(wf.id)
        self._fx.stop.add(wf.id)
        return wf

    def _register(self, ev: E.RegisterWorker) -> Worker:
        wf = self.workflow(ev.workflow_id)
        worker_id = ev.worker_id
        if worker_id in self.workers:
            raise FailedPrecondition(f"worker {worker_id} already exists")
        w = Worker(worker_id, wf.id, ev.hostname, ev.slurm_job_id, ev.node_name,
                   dict(ev.resources), ev.pid, ev.ts, ev.ts, role=ev.role, instance=ev.instance,
                   scheduler=ev.scheduler, output_dir=ev.output_dir)
        self.workers[worker_id] = w
        self.next_worker_id = max(self.next_worker_id, worker_id + 1)
        where = w.node_name or w.hostname or "an unnamed host"
        self._note(wf.id, ev.ts, "compute_node_started", f"worker {w.id} started on {where}"
                   + (f" (Slurm job {w.slurm_job_id})" if w.slurm_job_id else ""))
        return w

    def _unregister(self, ev: E.UnregisterWorker) -> list[int]:
        w = self.worker(ev.worker_id)
        if not w.active:
            return []  # already gone (a re-sent unregister)
        return self._drop_worker(w, ev.ts, lost=False)

    def _claim(self, ev: E.ClaimJobs) -> list:
        wf = self.workflow(ev.workflow_id)
        w = self.live_worker(ev.worker_id, wf.id)
        jobs = wf.transitions.claim(w.id, ev.job_ids)
        w.jobs.update(ev.job_ids)
        w.last_claim = [ev.claim_id, list(ev.job_ids)]
        return jobs

    def _report(self, ev: E.Report) -> ReportOutcome:
        wf = self.workflow(ev.workflow_id)
        out = apply_report(wf, self.live_worker(ev.worker_id, wf.id), ev.rows, self._note)
        self._wake(wf.id)
        return out

    def _claim_action(self, ev: E.ClaimActions) -> list:
        wf = self.workflow(ev.workflow_id)
        w = self.live_worker(ev.worker_id, wf.id)
        wf.actions.claim(w.id, ev.action_ids)
        w.last_action_claim = [ev.claim_id, list(ev.action_ids)]
        return [wf.actions.get(i) for i in ev.action_ids]

    def _action_result(self, ev: E.ActionResult) -> None:
        wf = self.workflow(ev.workflow_id)
        # A lost worker's claims were released to others: its late results are refused.
        w = self.live_worker(ev.worker_id, wf.id)
        execution = dict(ev.execution, worker_id=w.id, run_id=wf.run_id)
        if not wf.actions.record(w.id, ev.action_id, execution):
            return  # re-sent, recorded already
        self._wake(wf.id)
        a = wf.actions.get(ev.action_id)
        self._note(wf.id, execution.get("end_time", 0.0), "action",
                   f"action {a.id} ({a.trigger}/{a.kind}) on worker {w.id}: "
                   + ("succeeded" if execution.get("success") else
                      "failed: " + execution.get("message", "")))

    def _worker_lost(self, ev: E.WorkerLost) -> list[int]:
        """A worker stopped heartbeating."""
        w = self.worker(ev.worker_id)
        if w.lost or not w.active:
            raise FailedPrecondition(f"worker {w.id} is not active")
        return self._drop_worker(w, ev.ts, lost=True)

    def _drop_worker(self, w: Worker, ts: float, lost: bool) -> list[int]:
        """The worker is gone: fail what it ran (-128), put back what it only held."""
        wf = self.workflows.get(w.workflow_id)
        affected = sorted(w.jobs)
        if wf is not None:
            for a in wf.actions.release(w.id):
                self._note(wf.id, ts, "action", f"action {a.id} ({a.trigger}/{a.kind}) "
                           f"claimed by worker {w.id} is offered again")
            for job_id in affected:
                job = wf.jobs[job_id - 1]
                if job.status == S.PENDING:
                    wf.transitions.release(w.id, job_id)
                elif job.status == S.RUNNING:
                    wf.transitions.lose(w.id, job_id, ts)
            # Torc's name for a worker's end; the message says whether it left or was lost
            self._note(wf.id, ts, "compute_node_stopped",
                       f"worker {w.id} on {w.node_name or w.hostname or 'an unnamed host'} "
                       f"{'lost' if lost else 'left'}" + (
                           f"; {len(affected)} job(s) released or failed" if affected else ""))
            self._wake(wf.id)
        w.jobs.clear()
        w.lost = lost
        w.active = False
        return affected

    def _update_user_data(self, ev: E.UpdateUserData) -> dict[str, Any]:
        """The value lives in the workflow's spec entry, so snapshots carry it."""
        wf = self.workflow(ev.workflow_id)
        entry = wf.user_data(ev.user_data_id)
        entry["data"] = ev.data
        return entry

    def _cancel_jobs(self, ev: E.CancelJobs) -> list:
        wf = self.workflow(ev.workflow_id)
        jobs = cancel_jobs(wf, self.workers.values(), ev.job_ids, ev.terminate)
        verb = "terminated" if ev.terminate else "canceled"
        self._note(wf.id, ev.ts, "jobs_canceled", f"{len(ev.job_ids)} job(s) {verb} by a user"
                   f" ({len(jobs)} with what depended on them)")
        if wf.done_count == len(wf.jobs):
            self._note(wf.id, ev.ts, "complete", f"workflow {wf.id} complete")
        self._wake(wf.id)
        self._fx.stop.add(wf.id)  # heartbeat streams: a job they run may have to be killed
        return jobs

    def _fail_pending(self, ev: E.FailPending) -> list[Job]:
        wf = self.workflow(ev.workflow_id)
        jobs = fail_pending(wf, ev.job_ids)
        self._note(wf.id, ev.ts, "jobs_failed", f"{len(jobs)} pending_failed job(s) judged "
                   "permanent failures: " + ", ".join(j.name for j in jobs[:10])
                   + (" ..." if len(jobs) > 10 else ""))
        if wf.done_count == len(wf.jobs):
            self._note(wf.id, ev.ts, "complete", f"workflow {wf.id} complete")
        self._wake(wf.id)
        return jobs

    def _remote_workers(self, ev: E.RemoteWorkers) -> list[str]:
        return remote_workers.update(self.workflow(ev.workflow_id), ev, self._note)

    def _add(self, ev: E.AddToWorkflow) -> list[Job]:
        wf = self.workflow(ev.workflow_id)
        jobs = additions.extend(wf, ev)
        ids.assign(self.counters, wf)
        self._note(wf.id, ev.ts, "jobs_added", f"{len(jobs)} job(s) added")
        if wf.initialized:
            self._wake(wf.id)  # ready jobs for claimers waiting on it
        return jobs

    def _update_job(self, ev: E.UpdateJob) -> Any:
        wf = self.workflow(ev.workflow_id)
        job = update_job(wf, ev.job_id, ev.priority, ev.rr_name, ev.resources, ev.command)
        self._note(wf.id, ev.ts, "job_updated",
                   f"job {wf.gid(job.id)} ({job.name}) updated")
        self._wake(wf.id)
        return job


def _mtimes(pairs: Any) -> dict[int, float] | None:
    """File times as sent in an event ([index, mtime] pairs), or None when not checked."""
    return None if pairs is None else {int(k): float(v) for k, v in pairs}
