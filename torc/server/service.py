"""The gRPC service: turns calls into events, commits them, and answers once they are durable.

Every mutating call goes through :meth:`TorcService._commit`: apply the event to the store
(which validates it first), append it to the WAL, wait for the group commit, answer. Reads wait
for the WAL too, so nobody is shown a state that a crash could take back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, replace
from typing import Any, NoReturn

import grpc

from torc import auth
from torc import states as S
from torc.errors import InvalidArgument, TorcError
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc
from torc.server import access, convert
from torc.server.access import PermissionDenied
from torc.server.claims import Offer
from torc.server.identity import Identities, Identity
from torc.server.service_groups import AccessGroupRpcs
from torc.server.store import Event, FeedItem, Store
from torc.server.wal import Wal, encode_payload
from torc.server.workflow import Workflow
from torc.spec.validate import normalize
from torc.triggers import MAIN_LOOP_TRIGGERS

log = logging.getLogger(__name__)

MAX_CLAIM_BATCH = 10_000
MAX_WAIT_SECONDS = 60.0
MAX_PAGE = 100_000
# Events after which long-polling claimers of the workflow should look again.
_WAKING = frozenset({"init", "reinit", "reset", "cancel", "report", "action_result", "unregister",
                     "worker_lost", "delete"})


async def _abort(context: grpc.aio.ServicerContext, e: TorcError) -> NoReturn:
    await context.abort(getattr(grpc.StatusCode, e.code, grpc.StatusCode.UNKNOWN), e.message)
    raise AssertionError("unreachable")


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
            await _abort(context, InvalidArgument(f"{field}: resources must not be negative"))
        offers.append(Offer(a.num_cpus, a.memory_bytes, a.num_gpus, a.num_nodes or 1,
                            a.time_left_seconds) if request.HasField(field) else None)
    if request.max_jobs < 0 or request.max_ahead < 0:
        await _abort(context, InvalidArgument("max_jobs and max_ahead must not be negative"))
    return Ask(offers[0], min(request.max_jobs or MAX_CLAIM_BATCH, MAX_CLAIM_BATCH),
               offers[1], min(request.max_ahead or MAX_CLAIM_BATCH, MAX_CLAIM_BATCH))


class TorcService(AccessGroupRpcs, pb_grpc.TorcServicer):
    """Implements ``torc.v1.Torc`` over one Store and one Wal."""

    def __init__(self, store: Store, wal: Wal, identities: Identities,
                 heartbeat_interval: float = 5.0, lost_after_intervals: float = 3.0,
                 snapshot_every: int = 200_000) -> None:
        self.store = store
        self.wal = wal
        self.identities = identities
        self.heartbeat_interval = heartbeat_interval
        self.lost_after = heartbeat_interval * lost_after_intervals
        self.snapshot_every = snapshot_every
        self._wake: dict[int, asyncio.Event] = {}
        self._subscribers: list[tuple[int, asyncio.Queue[pb.WorkflowEvent], Identity]] = []
        self._published = store.feed_seq
        self._snapshotting = False
        self.snapshot_hook: Any = None  # set by the server: async callable taking a snapshot

    # ----- commit path

    def _apply_and_log(self, event: Event) -> tuple[Any, int]:
        """Encode, apply, append: in that order, so that an event that cannot be logged (too
        large, too deep) or arrives after the log failed changes nothing."""
        payload = encode_payload(event)
        self.wal.check_writable()
        result = self.store.apply(event)
        seq = self.wal.append(payload)
        self._after_apply(event)
        return result, seq

    async def _commit(self, event: Event, context: grpc.aio.ServicerContext) -> Any:
        try:
            if "wf" in event and event["t"] != "create":
                self._writable(context, event["wf"])  # only its owner or an admin changes it
            result, seq = self._apply_and_log(event)
            await self.wal.sync(seq)
        except TorcError as e:
            await _abort(context, e)
        return result

    def _after_apply(self, event: Event) -> None:
        wf_id = event.get("wf")
        if event["t"] in _WAKING:
            if wf_id is None and "worker" in event:
                w = self.store.workers.get(event["worker"])
                wf_id = w.workflow_id if w else None
            if wf_id is not None:
                self.wake(wf_id)
        self._publish()
        if (self.snapshot_hook is not None and not self._snapshotting
                and self.wal.records_since_snapshot >= self.snapshot_every):
            self._snapshotting = True
            asyncio.get_running_loop().create_task(self._snapshot())

    async def _snapshot(self) -> None:
        try:
            await self.snapshot_hook()
        except Exception:
            log.exception("snapshot failed")
        finally:
            self._snapshotting = False

    def wake(self, wf_id: int) -> None:
        """Wake claimers long-polling on ``wf_id``."""
        ev = self._wake.pop(wf_id, None)
        if ev is not None:
            ev.set()

    def _publish(self) -> None:
        new = self.store.feed_seq - self._published
        if new <= 0:
            return
        self._published = self.store.feed_seq
        if not self._subscribers:
            return
        items = list(self.store.feed)[-min(new, len(self.store.feed)):]
        for item in items:
            msg = pb.WorkflowEvent(workflow_id=item.workflow_id, timestamp=item.timestamp,
                                   kind=item.kind, message=item.message)
            for wf_filter, q, who in self._subscribers:
                if (wf_filter in (0, item.workflow_id) and q.qsize() < 10_000
                        and self._may_see(who, item)):
                    q.put_nowait(msg)

    async def _durable(self, context: grpc.aio.ServicerContext) -> None:
        """Wait until everything applied so far is on disk (a failed log aborts the call)."""
        try:
            await self.wal.sync()
        except TorcError as e:
            await _abort(context, e)

    # ----- who may do what

    def who(self, context: grpc.aio.ServicerContext) -> Identity:
        """The caller, from its token (the interceptor let only known tokens in)."""
        for key, value in context.invocation_metadata() or ():
            if key == auth.HEADER:
                found = self.identities.lookup(str(value).removeprefix("Bearer "))
                if found is not None:
                    return found
        raise PermissionDenied("no identity for this call")

    def _readable(self, context: grpc.aio.ServicerContext, wf_id: int) -> Workflow:
        wf = self.store.workflow(wf_id)
        if not access.can_read(self.who(context), wf.user, wf.id,
                               self.identities.multi_user, self.store.groups):
            raise PermissionDenied(f"workflow {wf_id} belongs to {wf.user!r}, who has not "
                                   "shared it with you (torc access-groups)")
        return wf

    def _writable(self, context: grpc.aio.ServicerContext, wf_id: int) -> Workflow:
        wf = self._readable(context, wf_id)
        access.check_write(self.who(context), wf.user, wf.id, self.identities.multi_user)
        return wf

    def _may_see(self, who: Identity, item: FeedItem) -> bool:
        if not self.identities.multi_user:
            return True
        wf = self.store.workflows.get(item.workflow_id)
        if wf is None:  # deleted: only admins saw who had it
            return who.admin
        return access.can_read(who, wf.user, wf.id, True, self.store.groups)

    async def _read(self, context: grpc.aio.ServicerContext, wf_id: int) -> Workflow:
        """The workflow, if the caller may read it, once what was applied is durable."""
        await self._durable(context)
        try:
            return self._readable(context, wf_id)
        except TorcError as e:
            await _abort(context, e)

    # ----- workflows

    async def CreateWorkflow(self, request: pb.CreateWorkflowRequest,
                             context: grpc.aio.ServicerContext) -> pb.Workflow:
        source = request.source or "<request>"
        try:
            try:
                raw = json.loads(request.spec_json)
            except json.JSONDecodeError as e:
                raise InvalidArgument(f"{source}: spec is not valid JSON: {e.msg} "
                                      f"(line {e.lineno})") from None
            except RecursionError:
                raise InvalidArgument(f"{source}: spec is nested too deeply") from None
            except ValueError as e:  # e.g. an integer of thousands of digits
                raise InvalidArgument(f"{source}: spec is not valid: {e}") from None
            spec = normalize(raw, source)
        except TorcError as e:
            await _abort(context, e)
        who = self.who(context)
        user = spec.get("user") or who.name
        if self.identities.multi_user and user != who.name and not who.admin:
            await _abort(context, PermissionDenied(
                f"{source}: user {user!r}: only an admin may create a workflow for someone "
                f"else (you are {who.name!r})"))
        wf = await self._commit({"t": "create", "wf": self.store.next_workflow_id, "spec": spec,
                                 "user": user, "ts": time.time()}, context)
        return convert.workflow(wf)

    async def GetWorkflow(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.Workflow:
        wf = await self._read(context, request.workflow_id)
        return convert.workflow(wf)

    async def ListWorkflows(self, request: pb.ListWorkflowsRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListWorkflowsResponse:
        await self._durable(context)
        who, multi = self.who(context), self.identities.multi_user
        wfs = sorted((w for w in self.store.workflows.values()
                      if access.can_read(who, w.user, w.id, multi, self.store.groups)),
                     key=lambda w: w.id)
        limit = request.limit if request.limit > 0 else len(wfs)
        page = wfs[max(request.offset, 0):max(request.offset, 0) + limit]
        return pb.ListWorkflowsResponse(workflows=[convert.workflow(w) for w in page])

    async def DeleteWorkflow(self, request: pb.WorkflowRef,
                             context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._commit({"t": "delete", "wf": request.workflow_id, "ts": time.time()}, context)
        return pb.Empty()

    async def _workflow_event(self, kind: str, request: Any, context: grpc.aio.ServicerContext,
                              **extra: Any) -> pb.Workflow:
        wf = await self._commit({"t": kind, "wf": request.workflow_id, "ts": time.time(),
                                 **extra}, context)
        return convert.workflow(wf)

    async def CancelWorkflow(self, request: pb.WorkflowRef,
                             context: grpc.aio.ServicerContext) -> pb.Workflow:
        return await self._workflow_event("cancel", request, context)

    async def InitializeWorkflow(self, request: pb.WorkflowRef,
                                 context: grpc.aio.ServicerContext) -> pb.Workflow:
        return await self._workflow_event("init", request, context)

    async def ReinitializeWorkflow(self, request: pb.WorkflowRef,
                                   context: grpc.aio.ServicerContext) -> pb.Workflow:
        return await self._workflow_event("reinit", request, context)

    async def ResetStatus(self, request: pb.ResetStatusRequest,
                          context: grpc.aio.ServicerContext) -> pb.Workflow:
        return await self._workflow_event("reset", request, context,
                                          failed_only=request.failed_only,
                                          reinit=request.reinitialize)

    async def GetStatus(self, request: pb.WorkflowRef,
                        context: grpc.aio.ServicerContext) -> pb.WorkflowStatus:
        wf = await self._read(context, request.workflow_id)
        return convert.status(wf)

    # ----- read side

    async def ListJobs(self, request: pb.ListJobsRequest,
                       context: grpc.aio.ServicerContext) -> pb.ListJobsResponse:
        wf = await self._read(context, request.workflow_id)
        if request.status and request.status not in S.NAMES:
            await _abort(context, InvalidArgument(f"unknown job status {request.status}"))
        jobs = wf.jobs if not request.status else [j for j in wf.jobs
                                                   if j.status == request.status]
        offset = max(request.offset, 0)
        limit = min(request.limit, MAX_PAGE) if request.limit > 0 else MAX_PAGE
        page = jobs[offset:offset + limit]
        return pb.ListJobsResponse(jobs=[convert.job(wf, j) for j in page], total=len(jobs))

    async def ListResults(self, request: pb.ListResultsRequest,
                          context: grpc.aio.ServicerContext) -> pb.ListResultsResponse:
        wf = await self._read(context, request.workflow_id)
        rows = wf.results
        if request.failed_only:
            rows = [r for r in rows if r[4] != S.COMPLETED]
        offset = max(request.offset, 0)
        limit = min(request.limit, MAX_PAGE) if request.limit > 0 else MAX_PAGE
        return pb.ListResultsResponse(
            results=[convert.result(wf, r) for r in rows[offset:offset + limit]],
            total=len(rows))

    async def ListActions(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.ListActionsResponse:
        wf = await self._read(context, request.workflow_id)
        return pb.ListActionsResponse(actions=[convert.action(wf, a)
                                               for a in wf.actions.actions])

    async def ListWorkers(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.ListWorkersResponse:
        await self._read(context, request.workflow_id)
        return pb.ListWorkersResponse(workers=[
            convert.worker(w) for w in self.store.workers.values()
            if w.workflow_id == request.workflow_id])

    # ----- workers

    async def RegisterWorker(self, request: pb.RegisterWorkerRequest,
                             context: grpc.aio.ServicerContext) -> pb.RegisterWorkerResponse:
        if request.instance_id:
            for w in self.store.workers.values():
                if (w.instance == request.instance_id and w.workflow_id == request.workflow_id
                        and w.active):
                    await self._durable(context)
                    return pb.RegisterWorkerResponse(
                        worker_id=w.id, heartbeat_interval=self.heartbeat_interval)
        r = request.resources
        res = {"num_cpus": r.num_cpus, "memory": r.memory_bytes, "num_gpus": r.num_gpus,
               "num_nodes": r.num_nodes or 1, "time_left": r.time_left_seconds}
        w = await self._commit({
            "t": "register", "worker": self.store.next_worker_id, "wf": request.workflow_id,
            "host": request.hostname, "slurm_job_id": request.slurm_job_id,
            "node": request.node_name, "res": res, "pid": request.pid, "ts": time.time(),
            "role": request.role or "worker", "instance": request.instance_id,
        }, context)
        return pb.RegisterWorkerResponse(worker_id=w.id,
                                         heartbeat_interval=self.heartbeat_interval)

    async def UnregisterWorker(self, request: pb.UnregisterWorkerRequest,
                               context: grpc.aio.ServicerContext) -> pb.Empty:
        w = self.store.workers.get(request.worker_id)
        if w is not None and w.workflow_id in self.store.workflows:
            try:
                self._writable(context, w.workflow_id)
            except TorcError as e:
                await _abort(context, e)
        await self._commit({"t": "unregister", "worker": request.worker_id, "ts": time.time()},
                           context)
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
                wf = self._writable(context, request.workflow_id)
                w = self.store.live_worker(request.worker_id, wf.id)
            except TorcError as e:
                await _abort(context, e)
            # Pending actions come first (as in Torc's job runner): the worker runs them,
            # then claims again.
            pending_actions = bool(wf.actions.pending_for(request.worker_id, MAIN_LOOP_TRIGGERS))
            jobs = await self._claim_now(wf, w, request, ask, context,
                                         pick=not (request.peek or pending_actions
                                                   or wf.actions.setup_running()))
            if jobs is not None:
                return pb.ClaimJobResponse(jobs=jobs, **self._claim_flags(wf.id, w.id))
            flags = self._claim_flags(wf.id, request.worker_id)
            remaining = deadline - time.monotonic()
            if (remaining <= 0 or woken or flags["workflow_done"] or flags["actions_pending"]
                    or (request.peek and flags["initialized"])):
                await self._durable(context)
                return pb.ClaimJobResponse(**flags)
            # Any change in the workflow ends the wait: the worker then claims again with
            # what it has free by then, which may differ from this request's offer.
            ev = self._wake.setdefault(wf.id, asyncio.Event())
            try:
                await asyncio.wait_for(ev.wait(), remaining)
                woken = True
            except TimeoutError:
                pass

    async def _claim_now(self, wf: Any, w: Any, request: pb.ClaimJobRequest, ask: Ask,
                         context: grpc.aio.ServicerContext,
                         pick: bool = True) -> list[pb.ClaimedJob] | None:
        """Claim what fits ``offer`` at once; None when nothing was claimed.

        A request whose claim_id repeats the worker's last claim is a retry whose first answer
        was lost: it gets the same jobs again (those still unstarted), never new ones.
        """
        if request.claim_id and w.last_claim[0] == request.claim_id:
            again = [wf.jobs[i - 1] for i in w.last_claim[1]
                     if wf.jobs[i - 1].status == S.PENDING and wf.jobs[i - 1].worker_id == w.id]
            await self._durable(context)
            return [convert.claimed_job(wf, j) for j in again]
        ids = []
        if pick and ask.now is not None:
            ids = wf.pick(replace(ask.now), ask.max_now)
        if pick and ask.ahead is not None:
            # Queued jobs run one after another: each must fit the worker, not all together,
            # so the offer is renewed for every load.
            ahead: list[int] = []
            while got := wf.pick(replace(ask.ahead), ask.max_ahead - len(ahead)):
                ahead += got
                if len(ahead) >= ask.max_ahead:
                    break
            ids += ahead
        if not ids:
            return None
        jobs = await self._commit({"t": "claim", "wf": wf.id, "worker": w.id, "jobs": ids,
                                   "cid": request.claim_id}, context)
        return [convert.claimed_job(wf, j) for j in jobs]

    async def ClaimAction(self, request: pb.ClaimActionRequest,
                          context: grpc.aio.ServicerContext) -> pb.ClaimActionResponse:
        try:
            wf = self._writable(context, request.workflow_id)
            w = self.store.live_worker(request.worker_id, wf.id)
        except TorcError as e:
            await _abort(context, e)
        if request.claim_id and w.last_action_claim[0] == request.claim_id:
            await self._durable(context)
            again = [wf.actions.get(i) for i in w.last_action_claim[1]]
            return pb.ClaimActionResponse(actions=[convert.claimed_action(wf, x) for x in again])
        triggers = set(request.trigger_types) or None
        kinds = set(request.action_types)
        ids = [a.id for a in wf.actions.pending_for(request.worker_id, triggers)
               if not kinds or a.kind in kinds]
        if not ids:
            await self._durable(context)
            return pb.ClaimActionResponse()
        actions = await self._commit({"t": "claim_action", "wf": wf.id,
                                      "worker": request.worker_id, "actions": ids,
                                      "cid": request.claim_id}, context)
        return pb.ClaimActionResponse(actions=[convert.claimed_action(wf, x) for x in actions])

    async def ReportStatus(self, request: pb.ReportStatusRequest,
                           context: grpc.aio.ServicerContext) -> pb.ReportStatusResponse:
        # A malformed claim is refused before the reports are applied: bad input changes nothing.
        ask = await _ask(request.claim, context) if request.HasField("claim") else None
        rows = [[r.job_id, r.kind, r.return_code, r.status, r.start_time, r.end_time, r.run_id,
                 r.attempt_id] for r in request.reports]
        rejected = await self._commit({"t": "report", "wf": request.workflow_id,
                                       "worker": request.worker_id, "r": rows}, context)
        wf = self.store.workflows.get(request.workflow_id)
        pending = wf is not None and bool(wf.actions.pending_for(request.worker_id,
                                                                  MAIN_LOOP_TRIGGERS))
        jobs: list[pb.ClaimedJob] | None = None
        if ask is not None and wf is not None and not pending and not wf.actions.setup_running():
            try:
                w = self.store.live_worker(request.worker_id, wf.id)
            except TorcError as e:
                await _abort(context, e)
            jobs = await self._claim_now(wf, w, request.claim, ask, context)
        return pb.ReportStatusResponse(rejected=rejected, workflow_done=wf is None or wf.complete,
                                       actions_pending=pending, jobs=jobs or [])

    async def ReportActionResult(self, request: pb.ReportActionResultRequest,
                                 context: grpc.aio.ServicerContext) -> pb.Empty:
        e = request.execution
        execution = {"start_time": e.start_time, "end_time": e.end_time, "success": e.success,
                     "message": e.message[:4000], "stdout_path": e.stdout_path,
                     "stderr_path": e.stderr_path}
        await self._commit({"t": "action_result", "wf": request.workflow_id,
                            "worker": request.worker_id, "action": request.action_id,
                            "exec": execution}, context)
        return pb.Empty()

    async def RecordAllocation(self, request: pb.RecordAllocationRequest,
                               context: grpc.aio.ServicerContext) -> pb.Allocation:
        alloc = await self._commit({
            "t": "allocation", "wf": request.workflow_id, "worker": request.worker_id,
            "action": request.action_id, "slurm_job_id": request.slurm_job_id,
            "scheduler": request.scheduler, "nodes": request.num_nodes or 1, "ts": time.time(),
        }, context)
        return convert.allocation(request.workflow_id, alloc)

    async def ListAllocations(self, request: pb.WorkflowRef,
                              context: grpc.aio.ServicerContext) -> pb.ListAllocationsResponse:
        wf = await self._read(context, request.workflow_id)
        return pb.ListAllocationsResponse(allocations=[convert.allocation(wf.id, a)
                                                       for a in wf.allocations])

    async def Heartbeat(self, request_iterator: AsyncIterator[pb.HeartbeatRequest],
                        context: grpc.aio.ServicerContext) -> AsyncIterator[pb.HeartbeatResponse]:
        async for hb in request_iterator:
            w = self.store.workers.get(hb.worker_id)
            if w is None or w.lost or not w.active:
                yield pb.HeartbeatResponse(shutdown=True)
                return
            if w.workflow_id in self.store.workflows:
                try:
                    self._writable(context, w.workflow_id)
                except TorcError as e:
                    await _abort(context, e)
            w.last_heartbeat = time.time()
            wf = self.store.workflows.get(w.workflow_id)
            if wf is None:
                yield pb.HeartbeatResponse(shutdown=True)
                return
            cancel = [j for j in hb.running_job_ids
                      if 1 <= j <= len(wf.jobs) and (wf.jobs[j - 1].worker_id != w.id
                                                     or wf.jobs[j - 1].status == S.CANCELED
                                                     or wf.canceled)]
            yield pb.HeartbeatResponse(cancel_job_ids=cancel, shutdown=wf.canceled)

    async def WatchEvents(self, request: pb.WatchEventsRequest,
                          context: grpc.aio.ServicerContext) -> AsyncIterator[pb.WorkflowEvent]:
        q: asyncio.Queue[pb.WorkflowEvent] = asyncio.Queue()
        if request.workflow_id:
            await self._read(context, request.workflow_id)
        who = self.who(context)
        entry = (request.workflow_id, q, who)
        if request.history:
            for item in self.store.feed:
                if request.workflow_id in (0, item.workflow_id) and self._may_see(who, item):
                    q.put_nowait(pb.WorkflowEvent(workflow_id=item.workflow_id,
                                                  timestamp=item.timestamp, kind=item.kind,
                                                  message=item.message))
        self._subscribers.append(entry)
        try:
            while True:
                yield await q.get()
        finally:
            self._subscribers.remove(entry)

    # ----- internal events

    def commit_internal(self, event: Event) -> bool:
        """Apply and log an event the coordinator itself decided (no caller waits on it)."""
        try:
            self._apply_and_log(event)
        except TorcError as e:
            log.debug("internal event %s not applied: %s", event["t"], e.message)
            return False
        return True
