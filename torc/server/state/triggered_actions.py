"""Workflow actions: trigger counting and claiming, per ``reference/workflow-actions.md``.

Pure logic. The workflow calls :meth:`ActionBook.job_changed` on every job transition, so
counts move in the same step as the jobs that cause them: there is no sweep and no poll.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from typing import Any

from torc import states as S
from torc.errors import FailedPrecondition, NotFound

# Statuses in which a selected job counts toward its action's trigger.
_COUNTS: dict[str, frozenset[int]] = {
    # A job counts once it has become ready, and keeps counting as it runs and ends.
    "on_jobs_ready": frozenset({S.READY, S.PENDING, S.RUNNING, S.COMPLETED, S.FAILED,
                                S.TERMINATED}),
    "on_jobs_complete": S.TERMINAL,
}
# Triggers that are armed as soon as the workflow is (re)initialized.
_ARMED_AT_INIT = frozenset({"on_workflow_start", "on_worker_start", "on_worker_complete"})


class Action:
    """One action of a workflow and its progress in the current run."""

    __slots__ = ("id", "trigger", "kind", "persistent", "max_retries", "job_ids", "config",
                 "count", "triggered", "claimed", "claimed_by", "failures", "executions",
                 "running")

    def __init__(self, action_id: int, spec: dict[str, Any]) -> None:
        self.id = action_id
        self.trigger: str = spec["trigger_type"]
        self.kind: str = spec["action_type"]
        self.persistent: bool = spec["persistent"]
        self.max_retries: int = spec.get("max_retries", 0)
        # Job ids are 1-based; the spec holds 0-based indices.
        self.job_ids: list[int] = [j + 1 for j in spec.get("jobs", [])]
        self.config = {k: v for k, v in spec.items()
                       if k not in ("trigger_type", "action_type", "persistent", "max_retries",
                                    "jobs")}
        self.count = 0
        self.triggered = False
        self.claimed = False
        self.claimed_by: set[int] = set()
        self.failures = 0
        self.executions: list[dict[str, Any]] = []
        # Workers that claimed the action and have not reported its result yet.
        self.running: set[int] = set()

    @property
    def required(self) -> int:
        """How many trigger events make the action pending."""
        return len(self.job_ids) if self.trigger in _COUNTS else 1

    def available_to(self, worker_id: int) -> bool:
        """True when ``worker_id`` may claim this action now."""
        if not self.triggered:
            return False
        if self.persistent:
            return worker_id not in self.claimed_by
        return not self.claimed

    def to_spec(self) -> dict[str, Any]:
        """The normalized spec this action was built from."""
        return {"trigger_type": self.trigger, "action_type": self.kind,
                "persistent": self.persistent, "max_retries": self.max_retries,
                "jobs": [j - 1 for j in self.job_ids], **self.config}


class ActionBook:
    """All actions of one workflow, with the index from job id to the actions watching it."""

    __slots__ = ("actions", "_watch")

    def __init__(self, specs: list[dict[str, Any]]) -> None:
        self.actions = [Action(i + 1, s) for i, s in enumerate(specs)]
        self._watch: dict[int, list[Action]] = {}
        for a in self.actions:
            if a.trigger in _COUNTS:  # on_workflow_start's jobs are looked at only at arm()
                for j in a.job_ids:
                    self._watch.setdefault(j, []).append(a)

    def job_changed(self, job_id: int, old: int, new: int) -> None:
        """Update trigger counts for one job transition."""
        watchers = self._watch.get(job_id)
        if not watchers:
            return
        for a in watchers:
            counted = _COUNTS[a.trigger]
            was, now = old in counted, new in counted
            if was == now:
                continue
            a.count += 1 if now else -1
            if a.count >= len(a.job_ids):
                a.triggered = True

    def arm(self, statuses: list[int], workflow_done: bool) -> None:
        """(Re)initialization: clear executed flags and recount from the jobs' current states."""
        for a in self.actions:
            a.claimed = False
            a.claimed_by.clear()
            a.running.clear()
            a.failures = 0
            if a.trigger in _COUNTS:
                counted = _COUNTS[a.trigger]
                a.count = sum(1 for j in a.job_ids if statuses[j - 1] in counted)
                a.triggered = a.count >= len(a.job_ids)
            elif a.trigger == "on_workflow_start" and a.job_ids:
                # Torc's examples name the jobs an allocation is for: it is asked for only
                # when one of them runs in this run (a reinitialize that keeps them
                # completed submits nothing for them).
                a.triggered = any(statuses[j - 1] not in S.DONE for j in a.job_ids)
            elif a.trigger in _ARMED_AT_INIT:
                a.triggered = True
            else:  # on_workflow_complete
                a.triggered = workflow_done

    def disarm(self) -> None:
        """A reset back to uninitialized: nothing is pending until the next initialize."""
        for a in self.actions:
            a.triggered = False
            a.count = 0

    def workflow_completed(self) -> None:
        """Every job is done: ``on_workflow_complete`` actions become pending."""
        for a in self.actions:
            if a.trigger == "on_workflow_complete":
                a.triggered = True

    def get(self, action_id: int) -> Action:
        """Action by id, or NotFound."""
        if not 1 <= action_id <= len(self.actions):
            raise NotFound(f"action {action_id} does not exist")
        return self.actions[action_id - 1]

    def pending_for(self, worker_id: int, triggers: Collection[str] | None = None
                    ) -> list[Action]:
        """Actions ``worker_id`` could claim now (optionally only of the given triggers)."""
        return [a for a in self.actions
                if (triggers is None or a.trigger in triggers) and a.available_to(worker_id)]

    def claim(self, worker_id: int, action_ids: Sequence[int]) -> None:
        """Mark actions claimed by a worker; each must still be available to it."""
        chosen = [self.get(i) for i in action_ids]
        for a in chosen:
            if not a.available_to(worker_id):
                raise FailedPrecondition(f"action {a.id} is not available to worker {worker_id}")
        for a in chosen:
            if a.persistent:
                a.claimed_by.add(worker_id)
            else:
                a.claimed = True
            a.running.add(worker_id)

    def release(self, worker_id: int) -> list[Action]:
        """The worker is gone: what it claimed and never reported is offered again (a
        persistent action runs once per worker, so only non-persistent ones matter)."""
        released = []
        for a in self.actions:
            if worker_id in a.running:
                a.running.discard(worker_id)
                if not a.persistent:
                    a.claimed = False
                    released.append(a)
        return released

    def setup_running(self) -> bool:
        """True while an ``on_workflow_start`` action is claimed and not yet done: jobs wait
        for it, since such actions prepare what the jobs use (directories, inputs)."""
        return any(a.running and a.trigger == "on_workflow_start" and not a.persistent
                   for a in self.actions)

    def record(self, worker_id: int, action_id: int, execution: dict[str, Any]) -> bool:
        """Store one execution; a failed one is offered again while retries remain.

        Returns False for a re-sent result that is already recorded (nothing changes).
        """
        a = self.get(action_id)
        if worker_id not in a.running:
            if any(e.get("worker_id") == worker_id and e.get("start_time") ==
                   execution.get("start_time") and e.get("run_id") == execution.get("run_id")
                   for e in a.executions):
                return False  # a re-sent result that was recorded already
            raise FailedPrecondition(
                f"worker {worker_id} did not claim action {action_id}; result rejected")
        a.running.discard(worker_id)
        a.executions.append(execution)
        if not execution.get("success"):
            a.failures += 1
            if a.failures <= a.max_retries:
                if a.persistent:
                    a.claimed_by.discard(worker_id)
                else:
                    a.claimed = False
        return True
