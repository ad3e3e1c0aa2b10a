"""The worker-facing RPCs of ``torc.v1.Torc`` (a part of TorcService): registration,
claims of jobs and actions, reports, allocations and heartbeats.

Each checks its request, builds one event and commits it through ``ServiceCore.commit``.
A retried call (its answer lost) repeats its ``claim_id`` or ``instance_id`` and gets the same
answer, never a second effect.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import grpc

from torc import states as S
from torc.errors import InvalidArgument, TorcError
from torc.proto import torc_pb2 as pb
from torc.server.rpc import convert
from torc.server.rpc.replies import abort
from torc.server.rpc.service_core import ServiceCore
from torc.server.state import events as E
from torc.server.state import handoffs
from torc.server.state.claims import Offer
from torc.server.state.records import ReportOutcome, Worker
from torc.server.state.workflow import Workflow
from torc.triggers import MAIN_LOOP_TRIGGERS

MAX_CLAIM_BATCH = 10_000
MAX_WAIT_SECONDS = 60.0
MAX_PATH = 4096  # a worker's output directory (Linux's PATH_MAX)


@dataclass
class Ask:
    """A claim's offers, checked: what may start now and what may queue on the worker."""

    now: Offer | None
    max_now: int
    ahead: Offer | None
    max_ahead: int


async def _ask(request: pb.ClaimJobRequest, context: grpc.aio.ServicerContext) -> Ask:
    offers: list[Offer | None] = []
    for field in ("available", "ahead"):
        a = getattr(request, field)
        if min(a.num_cpus, a.memory_bytes, a.num_gpus, a.num_nodes) < 0:
            await abort(context, InvalidArgument(f"{field}: resources must not be negative"))
        offers.append(Offer(a.num_cpus, a.memory_bytes, a.num_gpus, a.num_nodes or 1,
                            a.time_left_seconds) if request.HasField(field) else None)
    if request.max_jobs < 0 or request.max_ahead < 0:
        await abort(context, InvalidArgument("max_jobs and max_ahead must not be negative"))
    return Ask(offers[0], min(request.max_jobs or MAX_CLAIM_BATCH, MAX_CLAIM_BATCH),
               offers[1], min(request.max_ahead or MAX_CLAIM_BATCH, MAX_CLAIM_BATCH))



_METRICS = ("peak_memory_bytes", "avg_memory_bytes", "peak_cpu_percent", "avg_cpu_percent")
_NO_METRICS = (None,) * len(_METRICS)


def report_row(r: pb.JobReport, wf: Workflow | None = None) -> E.ReportRow | str:
    """One job report as the event stores it: by the workflow's own numbers (``wf``; the
    worker sends global ids), file ids as indices. Returns why instead when it names a job or
    file the workflow does not own (each report is applied or rejected on its own).
    InvalidArgument for a time or figure that is not a finite number: no result can hold it,
    and the log's encoder (orjson, as JSON has no NaN) would turn it into null."""
    has = r.HasField  # spelled out: this runs for every job's start and end
    metrics = (r.peak_memory_bytes if has("peak_memory_bytes") else None,
               r.avg_memory_bytes if has("avg_memory_bytes") else None,
               r.peak_cpu_percent if has("peak_cpu_percent") else None,
               r.avg_cpu_percent if has("avg_cpu_percent") else None)
    if not (_finite(r.start_time) and _finite(r.end_time)) or (
            metrics != _NO_METRICS and not all(v is None or _finite(v) for v in metrics)) or (
            r.output_mtimes and not all(map(_finite, r.output_mtimes.values()))):
        raise _not_finite(r, metrics)
    job_id, after = r.job_id, r.after_job_id
    mtimes: tuple = ()
    if wf is not None:
        jobs = wf.ids["jobs"]
        job_id = jobs.to_local(job_id)
        after = jobs.to_local(after) if after else 0
        if not job_id or (r.after_job_id and not after):
            return (f"job {r.after_job_id if job_id else r.job_id} does not exist in "
                    f"workflow {wf.id}")
    if r.output_mtimes:
        to_file = wf.ids["files"].to_local if wf is not None else int
        mtimes = tuple(sorted((to_file(k) - 1, v) for k, v in r.output_mtimes.items()))
        if any(k < 0 for k, _ in mtimes):
            return f"job {r.job_id}: output_mtimes names a file the workflow does not have"
    return E.ReportRow(
        job_id, r.kind, r.return_code, r.status, r.start_time, r.end_time, r.run_id,
        r.attempt_id, r.message[:4000], None if metrics == _NO_METRICS else metrics,
        r.recovery_return_code if has("recovery_return_code") else None, mtimes, after)


_finite = math.isfinite


def _not_finite(r: pb.JobReport, metrics: tuple) -> InvalidArgument:
    for field, value in (("start_time", r.start_time), ("end_time", r.end_time),
                         *zip(_METRICS, metrics, strict=True),
                         *(("output_mtimes", v) for v in r.output_mtimes.values())):
        if value is not None and not _finite(value):
            return InvalidArgument(f"report for job {r.job_id}: {field} must be a finite "
                                   f"number, not {value}")
    raise AssertionError("every value is finite")


def next_jobs(wf: Workflow, w: Worker, held: list[int]) -> list[pb.ClaimedJob]:
    """The hand-offs (see handoffs.py) for jobs worker ``w`` was just given or started."""
    out = []
    for job, parent in handoffs.next_jobs(wf, w.scheduler, held):
        cj = convert.claimed_job(wf, job)
        cj.after_job_id = wf.gid(parent)
        out.append(cj)
    return out


def _locals(wf: Workflow, claimed: Iterable[pb.ClaimedJob]) -> list[int]:
    """The workflow's own numbers of jobs as claimed (global ids)."""
    if (off := wf.ids["jobs"].offset) is not None:
        return [j.id - off for j in claimed]
    to_local = wf.ids["jobs"].to_local
    return [to_local(j.id) for j in claimed]


def fitting_jobs(wf: Workflow, offer: Offer, scheduler: str = "") -> int:
    """Jobs not yet done (and not held) that would fit ``offer`` and may run on a worker of
    ``scheduler``: what may still run on a worker that has nothing to do now (it asks only
    when deciding whether to leave)."""
    fits = [offer.fits(rr) for rr in wf.rrs]
    held: set[int] = set()  # downstream of a pending_failed job: waits for `torc recover`
    if wf.counts[S.PENDING_FAILED]:
        held = {j.id for j in wf.downstream([j.id for j in wf.jobs
                                             if j.status == S.PENDING_FAILED])}
    return sum(1 for j in wf.jobs if j.status in (S.UNINITIALIZED, S.BLOCKED, S.READY)
               and fits[j.rr] and j.id not in held
               and not (scheduler and j.scheduler and j.scheduler != scheduler))


def retried(last_claim: list, claim_id: int) -> list[int] | None:
    """What a claim got the first time if ``claim_id`` repeats the worker's last claim (a
    retry whose answer was lost), else None."""
    return list(last_claim[1]) if claim_id and last_claim[0] == claim_id else None


class WorkerRpcs:
    """The worker-facing RPCs: registration, claims of jobs and actions, reports, allocations."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store = core.store

    async def RegisterWorker(self, request: pb.RegisterWorkerRequest,
                             context: grpc.aio.ServicerContext) -> pb.RegisterWorkerResponse:
        if request.instance_id:
            try:  # a retry finds its worker, but only for whom may register there at all
                self.core.writable(context, request.workflow_id)
            except TorcError as e:
                await abort(context, e)
            for w in self.store.workers.values():
                if (w.instance == request.instance_id and w.workflow_id == request.workflow_id
                        and w.active):
                    await self.core.durable(context)
                    return pb.RegisterWorkerResponse(
                        worker_id=w.id, heartbeat_interval=self.core.heartbeat_interval,
            coordinator_id=self.core.coordinator_id,
                        settings_json=convert.worker_settings(
                            self.store.workflow(w.workflow_id)))
        if len(request.output_dir) > MAX_PATH:
            await abort(context, InvalidArgument(
                f"output_dir: a path of {len(request.output_dir)} characters; at most "
                f"{MAX_PATH}"))
        r = request.resources
        res = {"num_cpus": r.num_cpus, "memory": r.memory_bytes, "num_gpus": r.num_gpus,
               "num_nodes": r.num_nodes or 1, "time_left": r.time_left_seconds}
        w = await self.core.commit(E.RegisterWorker(
            self.store.next_worker_id, request.workflow_id, time.time(),
            hostname=request.hostname, slurm_job_id=request.slurm_job_id,
            node_name=request.node_name, resources=res, pid=request.pid,
            role=request.role or "worker", instance=request.instance_id,
            scheduler=request.scheduler, output_dir=request.output_dir), context)
        return pb.RegisterWorkerResponse(
            worker_id=w.id, heartbeat_interval=self.core.heartbeat_interval,
            coordinator_id=self.core.coordinator_id,
            settings_json=convert.worker_settings(self.store.workflow(w.workflow_id)))

    async def UnregisterWorker(self, request: pb.UnregisterWorkerRequest,
                               context: grpc.aio.ServicerContext) -> pb.Empty:
        w = self.store.workers.get(request.worker_id)
        if w is not None and w.workflow_id in self.store.workflows:
            try:
                self.core.writable(context, w.workflow_id)
            except TorcError as e:
                await abort(context, e)
        await self.core.commit(E.UnregisterWorker(request.worker_id, time.time()), context)
        return pb.Empty()

    def _claim_flags(self, wf_id: int, worker_id: int) -> dict[str, Any]:
        wf = self.store.workflows.get(wf_id)
        if wf is None:
            return {"workflow_done": True, "canceled": True}
        return {
            "workflow_done": wf.complete,
            "canceled": wf.canceled,
            "actions_pending": bool(wf.actions.pending_for(worker_id, MAIN_LOOP_TRIGGERS)),
            "ready_jobs": wf.counts[S.READY],
            "unfinished_jobs": len(wf.jobs) - wf.done_count,
            "initialized": wf.initialized,
        }

    async def ClaimJob(self, request: pb.ClaimJobRequest,
                       context: grpc.aio.ServicerContext) -> pb.ClaimJobResponse:
        ask = await _ask(request, context)
        wait = request.wait_seconds if math.isfinite(request.wait_seconds) else 0.0
        deadline = time.monotonic() + min(max(wait, 0.0), MAX_WAIT_SECONDS)
        woken = False
        while True:
            try:
                wf = self.core.writable(context, request.workflow_id)
                w = self.store.live_worker(request.worker_id, wf.id)
            except TorcError as e:
                await abort(context, e)
            # Pending actions come first (as in Torc's job runner): the worker runs them,
            # then claims again.
            pending_actions = bool(wf.actions.pending_for(request.worker_id, MAIN_LOOP_TRIGGERS))
            jobs = await self._claim_now(wf, w, request, ask, context,
                                         pick=not (request.peek or pending_actions
                                                   or wf.actions.setup_running()))
            if jobs is not None:
                return pb.ClaimJobResponse(jobs=jobs, next_jobs=next_jobs(
                    wf, w, _locals(wf, jobs)), **self._claim_flags(wf.id, w.id))
            flags = self._claim_flags(wf.id, request.worker_id)
            remaining = deadline - time.monotonic()
            if (remaining <= 0 or woken or flags["workflow_done"] or flags["actions_pending"]
                    or (request.peek and flags["initialized"])):
                await self.core.durable(context)
                if request.count_fitting and ask.now is not None:
                    flags["fitting_jobs"] = fitting_jobs(wf, ask.now, w.scheduler)
                return pb.ClaimJobResponse(**flags)
            # Any change in the workflow ends the wait: the worker then claims again with
            # what it has free by then, which may differ from this request's offer.
            loop = asyncio.get_running_loop()
            fut: asyncio.Future[bool] = loop.create_future()
            timer = loop.call_later(remaining, lambda f=fut: f.done() or f.set_result(False))
            waiting = self.core.claim_waiters.setdefault(wf.id, [])
            waiting.append(fut)
            try:
                woken = await fut
            finally:
                timer.cancel()
                if fut in waiting:  # timed out or cancelled: leave no future behind
                    waiting.remove(fut)
                    if not waiting and self.core.claim_waiters.get(wf.id) is waiting:
                        del self.core.claim_waiters[wf.id]

    async def _claim_now(self, wf: Workflow, w: Worker, request: pb.ClaimJobRequest, ask: Ask,
                         context: grpc.aio.ServicerContext,
                         pick: bool = True) -> list[pb.ClaimedJob] | None:
        """Claim what fits ``offer`` at once; None when nothing was claimed.

        A request whose claim_id repeats the worker's last claim is a retry whose first answer
        was lost: it gets the same jobs again (those still unstarted), never new ones.
        """
        if (first := retried(w.last_claim, request.claim_id)) is not None:
            again = [wf.jobs[i - 1] for i in first
                     if wf.jobs[i - 1].status == S.PENDING and wf.jobs[i - 1].worker_id == w.id]
            await self.core.durable(context)
            return [convert.claimed_job(wf, j) for j in again]
        picker = wf.picker(w.scheduler) if pick else None
        if picker is None:
            return None
        # The choice changes nothing; the ClaimJobs event takes the jobs when it is applied.
        ids = picker.take(replace(ask.now), ask.max_now) if ask.now is not None else []
        if ask.ahead is not None:
            # Queued jobs run one after another: each must fit the worker, not all together,
            # so the offer is renewed for every load.
            ahead: list[int] = []
            while got := picker.take(replace(ask.ahead), ask.max_ahead - len(ahead)):
                ahead += got
                if len(ahead) >= ask.max_ahead:
                    break
            ids += ahead
        if not ids:
            return None
        jobs = await self.core.commit(E.ClaimJobs(wf.id, w.id, tuple(ids), request.claim_id),
                                      context)
        return [convert.claimed_job(wf, j) for j in jobs]

    async def ClaimAction(self, request: pb.ClaimActionRequest,
                          context: grpc.aio.ServicerContext) -> pb.ClaimActionResponse:
        try:
            wf = self.core.writable(context, request.workflow_id)
            w = self.store.live_worker(request.worker_id, wf.id)
        except TorcError as e:
            await abort(context, e)
        if (first := retried(w.last_action_claim, request.claim_id)) is not None:
            await self.core.durable(context)
            again = [wf.actions.get(i) for i in first]
            return pb.ClaimActionResponse(actions=[convert.claimed_action(wf, x) for x in again])
        triggers = set(request.trigger_types) or None
        kinds = set(request.action_types)
        ids = [a.id for a in wf.actions.pending_for(request.worker_id, triggers)
               if not kinds or a.kind in kinds]
        if not ids:
            await self.core.durable(context)
            return pb.ClaimActionResponse()
        actions = await self.core.commit(E.ClaimActions(wf.id, request.worker_id, tuple(ids),
                                                    request.claim_id), context)
        return pb.ClaimActionResponse(actions=[convert.claimed_action(wf, x) for x in actions])

    async def ReportStatus(self, request: pb.ReportStatusRequest,
                           context: grpc.aio.ServicerContext) -> pb.ReportStatusResponse:
        # A malformed claim is refused before the reports are applied: bad input changes nothing.
        ask = await _ask(request.claim, context) if request.HasField("claim") else None
        known = self.store.workflows.get(request.workflow_id)
        try:
            built = [report_row(r, known) for r in request.reports]
        except TorcError as e:
            await abort(context, e)
        rows = tuple(r for r in built if not isinstance(r, str))
        unknown = [r for r in built if isinstance(r, str)]
        # Not waited for alone: the claim below is logged after it, and the answer goes only
        # once both are durable, so a report and its claim cost one fsync, not two.
        outcome: ReportOutcome = await self.core.commit(
            E.Report(request.workflow_id, request.worker_id, rows), context, durable=False)
        rejected = outcome.rejected + unknown
        started, refused = outcome.handed_off, outcome.refused
        try:
            wf = self.store.workflows.get(request.workflow_id)
            pending = wf is not None and bool(wf.actions.pending_for(request.worker_id,
                                                                      MAIN_LOOP_TRIGGERS))
            jobs: list[pb.ClaimedJob] | None = None
            nexts: list[pb.ClaimedJob] = []
            if (wf is not None and (ask is not None or started) and not pending
                    and not wf.actions.setup_running()):
                try:
                    w = self.store.live_worker(request.worker_id, wf.id)
                except TorcError as e:
                    await abort(context, e)
                if ask is not None:
                    jobs = await self._claim_now(wf, w, request.claim, ask, context)
                nexts = next_jobs(wf, w, started + _locals(wf, jobs or ()))
        finally:
            await self.core.durable(context)  # the report, whatever the claim did
        return pb.ReportStatusResponse(rejected=rejected, workflow_done=wf is None or wf.complete,
                                       actions_pending=pending, jobs=jobs or [],
                                       next_jobs=nexts,
                                       refused_job_ids=[wf.gid(i) for i in refused] if wf
                                       else refused)

    async def ReportActionResult(self, request: pb.ReportActionResultRequest,
                                 context: grpc.aio.ServicerContext) -> pb.Empty:
        e = request.execution
        execution = {"start_time": e.start_time, "end_time": e.end_time, "success": e.success,
                     "message": e.message[:4000], "stdout_path": e.stdout_path,
                     "stderr_path": e.stderr_path}
        await self.core.commit(E.ActionResult(request.workflow_id, request.worker_id,
                                          request.action_id, execution), context)
        return pb.Empty()

    async def RecordAllocation(self, request: pb.RecordAllocationRequest,
                               context: grpc.aio.ServicerContext) -> pb.Allocation:
        alloc = await self.core.commit(E.RecordAllocation(
            request.workflow_id, request.worker_id, request.action_id, request.slurm_job_id,
            time.time(), scheduler=request.scheduler, num_nodes=request.num_nodes or 1),
            context)
        return convert.allocation(request.workflow_id, alloc)
