"""The workflow RPCs of ``torc.v1.Torc`` (a part of TorcService): create, read, list,
delete, cancel and reset workflows; their actions, workers and allocations; the event feed."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator

import grpc

from torc import slurm
from torc.errors import FailedPrecondition, InvalidArgument, TorcError
from torc.proto import torc_pb2 as pb
from torc.server import heap
from torc.server.rpc import convert, watchers
from torc.server.rpc.replies import abort, paged
from torc.server.rpc.service_core import ServiceCore, Subscriber, event_message
from torc.server.state import access, live
from torc.server.state import events as E
from torc.spec.validate import normalize

# An idle event stream looks this often (seconds) whether its caller's token still counts.
STREAM_RECHECK = 2.0


class WorkflowRpcs:
    """Workflows as a whole, and what users watch."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store = core.store

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
        user = await self.core.owner(context, spec, lambda user, me: (
            f"{source}: user {user!r}: only an admin may create a workflow for someone "
            f"else (you are {me!r})"))
        event = E.CreateWorkflow.columnar(self.store.next_workflow_id, spec, user, time.time())
        # The parse and the normalized jobs are freed before the log record is encoded and
        # the workflow built: their memory is reused instead of the create's peak growing.
        del spec
        wf = await self.core.commit(event, context)
        return convert.workflow(wf)

    async def GetWorkflow(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.Workflow:
        wf = await self.core.read(context, request.workflow_id)
        return convert.workflow(wf)

    async def ListWorkflows(self, request: pb.ListWorkflowsRequest,
                            context: grpc.aio.ServicerContext) -> pb.ListWorkflowsResponse:
        await self.core.durable(context)
        who, multi = self.core.who(context), self.core.identities.multi_user
        wfs = sorted((w for w in self.store.workflows.values()
                      if access.can_read(who, w.user, w.id, multi, self.store.groups)
                      and (request.all or not w.archived)
                      and (not request.user or w.user == request.user)),
                     key=lambda w: w.id)
        page = paged(wfs, request.offset, request.limit)
        return pb.ListWorkflowsResponse(workflows=[convert.workflow(w) for w in page])

    async def DeleteWorkflow(self, request: pb.WorkflowRef,
                             context: grpc.aio.ServicerContext) -> pb.Empty:
        await self.core.commit(E.DeleteWorkflow(request.workflow_id, time.time()), context)
        heap.released()
        return pb.Empty()

    async def _workflow_event(self, event: E.Event,
                              context: grpc.aio.ServicerContext) -> pb.Workflow:
        return convert.workflow(await self.core.commit(event, context))

    async def CancelWorkflow(self, request: pb.WorkflowRef,
                             context: grpc.aio.ServicerContext) -> pb.Workflow:
        return await self._workflow_event(
            E.CancelWorkflow(request.workflow_id, time.time()), context)

    async def ResetStatus(self, request: pb.ResetStatusRequest,
                          context: grpc.aio.ServicerContext) -> pb.Workflow:
        job_ids = await self.core.local(context, request.workflow_id, "jobs",
                                    tuple(request.job_ids))
        return await self._workflow_event(E.ResetStatus(
            request.workflow_id, time.time(), failed_only=request.failed_only,
            reinit=request.reinitialize, job_ids=job_ids, retry=request.retry), context)

    async def GetStatus(self, request: pb.WorkflowRef,
                        context: grpc.aio.ServicerContext) -> pb.WorkflowStatus:
        wf = await self.core.read(context, request.workflow_id)
        return convert.status(wf)

    # ----- read side

    async def ListActions(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.ListActionsResponse:
        wf = await self.core.read(context, request.workflow_id)
        return pb.ListActionsResponse(actions=[convert.action(wf, a)
                                               for a in wf.actions.actions])

    async def ListWorkers(self, request: pb.PageRequest,
                          context: grpc.aio.ServicerContext) -> pb.ListWorkersResponse:
        wf = await self.core.read(context, request.workflow_id)
        mine = [w for w in self.store.workers.values() if w.workflow_id == request.workflow_id]
        return pb.ListWorkersResponse(workers=[
            convert.worker(w, wf) for w in paged(mine, request.offset, request.limit)],
            total=len(mine))

    # ----- workers

    async def ListAllocations(self, request: pb.WorkflowRef,
                              context: grpc.aio.ServicerContext) -> pb.ListAllocationsResponse:
        wf = await self.core.read(context, request.workflow_id)
        return pb.ListAllocationsResponse(allocations=[convert.allocation(wf.id, a)
                                                       for a in wf.allocations])

    async def UpdateRemoteWorkers(self, request: pb.UpdateRemoteWorkersRequest,
                                  context: grpc.aio.ServicerContext) -> pb.RemoteWorkers:
        hosts = await self.core.commit(E.RemoteWorkers(
            request.workflow_id, tuple(request.add), tuple(request.remove), time.time()),
            context)
        return pb.RemoteWorkers(hosts=hosts)

    async def ListRemoteWorkers(self, request: pb.WorkflowRef,
                                context: grpc.aio.ServicerContext) -> pb.RemoteWorkers:
        wf = await self.core.read(context, request.workflow_id)
        return pb.RemoteWorkers(hosts=wf.remote_workers)

    async def SyncStatus(self, request: pb.SyncStatusRequest,
                         context: grpc.aio.ServicerContext) -> pb.SyncStatusResponse:
        try:
            wf = (self.core.readable(context, request.workflow_id) if request.dry_run
                  else self.core.writable(context, request.workflow_id))
            before = {w.id: sorted(w.jobs) for w in self.store.workers.values()
                      if w.workflow_id == wf.id}
            found = await watchers.sync_workflow(self.core, wf.id, request.dry_run)
        except slurm.SlurmError as e:  # before TorcError, which it is
            await abort(context, FailedPrecondition(f"cannot ask Slurm about workflow "
                                                    f"{request.workflow_id}'s allocations: "
                                                    f"{e.message}"))
        except TorcError as e:
            await abort(context, e)
        await self.core.durable(context)
        states = {ev.slurm_job_id: ev.state for ev in found.states}
        changed = [convert.allocation(wf.id, {**a, "state": states[a["slurm_job_id"]]})
                   for a in wf.allocations if a["slurm_job_id"] in states]
        orphans = [pb.OrphanedJob(job_id=j, job_name=wf.jobs[j - 1].name, worker_id=w.id,
                                  slurm_job_id=w.slurm_job_id)
                   for w in found.lost for j in before.get(w.id, ())]
        return pb.SyncStatusResponse(changed_allocations=changed,
                                     lost_worker_ids=[w.id for w in found.lost],
                                     orphaned_jobs=orphans)

    async def WatchEvents(self, request: pb.WatchEventsRequest,
                          context: grpc.aio.ServicerContext) -> AsyncIterator[pb.WorkflowEvent]:
        q: asyncio.Queue[tuple[int, pb.WorkflowEvent]] = asyncio.Queue()
        if request.workflow_id:
            await self.core.read(context, request.workflow_id)
        who = self.core.who(context)
        sub = Subscriber(request.workflow_id, q, who, request.job_events)
        if request.history:
            now = self.core.wal.last_seq  # the history is in records up to here
            # Job events are not kept: the workflows' recent results tell them. They come
            # before the feed's items of the same time (a job failed, then the workflow was
            # complete): the sort keeps that order.
            wanted = []
            for wf in ([self.store.workflows[request.workflow_id]] if request.workflow_id
                       else self.store.workflows.values()) if request.job_events else ():
                if self.core.may_see_workflow(who, wf.id):
                    wanted.extend(live.history(wf))
            wanted.extend(item for item in self.store.feed
                          if request.workflow_id in (0, item.workflow_id)
                          and self.core.may_see(who, item))
            wanted.sort(key=lambda item: item.timestamp)
            stamp = time.time()
            for item in wanted:
                q.put_nowait((now, event_message(item, stamp)))
        if request.mark_history_end:  # without a history, it says the stream is subscribed
            q.put_nowait((self.core.wal.last_seq, pb.WorkflowEvent(
                workflow_id=request.workflow_id, timestamp=time.time(), history_end=True)))
        self.core.subscribe(sub)
        try:
            while True:
                try:  # what is queued goes without a wait (a job event each job, or two)
                    seq, msg = q.get_nowait() if q.qsize() else await asyncio.wait_for(
                        q.get(), STREAM_RECHECK)
                except TimeoutError:
                    seq, msg = 0, None
                if self.core.caller(context) is None:  # a user removed while the stream ran
                    await context.abort(grpc.StatusCode.UNAUTHENTICATED,
                                        "this token is no longer valid")
                if msg is None:
                    continue
                if seq > self.core.wal.durable_seq:  # nobody sees what a crash could take back
                    await self.core.durable(context, seq)
                yield msg
        finally:
            self.core.unsubscribe(sub)

