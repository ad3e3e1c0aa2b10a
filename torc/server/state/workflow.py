"""One workflow in memory: its jobs, the job state machine and dependency unblocking.

Pure logic, no I/O. Every status change goes through :meth:`Workflow._set`, which keeps the
per-status counts, the ready queue and the action trigger counts in step. Finishing a job
touches only its own out-edges (and, for cancellation, the jobs that cascade from it).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from torc import states as S
from torc.errors import FailedPrecondition, NotFound
from torc.server.state.claims import Offer, Picker, ReadyQueue
from torc.server.state.ids import Counters, IdRanges, fresh
from torc.server.state.job import Job
from torc.server.state.results import Results
from torc.server.state.transitions import WorkerTransitions
from torc.server.state.triggered_actions import ActionBook
from torc.spec.job_io import render_user_data

# How ready jobs are ordered within a priority (Torc's jobs_sort_method): largest first.
SORT_KEYS = {
    "gpus_runtime_memory": lambda rr: (-rr["num_gpus"], -rr["runtime"], -rr["memory"]),
    "gpus_memory_runtime": lambda rr: (-rr["num_gpus"], -rr["memory"], -rr["runtime"]),
}


class Workflow:
    """A workflow's jobs, actions, results and run state."""

    def __init__(self, wf_id: int, spec: dict[str, Any], user: str, created_at: float,
                 jobs: list[Job] | None = None) -> None:
        """``jobs``: already built (from a snapshot's columns) instead of ``spec["jobs"]``."""
        self.id = wf_id
        # What workers do to its jobs (claim, start, finish...), through its state machine.
        self.transitions = WorkerTransitions(self)
        self.user = user
        self.created_at = created_at
        self.name: str = spec["name"]
        self.description: str = spec.get("description", "")
        self.project: str = spec.get("project", "")
        # Spec sections the coordinator only passes on (to workers, Slurm submission, display).
        self.extra: dict[str, Any] = {k: spec.get(k) for k in (
            "metadata", "files", "user_data", "slurm_schedulers", "slurm_defaults",
            "execution_config", "failure_handlers", "resource_monitor", "use_pending_failed",
            "settings")}
        self.sort_key = SORT_KEYS.get((spec.get("settings") or {}).get("jobs_sort_method") or "")
        self.rrs: list[dict[str, Any]] = spec["resource_requirements"]
        self.jobs = jobs if jobs is not None else [Job(i + 1, j)
                                                   for i, j in enumerate(spec["jobs"])]
        dependents: list[list[int]] = [[] for _ in self.jobs]
        for job in self.jobs:
            for d in job.deps:
                dependents[d - 1].append(job.id)
        # Tuples, shared when empty: a list over-allocates, and a million jobs hold one each.
        for job, ds in zip(self.jobs, dependents, strict=True):
            if ds:
                job.dependents = tuple(ds)
        self.actions = ActionBook(spec.get("actions", []))
        self.counts = [0] * (max(S.NAMES) + 1)
        self.counts[S.UNINITIALIZED] = len(self.jobs)
        self.run_id = 0
        self.initialized = False
        self.canceled = False
        self.archived = False  # hidden from listings unless all are asked for
        self.ready = ReadyQueue()
        self.results = Results()
        # While someone watches job events: the list (the store's, shared) each state change
        # is noted in (live.py); None costs the claim path one comparison a change.
        self.watch: list[tuple[Workflow, Job, int, int]] | None = None
        # Its global ids (ids.assign, by the store) and the counter its results take theirs
        # from (the store's, once it holds the workflow).
        self.ids: dict[str, IdRanges] = fresh()
        self.counters = Counters()
        self._user_data_index: dict[str, int] | None = None  # name -> number, when asked
        # The snapshot parts holding its job specs and its first results (see
        # snapshot_parts); reset by whatever changes what they hold.
        self.specs_part: str | None = None
        self.results_parts: list[list[Any]] = []
        # Slurm allocations submitted for this workflow (schedule_nodes actions).
        self.allocations: list[dict[str, Any]] = []
        # Hosts its workers may be started on over SSH (torc remote), as [user@]host[:port].
        self.remote_workers: list[str] = []
        # File modification times as last recorded (by file index): at (re)initialize from
        # what the client saw, and from the job that wrote the file.
        self.file_mtimes: dict[int, float] = {}

    # ----- queries

    def to_spec(self, jobs: bool = True) -> dict[str, Any]:
        """The normalized spec (without its jobs when ``jobs`` is false: snapshots keep
        those as columns)."""
        spec = {"name": self.name, "description": self.description, "project": self.project,
                **self.extra, "resource_requirements": self.rrs,
                "actions": [a.to_spec() for a in self.actions.actions]}
        if jobs:
            spec["jobs"] = [j.to_spec() for j in self.jobs]
        return spec

    def forget_indexes(self) -> None:
        """What was built from its entries is stale: they were added to (additions.py)."""
        self._user_data_index = None
        self.specs_part = None  # the snapshot part with its job specs lacks the new ones

    def user_data(self, user_data_id: int) -> dict[str, Any]:
        """User data entry by id (1-based, in spec order), or NotFound naming it."""
        entries = self.extra.get("user_data") or []
        if not 1 <= user_data_id <= len(entries):
            raise NotFound(f"user data {user_data_id} does not exist in workflow {self.id}")
        return entries[user_data_id - 1]

    def user_data_id(self, name: str) -> int:
        """The global id of a user data entry by name (commands name them)."""
        if self._user_data_index is None:
            self._user_data_index = {u["name"]: i + 1 for i, u in
                                     enumerate(self.extra.get("user_data") or [])}
        return self.ids["user_data"].to_global(self._user_data_index[name])

    def command(self, job: Job) -> str:
        """A job's command as shown and run: ``${user_data...}`` references become ids."""
        return render_user_data(job.command, self.user_data_id)

    def gid(self, job_id: int) -> int:
        """The global id of one of its jobs (what users and workers see)."""
        return self.ids["jobs"].to_global(job_id)

    def job(self, job_id: int) -> Job:
        """Job by id, or NotFound naming it."""
        if not 1 <= job_id <= len(self.jobs):
            raise NotFound(f"job {job_id} (its number in the workflow) does not exist in "
                           f"workflow {self.id}")
        return self.jobs[job_id - 1]

    @property
    def done_count(self) -> int:
        """Jobs that are terminal or disabled."""
        return sum(self.counts[s] for s in S.DONE)

    @property
    def complete(self) -> bool:
        """Every job is done, or the workflow was canceled and nothing still runs."""
        if self.canceled:
            return self.counts[S.RUNNING] == 0 and self.counts[S.PENDING] == 0
        return self.initialized and self.done_count == len(self.jobs)

    def scheduler_config(self, name: str) -> dict[str, Any]:
        """A Slurm scheduler's settings over the workflow's ``slurm_defaults``."""
        defaults = self.extra.get("slurm_defaults") or {}
        for s in self.extra.get("slurm_schedulers") or []:
            if s["name"] == name:
                return {**defaults, **s}
        return dict(defaults)

    def status_counts(self) -> dict[str, int]:
        """Job count per state name (states with no job included)."""
        return {S.NAMES[s]: self.counts[s] for s in S.NAMES}

    # ----- the state machine

    def set_status(self, job: Job, new: int) -> None:
        old = job.status
        if old == new:
            return
        if not S.allowed(old, new):
            raise S.IllegalTransition(f"workflow {self.id} job {job.id} ({job.name}): "
                                      f"{S.name(old)} -> {S.name(new)} is not allowed")
        self.counts[old] -= 1
        self.counts[new] += 1
        job.status = new
        if new == S.READY:
            self.ready.push(job.id, job.priority, job.rr, job.scheduler)
        self.actions.job_changed(job.id, old, new)
        if self.watch is not None:
            self.watch.append((self, job, old, new))

    def require_idle(self, what: str) -> None:
        active = self.counts[S.PENDING] + self.counts[S.RUNNING]
        if active:
            raise FailedPrecondition(
                f"cannot {what} workflow {self.id}: {active} job(s) are pending or running; "
                "cancel the workflow or wait for them to finish")

    def _has_failed_upstream(self, job: Job) -> bool:
        return any(self.jobs[u - 1].status in S.UNSUCCESSFUL for u in job.deps)

    def propagate(self, finished: list[Job]) -> None:
        """Dependents of jobs that just became done: unblock them, or cancel them transitively."""
        stack = list(finished)
        while stack:
            job = stack.pop()
            failed = job.status in S.UNSUCCESSFUL
            for d_id in job.dependents:
                d = self.jobs[d_id - 1]
                d.waiting -= 1
                if d.status != S.BLOCKED:
                    continue
                if failed and d.cancel_on_fail:
                    self._cancel_job(d)
                    stack.append(d)
                elif d.waiting == 0:
                    self.set_status(d, S.READY)

    def _cancel_job(self, job: Job) -> None:
        self.set_status(job, S.CANCELED)
        job.return_code = None

    def init_uninitialized(self, jobs: Sequence[Job] | None = None) -> None:
        """Uninitialized jobs (all, or those of ``jobs``) become blocked, or ready when
        nothing they need is left."""
        todo = [j for j in (self.jobs if jobs is None else jobs) if j.status == S.UNINITIALIZED]
        for j in todo:
            j.waiting = sum(1 for u in j.deps if self.jobs[u - 1].status not in S.DONE)
            j.run_id = self.run_id
            j.attempt_id = 1
            j.return_code = None
            j.worker_id = 0
            self.set_status(j, S.BLOCKED)
        cascaded: list[Job] = []
        for j in todo:
            if j.status != S.BLOCKED:
                continue
            if j.cancel_on_fail and self._has_failed_upstream(j):
                self._cancel_job(j)
                cascaded.append(j)
            elif j.waiting == 0:
                self.set_status(j, S.READY)
        self.propagate(cascaded)

    def after_change(self) -> None:
        if self.initialized and self.done_count == len(self.jobs):
            self.actions.workflow_completed()

    def initialize(self, mtimes: dict[int, float] | None = None,
                   missing: Sequence[str] = ()) -> None:
        """Start the first run: every job becomes blocked or ready. ``mtimes``: the files the
        caller sees (None: not checked); ``missing``: what it lacks to start
        (:func:`changes.missing_inputs`, which the store asks), or nothing changes."""
        if self.initialized:
            raise FailedPrecondition(
                f"workflow {self.id} is already initialized (run {self.run_id}); "
                "use reinitialize, or reset-status first")
        if self.canceled:
            raise FailedPrecondition(f"workflow {self.id} is canceled; reset-status first")
        if missing:
            raise FailedPrecondition(f"cannot initialize workflow {self.id}: "
                                     + "; ".join(missing))
        self.file_mtimes.update(mtimes or {})
        self.run_id += 1
        self.initialized = True
        self.init_uninitialized()
        self.actions.arm([j.status for j in self.jobs], self.done_count == len(self.jobs))
        self.after_change()

    def reinitialize(self, mtimes: dict[int, float] | None = None,
                     changed: Sequence[int] = ()) -> None:
        """New run: jobs not completed or failed are initialized again, and the completed
        ones in ``changed`` (whose inputs changed: :func:`changes.changed_jobs`, which the
        store asks) with what is downstream of them; actions are re-armed."""
        self.require_idle("reinitialize")
        if changed:
            self.reset_status(False, tuple(changed))
        self.file_mtimes.update(mtimes or {})
        for j in self.jobs:
            if j.status in (S.BLOCKED, S.READY, S.CANCELED, S.TERMINATED):
                self.set_status(j, S.UNINITIALIZED)
        self.ready.clear()
        self.canceled = False
        self.run_id += 1
        self.initialized = True
        self.init_uninitialized()
        self.actions.arm([j.status for j in self.jobs], self.done_count == len(self.jobs))
        self.after_change()

    def reset_status(self, failed_only: bool, job_ids: tuple[int, ...] = ()) -> int:
        """Jobs back to uninitialized: all; or the given jobs, or the failed, canceled and
        terminated ones, each with everything downstream of it (the rest stays as it is)."""
        if job_ids or failed_only:
            seeds = ([self.job(i).id for i in job_ids] if job_ids else
                     [j.id for j in self.jobs if j.status in S.UNSUCCESSFUL
                      or j.status == S.PENDING_FAILED])
            targets = self.downstream(seeds)
            busy = [j.name for j in targets if j.status in S.ACTIVE]
            if busy:
                raise FailedPrecondition(
                    f"cannot reset workflow {self.id}: job(s) {', '.join(busy[:5])} are running")
        else:
            self.require_idle("reset")
            targets = self.jobs
            self.initialized = False
            self.actions.disarm()
        for j in targets:
            self.set_status(j, S.UNINITIALIZED)
            j.return_code = None
            j.worker_id = 0
        self.recount()
        self.canceled = False
        return len(targets)

    def cancel(self) -> list[Job]:
        """Cancel the workflow; returns the running jobs whose workers must kill them."""
        self.canceled = True
        running = []
        for j in self.jobs:
            if j.status in (S.UNINITIALIZED, S.BLOCKED, S.READY, S.PENDING):
                self._cancel_job(j)
            elif j.status == S.RUNNING:
                running.append(j)
        self.ready.clear()
        self.after_change()
        return running

    # ----- worker transitions

    def picker(self, scheduler: str = "") -> Picker | None:
        """A claim's choice of ready jobs (None when nothing may be claimed): it changes
        nothing; applying the claim (:meth:`WorkerTransitions.claim`) does. A worker of
        ``scheduler`` gets only jobs for it or for no scheduler."""
        if self.canceled or not self.initialized:
            return None
        return self.ready.picker(self.rrs, self._is_ready, self.sort_key, scheduler)

    def pick(self, offer: Offer, max_jobs: int, scheduler: str = "") -> list[int]:
        """One load of ready jobs that fit ``offer`` (see :meth:`picker`)."""
        picker = self.picker(scheduler)
        return [] if picker is None else picker.take(offer, max_jobs)

    def unqueue(self, jobs: Iterable[Job]) -> None:
        """Jobs that left ``ready`` (claimed, started as hand-offs): drop them from the head
        of their buckets, where a pick found them."""
        is_ready = self._is_ready
        for job in jobs:
            self.ready.prune(job.priority, job.rr, job.scheduler, is_ready)

    def _is_ready(self, job_id: int) -> bool:
        return self.jobs[job_id - 1].status == S.READY

    def recount(self) -> None:
        """Rebuild the counts per state and the ready queue from the jobs' states (after they
        were set wholesale: a snapshot, an import; or a change of buckets)."""
        self.counts = [0] * len(self.counts)
        self.ready.clear()
        for j in self.jobs:
            self.counts[j.status] += 1
            if j.status == S.READY:
                self.ready.push(j.id, j.priority, j.rr, j.scheduler)

    def downstream(self, seeds: list[int]) -> list[Job]:
        """The jobs ``seeds`` name and every job that depends on them, transitively."""
        chosen: dict[int, Job] = {}
        stack = [self.jobs[i - 1] for i in seeds]
        while stack:
            j = stack.pop()
            if j.id not in chosen:
                chosen[j.id] = j
                stack.extend(self.jobs[d - 1] for d in j.dependents)
        return list(chosen.values())

    def check(self) -> None:
        """Verify invariants (AssertionError naming the first broken one); for tests."""
        counts = [0] * len(self.counts)
        for job in self.jobs:
            counts[job.status] += 1
        assert counts == self.counts, f"workflow {self.id}: counts {self.counts} != {counts}"
        for job in self.jobs:
            if job.status == S.BLOCKED:
                left = sum(1 for u in job.deps if self.jobs[u - 1].status not in S.DONE)
                assert job.waiting == left, f"workflow {self.id}: job {job.id} waits for " \
                    f"{job.waiting} job(s), {left} of its dependencies are not done"
        ready = {j.id for j in self.jobs if j.status == S.READY}
        missing = ready - self.ready.ids()
        assert not missing or self.canceled or not self.initialized, \
            f"workflow {self.id}: ready jobs not queued: {sorted(missing)[:10]}"
