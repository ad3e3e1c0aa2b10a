"""``TorcExecutor``: ``concurrent.futures.Executor`` over a torc workflow. Each call is a job;
its function and arguments travel as user data (cloudpickle: closures and lambdas work), and
so does its result or exception, which the job writes (``executor_job``). Every call is
durable: with a ``name``, a script run again finds its workflow and gets the results of calls
already made (same function, same arguments) without running them again.

    with TorcExecutor(name="study") as ex:           # an embedded coordinator and a worker
        squares = list(ex.map(lambda x: x * x, range(100)))
"""

from __future__ import annotations

import hashlib
import json
import shlex
import sys
import sysconfig
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import CancelledError, Executor, Future
from pathlib import Path
from typing import Any

import cloudpickle

from torc import states as S
from torc.client.executor_job import Ref, pack, unpack
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb

INLINE_LIMIT = 64 * 1024  # bytes of a pickled call or result kept in the user data itself
_DONE = {S.COMPLETED, S.FAILED, S.CANCELED, S.TERMINATED}


class RemoteError(Exception):
    """A call raised something that could not be brought back; its traceback is the text."""


class CallFuture(Future):
    """A call's future; ``cancel`` cancels its job while the job has not started."""

    def __init__(self, executor: TorcExecutor, key: str) -> None:
        super().__init__()
        self.key = key
        self.job_id = 0
        self._executor = executor

    def cancel(self) -> bool:
        if self.done():
            return self.cancelled()
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
        self._by_job: dict[int, CallFuture] = {}
        self._shutdown = False
        self.workflow_id = self._workflow(name or f"executor-{id(self):x}", resources, slurm)
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

    def _outcomes(self, jobs: list[pb.Job]) -> dict[int, Any]:
        """What each ended job wrote as its outcome (None where nothing), by job id: only
        their own output entries are read."""
        out = {}
        for job in jobs:
            data = None
            for i in job.output_user_data:
                u = self.client.call("GetUserData", pb.UserDataRef(
                    workflow_id=self.workflow_id, user_data_id=i))
                data = json.loads(u.data_json)
            out[job.id] = data
        return out

    # ----- calls

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> CallFuture:
        """Run ``fn(*args, **kwargs)`` as a job; futures among the arguments (at any depth
        of lists, tuples and dicts) are replaced by their results."""
        return self._submit_many([(fn, args, kwargs)])[0]

    def map(self, fn: Callable[..., Any], *iterables: Iterable[Any],
            timeout: float | None = None, chunksize: int = 1) -> Iterator[Any]:
        """Results in the order of the inputs, the calls added in one batch."""
        futures = self._submit_many([(fn, args, {}) for args in zip(*iterables, strict=False)])

        def results() -> Iterator[Any]:
            for f in futures:
                yield f.result(timeout)
        return results()

    def _submit_many(self, calls: list[tuple[Callable[..., Any], tuple, dict]]
                     ) -> list[CallFuture]:
        with self._lock:
            if self._shutdown:
                raise RuntimeError("cannot submit after shutdown")
            out: list[CallFuture] = []
            new: list[tuple[CallFuture, dict[str, Any], dict[str, Any]]] = []
            for fn, args, kwargs in calls:
                _by_value(fn)
                needs: list[str] = []
                args, kwargs = _refs(args, needs), _refs(kwargs, needs)
                payload = _pickled(fn, args, kwargs)
                key = hashlib.sha256(payload).hexdigest()[:20]
                if key in self._futures:
                    out.append(self._futures[key])
                    continue
                future = CallFuture(self, key)
                self._futures[key] = future
                out.append(future)
                call = {"call": pack((fn, args, kwargs), self.inline_limit,
                                     self.output_dir / "calls", key),
                        "needs": needs, "key": key, "limit": self.inline_limit,
                        "spill": str(self.output_dir / "calls")}
                name = f"{getattr(fn, '__name__', 'call')}_{key}".replace("<", "").replace(
                    ">", "")
                job = {"name": name, "command": f"{shlex.quote(sys.executable)} -m "
                                                f"torc.client.executor_job",
                       "input_user_data": [f"in_{key}", *(f"out_{k}" for k in needs)],
                       "output_user_data": [f"out_{key}"], "retry_on_worker_loss": 2,
                       "cancel_on_blocking_job_failure": True}
                if self.scheduler:
                    job["scheduler"] = self.scheduler
                new.append((future, {"name": f"in_{key}", "data": call}, job))
            self._add(new)
        return out

    def _add(self, new: list[tuple[CallFuture, dict[str, Any], dict[str, Any]]]) -> None:
        if not new:
            return
        existing = {j.name: j for j in self.client.list_jobs(self.workflow_id)} \
            if self._resumable() else {}
        done = self._outcomes([existing[j["name"]] for _, _, j in new
                               if j["name"] in existing
                               and existing[j["name"]].status in _DONE])
        fresh = []
        for future, data, job in new:
            old = existing.get(job["name"])
            if old is None:
                fresh.append((future, data, job))
                continue
            future.job_id = old.id  # made by an earlier run of the script
            self._by_job[old.id] = future
            if old.status in _DONE:
                self._settle(future, old.status, done.get(old.id))
        if fresh:
            rr = "call" if any(r.get("name") == "call" for r in self.client.workflow_spec(
                self.workflow_id).get("resource_requirements") or []) else None
            for _, _, job in fresh:
                if rr:
                    job["resource_requirements"] = rr
            added = self.client.add_to_workflow(self.workflow_id, {
                "user_data": [d for _, d, _ in fresh] + [
                    {"name": f"out_{f.key}"} for f, _, _ in fresh],
                "jobs": [j for _, _, j in fresh]}, source="TorcExecutor")
            for (future, _, _), job_id in zip(fresh, added.job_ids, strict=True):
                future.job_id = job_id
                self._by_job[job_id] = future
        self._ensure_workers()

    def _resumable(self) -> bool:
        return bool(self.client.list_jobs_page(self.workflow_id, None, 0, 1).total)

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
        return [f for f in self._by_job.values() if not f.done()]

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
        ids = [f.job_id for f in pending]
        ended: list[pb.Job] = []
        for start in range(0, len(ids), 10_000):
            ended += [job for job in self.client.list_jobs(
                self.workflow_id, job_ids=ids[start:start + 10_000]) if job.status in _DONE]
        outcomes = self._outcomes(ended)
        for job in ended:
            self._settle(self._by_job[job.id], job.status, outcomes[job.id])

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


def _pickled(fn: Any, args: tuple, kwargs: dict[str, Any]) -> bytes:
    """The call as cloudpickle; TorcError naming the function or argument that is not
    serializable (a lock, an open file, a generator...)."""
    try:
        return cloudpickle.dumps((fn, args, kwargs))
    except Exception as e:
        name = getattr(fn, "__name__", repr(fn))
        parts = [("the function", fn), *((f"argument {i}", a) for i, a in enumerate(args)),
                 *((f"argument {k!r}", v) for k, v in kwargs.items())]
        for what, value in parts:
            try:
                cloudpickle.dumps(value)
            except Exception as inner:
                raise TorcError(f"{name}: {what} ({type(value).__name__}) cannot be sent to a "
                                f"job: {inner}") from None
        raise TorcError(f"{name}: the call cannot be sent to a job: {e}") from None


def _by_value(fn: Any) -> None:
    """Pickle the function's module by value unless it is installed (the standard library,
    site-packages): a job runs in its own directory, where a script's or a test's modules
    do not import; installed ones do, on the same cluster."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    path = getattr(module, "__file__", None)
    if module is None or path is None or module.__name__ == "__main__":
        return
    installed = (sys.prefix, sys.base_prefix, *sysconfig.get_paths().values())
    if not any(str(Path(path).resolve()).startswith(str(Path(p).resolve()))
               for p in installed):
        cloudpickle.register_pickle_by_value(module)


def _refs(value: Any, needs: list[str]) -> Any:
    """``value`` with each CallFuture as a Ref to its call (noted in ``needs``)."""
    if isinstance(value, CallFuture):
        needs.append(value.key)
        return Ref(value.key)
    if isinstance(value, (list, tuple)):
        return type(value)(_refs(v, needs) for v in value)
    if isinstance(value, dict):
        return {k: _refs(v, needs) for k, v in value.items()}
    return value


__all__ = ["CallFuture", "RemoteError", "TorcExecutor"]
