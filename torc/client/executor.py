"""``TorcExecutor``: ``concurrent.futures.Executor`` over a torc workflow. Each call is a job;
its function and arguments travel as user data (cloudpickle: closures and lambdas work), and
so does its result or exception, which the job writes (``executor_job``). Every call is
durable: with a ``name``, a script run again finds its workflow and gets the results of calls
already made (same function, same arguments) without running them again.

    with TorcExecutor(name="study") as ex:           # an embedded coordinator and a worker
        squares = list(ex.map(lambda x: x * x, range(100)))
"""

from __future__ import annotations

import json
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Executor, Future
from pathlib import Path
from typing import Any

from torc import states as S
from torc.client.executor_job import unpack
from torc.client.executor_units import Call, prepare, unit, unit_key, unit_name
from torc.client.stub import TorcClient
from torc.proto import torc_pb2 as pb

INLINE_LIMIT = 64 * 1024  # bytes of a pickled call or result kept in the user data itself
_DONE = {S.COMPLETED, S.FAILED, S.CANCELED, S.TERMINATED}


class RemoteError(Exception):
    """A call raised something that could not be brought back; its traceback is the text."""


class CallFuture(Future):
    """A call's future; ``cancel`` cancels its job while the job has not started (not a
    call of a chunk: the chunk's other calls would go with it)."""

    def __init__(self, executor: TorcExecutor, key: str) -> None:
        super().__init__()
        self.key = key
        self.job_id = 0
        self._executor = executor

    def cancel(self) -> bool:
        if self.done():
            return self.cancelled()
        if len(self._executor._by_job.get(self.job_id, ())) > 1:
            return False  # one of a chunk's calls: the others would go with it
        if self.job_id and not self._executor._cancel_job(self.job_id):
            return False
        return super().cancel()


class TorcExecutor(Executor):
    """Calls as jobs of one workflow. ``url``: a running coordinator (workers come from its
    Slurm allocations or are started by the caller, unless ``workers`` asks for local ones);
    None: a coordinator of its own (its data in ``output_dir/coordinator``, kept) and local
    workers. ``resources``: each call's requirements (``num_cpus``, ``memory``, ``runtime``).
    ``slurm``: a Slurm scheduler (``account``, ``walltime``, ``partition``...) whose
    allocations run the calls: ``max_workers`` of them are submitted whenever calls wait and
    none is alive or queued (an allocation's worker leaves when the calls are done);
    ``scheduler``: the name of one the workflow already has."""

    def __init__(self, url: str | None = None, *, name: str | None = None,
                 output_dir: str | Path = "torc_executor", resources: dict[str, Any] | None
                 = None, scheduler: str | None = None, workers: int | None = None,
                 slurm: dict[str, Any] | None = None, max_workers: int = 1,
                 inline_limit: int = INLINE_LIMIT) -> None:
        # Local calls run where the executor was made, as a process pool's do (and as
        # torc run's jobs run where it was started): relative paths mean the same there.
        self.cwd = Path.cwd()
        self.output_dir = Path(output_dir).resolve()
        self.output_dir.mkdir(parents=True, exist_ok=True)
        self._embedded: Any = None
        self._adopted = 0  # the pid of an earlier run's coordinator that this one took over
        if url is None:
            url = self._own_coordinator()
        self.url = url
        self.client = TorcClient(url, timeout=600)
        self.inline_limit = inline_limit
        self.scheduler = "executor" if slurm else scheduler
        self.slurm, self.max_workers = slurm, max_workers
        self._slurm_checked = -1e9
        # Local workers: asked for, or one beside a coordinator of its own.
        self._workers_wanted = workers if workers is not None else \
            (1 if self._embedded is not None or self._adopted else 0)
        self._workers: list[Any] = []
        self._lock = threading.Lock()
        self._futures: dict[str, CallFuture] = {}
        self._by_job: dict[int, list[CallFuture]] = {}  # a job's calls (a chunk: several)
        self._unit_of: dict[str, str] = {}  # call key -> the key of the job that runs it
        self._shutdown = False
        self.workflow_id = self._workflow(name or f"executor-{id(self):x}", resources, slurm)
        # Jobs an earlier run of the script made (name -> id): a call found among them is
        # not made again. Read once: the ones made here are known as they are made.
        self._earlier = {j.name: j.id for j in self.client.list_jobs(self.workflow_id)}
        # The calls' requirements, when the workflow has them (given now, or when it was
        # made): read once, not at every submit.
        self._rr = "call" if any(r.get("name") == "call" for r in self.client.workflow_spec(
            self.workflow_id).get("resource_requirements") or []) else None
        self._stop = threading.Event()
        self._watcher = threading.Thread(target=self._watch, name="torc-executor", daemon=True)
        self._watcher.start()

    def _own_coordinator(self) -> str:
        """A coordinator of its own: one an earlier run of the script left serving the same
        data (it was killed; the coordinator runs in its own session and lives on), else a
        new one."""
        from torc.client.local import _serving
        from torc.client.run import EmbeddedCoordinator
        data = self.output_dir / "coordinator"
        live = _serving(data) if data.is_dir() else None
        if live is not None:
            self._adopted = int(json.loads((data / "coordinator.json").read_text())["pid"])
            return live
        self._embedded = EmbeddedCoordinator(data)
        return self._embedded.start()

    # ----- the workflow

    def _workflow(self, name: str, resources: dict[str, Any] | None,
                  slurm: dict[str, Any] | None) -> int:
        """The workflow named ``name`` (the newest, to resume it), or a new one."""
        mine = [w for w in self.client.list_workflows() if w.name == name and not w.archived]
        if mine:
            wf = max(mine, key=lambda w: w.id)
            if not wf.initialized:
                self.client.initialize(wf.id)
            return wf.id
        spec: dict[str, Any] = {"name": name, "description": "calls of a TorcExecutor"}
        if resources:
            spec["resource_requirements"] = [{"name": "call", **resources}]
        if slurm:
            spec["slurm_schedulers"] = [{"name": "executor", **slurm}]
        wf_id = self.client.create_workflow(spec)
        self.client.initialize(wf_id)
        return wf_id

    def _outcomes(self, jobs: list[pb.Job]) -> dict[int, dict[str, Any]]:
        """The outcomes each ended job wrote, by call key ({} where none), by job id: only
        their own output entries are read."""
        out: dict[int, dict[str, Any]] = {}
        for job in jobs:
            outcomes: dict[str, Any] = {}
            for i in job.output_user_data:
                u = self.client.call("GetUserData", pb.UserDataRef(
                    workflow_id=self.workflow_id, user_data_id=i))
                outcomes.update((json.loads(u.data_json) or {}).get("outcomes") or {})
            out[job.id] = outcomes
        return out

    # ----- calls

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> CallFuture:
        """Run ``fn(*args, **kwargs)`` as a job; futures among the arguments (at any depth
        of lists, tuples and dicts) are replaced by their results."""
        return self._submit_many([(fn, args, kwargs)])[0]

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any],
            timeout: float | None = None, chunksize: int = 1) -> Iterator[Any]:
        """Results in the order of the inputs, the calls added in one batch; ``chunksize``
        calls to a job (one Python process runs them in turn: cheap calls pay its start
        once; a crash reruns the chunk's calls that had not ended with it)."""
        futures = self._submit_many([(fn, args, {}) for args in zip(*iterables, strict=False)],
                                    max(1, chunksize))

        def results() -> Iterator[Any]:
            for f in futures:
                yield f.result(timeout)
        return results()

    def _submit_many(self, calls: list[tuple[Callable[..., Any], tuple, dict]],
                     chunksize: int = 1) -> list[CallFuture]:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            out: list[CallFuture] = []
            new: list[Call] = []
            for fn, args, kwargs in calls:
                call = prepare(fn, args, kwargs, lambda v: isinstance(v, CallFuture))
                if call.key not in self._futures:  # the same call twice: one job
                    self._futures[call.key] = CallFuture(self, call.key)
                    new.append(call)
                out.append(self._futures[call.key])
            units = [new[i:i + chunksize] for i in range(0, len(new), chunksize)]
            for u in units:
                key = unit_key(u)
                for c in u:
                    self._unit_of[c.key] = key
            self._add(units)
        return out

    def _add(self, units: list[list[Call]]) -> None:
        if not units:
            return
        earlier = [self._earlier[n] for n in map(unit_name, units) if n in self._earlier]
        existing = {j.name: j for j in self.client.list_jobs(self.workflow_id,
                                                             job_ids=earlier)} if earlier else {}
        made = [(u, *unit(u, self._unit_of, self.inline_limit, self.output_dir / "calls",
                          self.scheduler, self._rr)) for u in units]
        done = self._outcomes([existing[j["name"]] for _, _, j in made
                               if j["name"] in existing
                               and existing[j["name"]].status in _DONE])
        fresh = []
        for calls, data, job in made:
            old = existing.get(job["name"])
            if old is None:
                fresh.append((calls, data, job))
                continue
            self._attach(old.id, calls)  # made by an earlier run of the script
            if old.status in _DONE:
                for c in calls:
                    self._settle(self._futures[c.key], old.status, done[old.id].get(c.key))
        if fresh:
            added = self.client.add_to_workflow(self.workflow_id, {
                "user_data": [d for _, d, _ in fresh] + [
                    {"name": j["output_user_data"][0]} for _, _, j in fresh],
                "jobs": [j for _, _, j in fresh]}, source="TorcExecutor")
            for (calls, _, _), job_id in zip(fresh, added.job_ids, strict=True):
                self._attach(job_id, calls)
        self._ensure_workers()

    def _attach(self, job_id: int, calls: list[Call]) -> None:
        futures = [self._futures[c.key] for c in calls]
        for f in futures:
            f.job_id = job_id
        self._by_job[job_id] = futures

    def _settle(self, future: CallFuture, status: int, outcome: Any) -> None:
        """Give a future its call's outcome (the job ended with ``status``)."""
        if future.done():
            return
        if status == S.CANCELED and not outcome:  # canceled before it ran
            Future.cancel(future)
            future.set_running_or_notify_cancel()  # wakes waiters on a cancelled future
        elif outcome and outcome.get("ok"):
            future.set_result(unpack(outcome["value"]))
        elif outcome:
            try:
                error = unpack(outcome["error"])
            except Exception:
                error = RemoteError(outcome.get("traceback", ""))
            if isinstance(error, BaseException):
                error.add_note(f"raised in torc job {future.job_id}:\n{outcome['traceback']}")
            future.set_exception(error)
        else:
            future.set_exception(RemoteError(
                f"job {future.job_id} ended {S.name(status)} without an outcome (its log: "
                f"torc jobs logs {future.job_id})"))

    def _cancel_job(self, job_id: int) -> bool:
        (job,) = self.client.list_jobs(self.workflow_id, job_ids=[job_id])
        if job.status not in (S.BLOCKED, S.READY, S.UNINITIALIZED):
            return False
        self.client.cancel_jobs(self.workflow_id, [job_id])
        return True

    # ----- workers and outcomes

    def _ensure_workers(self) -> None:
        """Local workers while calls are pending (a worker leaves when the workflow is
        complete; the next call starts another), and Slurm allocations."""
        import subprocess
        if self.slurm and time.monotonic() - self._slurm_checked > 2:
            self._slurm_checked = time.monotonic()  # two queries: not at every sweep
            self._ensure_allocations()
        self._workers = [w for w in self._workers if w.poll() is None]
        log = self.output_dir / "workers.log"
        while len(self._workers) < self._workers_wanted:
            with open(log, "ab") as out:
                self._workers.append(subprocess.Popen(
                    [sys.executable, "-m", "torc.worker.main", "--url", self.url,
                     "--workflow-id", str(self.workflow_id), "--output-dir",
                     str(self.output_dir)], stdout=out, stderr=out, cwd=self.cwd))

    def _ensure_allocations(self) -> None:
        """``max_workers`` allocations when calls wait and none is alive or queued."""
        from torc.client.allocations import schedule_now
        from torc.slurm import FINAL_STATES
        if any(a.state not in FINAL_STATES
               for a in self.client.list_allocations(self.workflow_id)):
            return
        if any(w.active for w in self.client.list_workers(self.workflow_id)
               if w.role == "worker"):
            return
        schedule_now(self.client, self.workflow_id, "executor", self.max_workers, False,
                     self.output_dir)

    def _pending(self) -> list[CallFuture]:
        return [f for futures in self._by_job.values() for f in futures if not f.done()]

    def _watch(self) -> None:
        """Settle futures as their jobs end: a sweep of the pending ones' states, woken
        often while some are pending."""
        while not self._stop.is_set():
            with self._lock:
                pending = self._pending()
                if pending:
                    self._sweep(pending)
                    if self._pending():
                        self._ensure_workers()
            self._stop.wait(0.05 if pending else 0.2)

    def _sweep(self, pending: list[CallFuture]) -> None:
        ids = sorted({f.job_id for f in pending})
        ended: list[pb.Job] = []
        for start in range(0, len(ids), 10_000):
            ended += [job for job in self.client.list_jobs(
                self.workflow_id, job_ids=ids[start:start + 10_000]) if job.status in _DONE]
        outcomes = self._outcomes(ended)
        for job in ended:
            for future in self._by_job[job.id]:
                self._settle(future, job.status, outcomes[job.id].get(future.key))

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """No more calls; with ``wait``, return once every call has ended; then stop the
        local workers and an embedded coordinator."""
        with self._lock:
            self._shutdown = True
            pending = self._pending()
        if cancel_futures:
            for f in pending:
                f.cancel()
        if wait:
            for f in pending:
                try:
                    f.exception()
                except CancelledError:
                    pass
        self._stop.set()
        self._watcher.join()
        for w in self._workers:
            if w.poll() is None:
                w.terminate()
            w.wait()
        self.client.close()
        if self._embedded is not None:
            self._embedded.stop()
        elif self._adopted:
            import os
            import signal
            try:
                os.kill(self._adopted, signal.SIGTERM)  # it flushes and snapshots
            except ProcessLookupError:
                pass


__all__ = ["CallFuture", "RemoteError", "TorcExecutor"]
