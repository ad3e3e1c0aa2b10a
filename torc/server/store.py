"""The coordinator's whole state, changed only by :meth:`Store.apply`.

An event is a small JSON-able dict. The gRPC service builds one per mutating call and applies it;
recovery applies the same events read back from the WAL. ``apply`` checks everything before it
changes anything, so a rejected event leaves the state as it was and is never logged; and it
takes every decision (ids, timestamps, which jobs a claim gets) from the event, never from the
clock or the ready queue, so replay reproduces the live state exactly.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from torc import states as S
from torc.errors import FailedPrecondition, InvalidArgument, NotFound, TorcError
from torc.server import codec
from torc.server.access import AccessGroups
from torc.server.workflow import Workflow

Event = dict[str, Any]

# Report kinds, as in torc.v1.ReportKind.
STARTED, FINISHED, RELEASED = 1, 2, 3

FEED_LIMIT = 10_000
GROUP_EVENTS = ("group_create", "group_delete", "group_add_user", "group_remove_user",
                "group_add_workflow", "group_remove_workflow")


@dataclass(slots=True)
class Worker:
    """A registered worker process (one per node of an allocation, or a local one)."""

    id: int
    workflow_id: int
    hostname: str
    slurm_job_id: str
    node_name: str
    resources: dict[str, Any]
    pid: int
    start_time: float
    last_heartbeat: float
    active: bool = True
    lost: bool = False
    jobs: set[int] = field(default_factory=set)
    role: str = "worker"
    instance: str = ""  # random per worker process: a retried registration finds it
    # The worker's last claim of jobs and of actions, so that a retried claim gets the same.
    last_claim: list = field(default_factory=lambda: [0, []])
    last_action_claim: list = field(default_factory=lambda: [0, []])


@dataclass(slots=True)
class FeedItem:
    """A notable workflow event for ``WatchEvents`` and ``torc events monitor``."""

    workflow_id: int
    timestamp: float
    kind: str
    message: str


class Store:
    """All workflows and workers."""

    def __init__(self) -> None:
        self.workflows: dict[int, Workflow] = {}
        self.workers: dict[int, Worker] = {}
        self.next_workflow_id = 1
        self.next_worker_id = 1
        self.feed: deque[FeedItem] = deque(maxlen=FEED_LIMIT)
        self.feed_seq = 0
        self.groups = AccessGroups()
        self._handlers: dict[str, Callable[[Event], Any]] = {
            "create": self._create,
            "delete": self._delete,
            "init": self._init,
            "reinit": self._reinit,
            "reset": self._reset,
            "cancel": self._cancel,
            "register": self._register,
            "unregister": self._unregister,
            "claim": self._claim,
            "report": self._report,
            "claim_action": self._claim_action,
            "action_result": self._action_result,
            "worker_lost": self._worker_lost,
            "allocation": self._allocation,
            "allocation_state": self._allocation_state,
            **{t: self.groups.apply for t in GROUP_EVENTS},
        }

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
        self.feed.append(FeedItem(wf_id, ts, kind, message))
        self.feed_seq += 1

    # ----- apply

    def apply(self, event: Event) -> Any:
        """Apply one event; raises TorcError (state unchanged) when it is illegal."""
        handler = self._handlers.get(event.get("t", ""))
        if handler is None:
            raise InvalidArgument(f"unknown event type {event.get('t')!r}")
        return handler(event)

    def _create(self, ev: Event) -> Workflow:
        wf_id = ev["wf"]
        if wf_id in self.workflows:
            raise FailedPrecondition(f"workflow {wf_id} already exists")
        wf = Workflow(wf_id, ev["spec"], ev.get("user", ""), ev["ts"])
        self.workflows[wf_id] = wf
        self.next_workflow_id = max(self.next_workflow_id, wf_id + 1)
        self._note(wf_id, ev["ts"], "created", f"workflow {wf.name!r} with {len(wf.jobs)} jobs")
        return wf

    def _delete(self, ev: Event) -> None:
        wf = self.workflow(ev["wf"])
        del self.workflows[wf.id]
        self.groups.forget_workflow(wf.id)
        for w in self.workers.values():
            if w.workflow_id == wf.id:
                w.active = False
                w.jobs.clear()
        self._note(wf.id, ev["ts"], "deleted", f"workflow {wf.id} deleted")

    def _init(self, ev: Event) -> Workflow:
        wf = self.workflow(ev["wf"])
        wf.initialize(ev["ts"])
        self._note(wf.id, ev["ts"], "initialized", f"run {wf.run_id}: "
                   f"{wf.counts[S.READY]} ready, {wf.counts[S.BLOCKED]} blocked")
        return wf

    def _reinit(self, ev: Event) -> Workflow:
        wf = self.workflow(ev["wf"])
        wf.reinitialize(ev["ts"])
        self._note(wf.id, ev["ts"], "reinitialized", f"run {wf.run_id}: "
                   f"{wf.counts[S.READY]} ready, {wf.counts[S.BLOCKED]} blocked")
        return wf

    def _reset(self, ev: Event) -> Workflow:
        wf = self.workflow(ev["wf"])
        if ev.get("reinit"):
            wf.require_idle("reset and reinitialize")
        n = wf.reset_status(ev.get("failed_only", False), ev["ts"])
        self._note(wf.id, ev["ts"], "reset", f"{n} job(s) reset to uninitialized")
        if ev.get("reinit"):
            self._reinit(ev)
        return wf

    def _cancel(self, ev: Event) -> Workflow:
        wf = self.workflow(ev["wf"])
        running = wf.cancel(ev["ts"])
        for w in self.workers.values():
            if w.workflow_id == wf.id:
                w.jobs = {j for j in w.jobs if wf.jobs[j - 1].status == S.RUNNING}
        self._note(wf.id, ev["ts"], "canceled", f"workflow canceled; {len(running)} running "
                   "job(s) are being killed")
        return wf

    def _register(self, ev: Event) -> Worker:
        wf = self.workflow(ev["wf"])
        worker_id = ev["worker"]
        if worker_id in self.workers:
            raise FailedPrecondition(f"worker {worker_id} already exists")
        w = Worker(worker_id, wf.id, ev.get("host", ""), ev.get("slurm_job_id", ""),
                   ev.get("node", ""), ev.get("res", {}), ev.get("pid", 0), ev["ts"], ev["ts"],
                   role=ev.get("role", "worker"), instance=ev.get("instance", ""))
        self.workers[worker_id] = w
        self.next_worker_id = max(self.next_worker_id, worker_id + 1)
        return w

    def _unregister(self, ev: Event) -> list[int]:
        w = self.worker(ev["worker"])
        if not w.active:
            return []  # already gone (a re-sent unregister)
        return self._drop_worker(w, ev["ts"], lost=False)

    def _claim(self, ev: Event) -> list:
        wf = self.workflow(ev["wf"])
        w = self.live_worker(ev["worker"], wf.id)
        jobs = wf.claim(w.id, ev["jobs"])
        w.jobs.update(ev["jobs"])
        w.last_claim = [ev.get("cid", 0), list(ev["jobs"])]
        return jobs

    def _report(self, ev: Event) -> list[str]:
        """Apply a batch of reports; each is applied or rejected on its own."""
        wf = self.workflow(ev["wf"])
        w = self.live_worker(ev["worker"], wf.id)
        rejected: list[str] = []
        for job_id, kind, rc, status, start, end, run_id, attempt_id in ev["r"]:
            try:
                self._report_one(wf, w, job_id, kind, rc, status, start, end, run_id, attempt_id)
            except TorcError as e:
                rejected.append(e.message)
        return rejected

    def _report_one(self, wf: Workflow, w: Worker, job_id: int, kind: int, rc: int,
                    status: int, start: float, end: float, run_id: int, attempt_id: int) -> None:
        job = wf.job(job_id)
        same_attempt = (job.worker_id == w.id and job.run_id == run_id
                        and job.attempt_id == attempt_id)
        if kind == STARTED:
            if same_attempt and job.status in (S.RUNNING, *S.TERMINAL):
                return  # a re-sent report that was already applied
            wf.start(w.id, job_id, run_id, attempt_id)
        elif kind == FINISHED:
            if same_attempt and job.status in S.TERMINAL and job.return_code is not None:
                return  # re-sent
            if job.status == S.CANCELED and wf.canceled and job.worker_id == w.id:
                w.jobs.discard(job_id)  # canceled while pending; nothing ran to record
                return
            if not status:
                status = S.COMPLETED if rc == 0 else S.FAILED
            wf.finish(w.id, job_id, status, rc, start, end, run_id, attempt_id)
            w.jobs.discard(job_id)
            if status != S.COMPLETED:
                self._note(wf.id, end, S.name(status),
                           f"job {job_id} ({job.name}) {S.name(status)} with return code {rc}")
            if wf.done_count == len(wf.jobs):
                self._note(wf.id, end, "complete", f"workflow {wf.id} complete")
        elif kind == RELEASED:
            wf.release(w.id, job_id, run_id, attempt_id)
            w.jobs.discard(job_id)
        else:
            raise InvalidArgument(f"job {job_id}: unknown report kind {kind}")

    def _claim_action(self, ev: Event) -> list:
        wf = self.workflow(ev["wf"])
        w = self.live_worker(ev["worker"], wf.id)
        wf.actions.claim(w.id, ev["actions"])
        w.last_action_claim = [ev.get("cid", 0), list(ev["actions"])]
        return [wf.actions.get(i) for i in ev["actions"]]

    def _action_result(self, ev: Event) -> None:
        wf = self.workflow(ev["wf"])
        # A lost worker's claims were released to others: its late results are refused.
        w = self.live_worker(ev["worker"], wf.id)
        execution = dict(ev["exec"], worker_id=w.id, run_id=wf.run_id)
        if not wf.actions.record(w.id, ev["action"], execution):
            return  # re-sent, recorded already
        a = wf.actions.get(ev["action"])
        self._note(wf.id, execution.get("end_time", 0.0), "action",
                   f"action {a.id} ({a.trigger}/{a.kind}) on worker {w.id}: "
                   + ("succeeded" if execution.get("success") else
                      "failed: " + execution.get("message", "")))

    def _worker_lost(self, ev: Event) -> list[int]:
        """A worker stopped heartbeating."""
        w = self.worker(ev["worker"])
        if w.lost or not w.active:
            raise FailedPrecondition(f"worker {w.id} is not active")
        return self._drop_worker(w, ev["ts"], lost=True)

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
                    wf.release(w.id, job_id)
                elif job.status == S.RUNNING:
                    wf.lose(w.id, job_id, ts)
            if lost or affected:
                self._note(wf.id, ts, "worker_lost" if lost else "worker_left",
                           f"worker {w.id} on {w.node_name or w.hostname} "
                           f"{'lost' if lost else 'left'}; {len(affected)} job(s) released "
                           "or failed")
        w.jobs.clear()
        w.lost = lost
        w.active = False
        return affected

    def _allocation(self, ev: Event) -> dict[str, Any]:
        """A schedule_nodes action submitted a Slurm job for the workflow."""
        wf = self.workflow(ev["wf"])
        # A fact, not a claim: sbatch accepted the job, so it is recorded (and will be
        # scancelled with the workflow) even when its submitter was declared lost meanwhile.
        w = self.worker(ev["worker"])
        if w.workflow_id != wf.id:
            raise InvalidArgument(f"worker {w.id} belongs to workflow {w.workflow_id}, "
                                  f"not {wf.id}")
        wf.actions.get(ev["action"])
        if not ev["slurm_job_id"]:
            raise InvalidArgument("slurm_job_id must not be empty")
        for a in wf.allocations:
            if a["slurm_job_id"] == ev["slurm_job_id"]:
                return a  # a retried record
        alloc = {"slurm_job_id": ev["slurm_job_id"], "scheduler": ev.get("scheduler", ""),
                 "action_id": ev["action"], "num_nodes": ev.get("nodes", 1),
                 "state": "SUBMITTED", "submitted_at": ev["ts"], "updated_at": ev["ts"]}
        wf.allocations.append(alloc)
        self._note(wf.id, ev["ts"], "allocation", f"Slurm job {alloc['slurm_job_id']} submitted "
                   f"({alloc['scheduler']}, {alloc['num_nodes']} node(s))")
        return alloc

    def _allocation_state(self, ev: Event) -> None:
        wf = self.workflow(ev["wf"])
        for alloc in wf.allocations:
            if alloc["slurm_job_id"] == ev["slurm_job_id"]:
                alloc["state"] = ev["state"]
                alloc["updated_at"] = ev["ts"]
                self._note(wf.id, ev["ts"], "allocation",
                           f"Slurm job {alloc['slurm_job_id']} is {ev['state']}")
                return
        raise NotFound(f"Slurm job {ev['slurm_job_id']} is not an allocation of workflow {wf.id}")

    # ----- snapshots

    def to_snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-able data."""
        return {
            "next_workflow_id": self.next_workflow_id,
            "next_worker_id": self.next_worker_id,
            "workflows": [codec.dump_workflow(wf) for wf in self.workflows.values()],
            "workers": [codec.dump_worker(w) for w in self.workers.values()],
            # The feed is history users read (events monitor --history): it survives restarts.
            "feed": [[f.workflow_id, f.timestamp, f.kind, f.message] for f in self.feed],
            "groups": self.groups.to_snapshot(),
        }

    @classmethod
    def from_snapshot(cls, data: dict[str, Any]) -> Store:
        """Rebuild a store from :meth:`to_snapshot` output."""
        store = cls()
        store.next_workflow_id = data["next_workflow_id"]
        store.next_worker_id = data["next_worker_id"]
        for d in data["workflows"]:
            wf = codec.load_workflow(d)
            store.workflows[wf.id] = wf
        for d in data["workers"]:
            w = Worker(**{**d, "jobs": set(d["jobs"])})
            store.workers[w.id] = w
        for item in data.get("feed", ()):
            store.feed.append(FeedItem(*item))
        store.groups.load(data.get("groups", []))
        return store
