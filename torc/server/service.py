"""The gRPC service: turns calls into events, commits them, and answers once they are durable.

Every mutating call goes through :meth:`TorcService._commit`: apply the event to the store
(which validates it first), append it to the WAL, wait for the group commit, answer. Reads wait
for the WAL too, so nobody is shown a state that a crash could take back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc

from torc import auth
from torc.errors import InvalidArgument, TorcError
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc
from torc.server import access, convert, global_ids, heap
from torc.server import events as E
from torc.server.access import PermissionDenied
from torc.server.identity import Identities, Identity
from torc.server.records import Effects, FeedItem
from torc.server.rpc import abort, paged
from torc.server.service_data import UserDataRpcs
from torc.server.service_groups import AccessGroupRpcs
from torc.server.service_heartbeat import HeartbeatRpcs
from torc.server.service_jobs import JobRpcs
from torc.server.service_transfer import TransferRpcs
from torc.server.service_workers import WorkerRpcs
from torc.server.store import Store
from torc.server.wal import Wal, encode_payload
from torc.server.workflow import Workflow
from torc.spec.validate import normalize

log = logging.getLogger(__name__)
# An idle event stream looks this often (seconds) whether its caller's token still counts.
STREAM_RECHECK = 2.0

class TorcService(WorkerRpcs, HeartbeatRpcs, JobRpcs, TransferRpcs, UserDataRpcs, AccessGroupRpcs,
                  pb_grpc.TorcServicer):
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
        # Claims long-polling on a workflow, as futures resolved by wake(): the claim's task
        # runs in the very next loop turn (an Event under wait_for takes three).
        self._wake: dict[int, list[asyncio.Future[bool]]] = {}
        # Heartbeat streams waiting to hear that their workflow was deleted or canceled.
        self._stops: dict[int, list[asyncio.Future[bool]]] = {}
        self._subscribers: list[tuple[int, asyncio.Queue[tuple[int, pb.WorkflowEvent]],
                                      Identity]] = []
        self._snapshotting = False
        self.snapshot_hook: Any = None  # set by the server: async callable taking a snapshot
        self.coordinator_id = ""  # its data directory's identity (lock.identity), for workers

    # ----- commit path

    def _apply_and_log(self, event: E.Event) -> tuple[Any, int]:
        """Encode, apply, append: in that order, so that an event that cannot be logged (too
        large, too deep) or arrives after the log failed changes nothing; then carry out
        what applying it means (Effects)."""
        payload = encode_payload(E.to_json(event), event.PLAIN, event.PLAIN_FIELDS)
        self.wal.check_writable()
        if isinstance(event, E.CreateWorkflow):
            # A new workflow is built from its own log record, as a replay builds it: the same
            # objects whether live or restarted, and allocated apart from the request's parse,
            # whose memory is then freed whole (1M jobs: 837 bytes resident per job instead
            # of 1,154; 510 after a restart).
            event = E.from_json(json.loads(payload))
        result, effects = self.store.apply(event)
        # Effects first: claims this event wakes are then scheduled before the log's flusher,
        # so what they claim joins this record's write and fsync instead of the next one
        # (a chain's report and its dependent's claim share one fsync).
        self._carry_out(effects)
        seq = self.wal.append(payload)
        self._publish(effects.feed, seq)
        return result, seq

    async def _commit(self, event: E.Event, context: grpc.aio.ServicerContext,
                      durable: bool = True) -> Any:
        """Apply and log ``event``; wait until it is durable unless ``durable`` is false, when
        the caller answers only after a later sync (a report and the claim riding with it
        share one fsync)."""
        try:
            wf_id = getattr(event, "workflow_id", None)
            if wf_id is not None and not isinstance(event, (E.CreateWorkflow, E.ImportWorkflow)):
                self._writable(context, wf_id)  # only its owner or an admin changes it
            result, seq = self._apply_and_log(event)
            if durable:
                await self.wal.sync(seq)
        except TorcError as e:
            await abort(context, e)
        return result

    def _carry_out(self, effects: Effects) -> None:
        for wf_id in effects.wake:
            self.wake(wf_id)
        for wf_id in effects.stop:
            for fut in self._stops.pop(wf_id, ()):
                if not fut.done():
                    fut.set_result(True)
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
        for fut in self._wake.pop(wf_id, ()):
            if not fut.done():
                fut.set_result(True)

    def _publish(self, items: list[FeedItem], seq: int) -> None:
        """Queue feed items for the subscribers who may see them, with the sequence number of
        the record that holds them: a stream sends an item only once that is durable."""
        if not self._subscribers:
            return
        for item in items:
            msg = pb.WorkflowEvent(workflow_id=item.workflow_id, timestamp=item.timestamp,
                                   kind=item.kind, message=item.message)
            for wf_filter, q, who in self._subscribers:
                if (wf_filter in (0, item.workflow_id) and q.qsize() < 10_000
                        and self._may_see(who, item)):
                    q.put_nowait((seq, msg))

    async def _durable(self, context: grpc.aio.ServicerContext,
                       seq: int | None = None) -> None:
        """Wait until record ``seq`` (default: everything applied so far) is on disk (a failed
        log aborts the call)."""
        try:
            await self.wal.sync(seq)
        except TorcError as e:
            await abort(context, e)

    # ----- who may do what

    def _caller(self, context: grpc.aio.ServicerContext) -> Identity | None:
        """Who the call's token stands for now (None: no token, or one that stands for
        nobody)."""
        for key, value in context.invocation_metadata() or ():
            if key == auth.HEADER:
                return self.identities.lookup(str(value).removeprefix("Bearer "))
        return None

    def who(self, context: grpc.aio.ServicerContext) -> Identity:
        """The caller, from its token (the interceptor let only known tokens in)."""
        found = self._caller(context)
        if found is None:
            raise PermissionDenied("no identity for this call")
        return found

    def _readable(self, context: grpc.aio.ServicerContext, wf_id: int,
                  who: Identity | None = None) -> Workflow:
        wf = self.store.workflow(wf_id)
        if not access.can_read(who or self.who(context), wf.user, wf.id,
                               self.identities.multi_user, self.store.groups):
            # Not who owns it: the caller may not know even that.
            raise PermissionDenied(f"workflow {wf_id} belongs to another user, who has not "
                                   "shared it with you (torc access-groups)")
        return wf

    def _writable(self, context: grpc.aio.ServicerContext, wf_id: int) -> Workflow:
        who = self.who(context)
        wf = self._readable(context, wf_id, who)
        access.check_write(who, wf.user, wf.id, self.identities.multi_user)
        return wf

    def _may_see(self, who: Identity, item: FeedItem) -> bool:
        if not self.identities.multi_user:
            return True
        wf = self.store.workflows.get(item.workflow_id)
        if wf is None:  # deleted: only admins saw who had it
            return who.admin
        return access.can_read(who, wf.user, wf.id, True, self.store.groups)

    async def _local(self, context: grpc.aio.ServicerContext, wf_id: int, kind: str,
                     ids: tuple[int, ...]) -> tuple[int, ...]:
        """Global ids a request names, as the workflow's own numbers for its event (NotFound
        ends the call); unchanged when there is no such workflow, which the event refuses."""
        wf = self.store.workflows.get(wf_id)
        if wf is None or not ids:
            return ids
        try:
            return global_ids.local_many(wf, kind, ids)
        except TorcError as e:
            await abort(context, e)

    async def _read(self, context: grpc.aio.ServicerContext, wf_id: int) -> Workflow:
        """The workflow, if the caller may read it, once what was applied is durable."""
        await self._durable(context)
        try:
            return self._readable(context, wf_id)
        except TorcError as e:
            await abort(context, e)

    # ----- workflows

    async def CreateWorkflow(self, request: pb.CreateWorkflowRequest,
                             context: grpc.aio.ServicerContext) -> pb.Workflow:
        with heap.bulk():
            return await self._create(request, context)

    async def _create(self, request: pb.CreateWorkflowRequest,
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
            del raw
        except TorcError as e:
            await abort(context, e)
        user = await self._owner(context, spec, lambda user, me: (
            f"{source}: user {user!r}: only an admin may create a workflow for someone "
            f"else (you are {me!r})"))
        event = E.CreateWorkflow.columnar(self.store.next_workflow_id, spec, user, time.time())
        # The parse and the normalized jobs are freed before the log record is encoded and
        # the workflow built: their memory is reused instead of the create's peak growing.
        del spec
        wf = await self._commit(event, context)
        return convert.workflow(wf)

    async def _owner(self, context: grpc.aio.ServicerContext, spec: dict[str, Any],
                     refusal: Any) -> str:
        """Who a new workflow (created or imported) belongs to: the spec's ``user``, else the
        caller; on a coordinator with several users only an admin may name someone else
        (``refusal(user, caller)`` says why not)."""
        who = self.who(context)
        user = spec.get("user") or who.name
        if self.identities.multi_user and user != who.name and not who.admin:
            await abort(context, PermissionDenied(refusal(user, who.name)))
        return user

    async def GetWorkflow(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.Workflow:
        wf = await self._read(context, request.workflow_id)
        return convert.workflow(wf)

    async def ListWorkflows(self, request: pb.ListWorkflowsRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListWorkflowsResponse:
        await self._durable(context)
        who, multi = self.who(context), self.identities.multi_user
        wfs = sorted((w for w in self.store.workflows.values()
                      if access.can_read(who, w.user, w.id, multi, self.store.groups)
                      and (request.all or not w.archived)
                      and (not request.user or w.user == request.user)),
                     key=lambda w: w.id)
        page = paged(wfs, request.offset, request.limit)
        return pb.ListWorkflowsResponse(workflows=[convert.workflow(w) for w in page])

    async def DeleteWorkflow(self, request: pb.WorkflowRef,
                             context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._commit(E.DeleteWorkflow(request.workflow_id, time.time()), context)
        heap.released()
        return pb.Empty()

    async def _workflow_event(self, event: E.Event,
                              context: grpc.aio.ServicerContext) -> pb.Workflow:
        return convert.workflow(await self._commit(event, context))

    async def CancelWorkflow(self, request: pb.WorkflowRef,
                             context: grpc.aio.ServicerContext) -> pb.Workflow:
        return await self._workflow_event(
            E.CancelWorkflow(request.workflow_id, time.time()), context)

    async def ResetStatus(self, request: pb.ResetStatusRequest,
                          context: grpc.aio.ServicerContext) -> pb.Workflow:
        job_ids = await self._local(context, request.workflow_id, "jobs",
                                    tuple(request.job_ids))
        return await self._workflow_event(E.ResetStatus(
            request.workflow_id, time.time(), failed_only=request.failed_only,
            reinit=request.reinitialize, job_ids=job_ids), context)

    async def GetStatus(self, request: pb.WorkflowRef,
                        context: grpc.aio.ServicerContext) -> pb.WorkflowStatus:
        wf = await self._read(context, request.workflow_id)
        return convert.status(wf)

    # ----- read side

    async def ListActions(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.ListActionsResponse:
        wf = await self._read(context, request.workflow_id)
        return pb.ListActionsResponse(actions=[convert.action(wf, a)
                                               for a in wf.actions.actions])

    async def ListWorkers(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.ListWorkersResponse:
        wf = await self._read(context, request.workflow_id)
        return pb.ListWorkersResponse(workers=[
            convert.worker(w, wf) for w in self.store.workers.values()
            if w.workflow_id == request.workflow_id])

    # ----- workers

    async def ListAllocations(self, request: pb.WorkflowRef,
                              context: grpc.aio.ServicerContext) -> pb.ListAllocationsResponse:
        wf = await self._read(context, request.workflow_id)
        return pb.ListAllocationsResponse(allocations=[convert.allocation(wf.id, a)
                                                       for a in wf.allocations])

    async def WatchEvents(self, request: pb.WatchEventsRequest,
                          context: grpc.aio.ServicerContext) -> AsyncIterator[pb.WorkflowEvent]:
        q: asyncio.Queue[tuple[int, pb.WorkflowEvent]] = asyncio.Queue()
        if request.workflow_id:
            await self._read(context, request.workflow_id)
        who = self.who(context)
        entry = (request.workflow_id, q, who)
        if request.history:
            now = self.wal.last_seq  # the history is in records up to here
            for item in self.store.feed:
                if request.workflow_id in (0, item.workflow_id) and self._may_see(who, item):
                    q.put_nowait((now, pb.WorkflowEvent(
                        workflow_id=item.workflow_id, timestamp=item.timestamp,
                        kind=item.kind, message=item.message)))
            if request.mark_history_end:
                q.put_nowait((now, pb.WorkflowEvent(workflow_id=request.workflow_id,
                                                    timestamp=time.time(), history_end=True)))
        self._subscribers.append(entry)
        try:
            while True:
                try:
                    seq, msg = await asyncio.wait_for(q.get(), STREAM_RECHECK)
                except TimeoutError:
                    seq, msg = 0, None
                if self._caller(context) is None:  # a user removed while the stream ran
                    await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                        "this token is no longer valid")
                if msg is None:
                    continue
                if seq > self.wal.durable_seq:  # nobody sees what a crash could take back
                    await self._durable(context, seq)
                yield msg
        finally:
            self._subscribers.remove(entry)

    # ----- internal events

    def commit_internal(self, event: E.Event) -> bool:
        """Apply and log an event the coordinator itself decided (no caller waits on it)."""
        try:
            self._apply_and_log(event)
        except TorcError as e:
            log.debug("internal event %s not applied: %s", event.KIND, e.message)
            return False
        return True
