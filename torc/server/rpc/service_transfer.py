"""Export, import and archive RPCs of ``torc.v1.Torc`` (a part of TorcService), and the
workflow's spec read back and added to after its creation."""

from __future__ import annotations

import json
import time

import grpc

from torc.errors import InvalidArgument, TorcError
from torc.proto import torc_pb2 as pb
from torc.server import heap
from torc.server.rpc import convert
from torc.server.rpc.replies import abort
from torc.server.rpc.service_core import ServiceCore
from torc.server.state import additions, export
from torc.server.state import events as E
from torc.spec.validate import normalize


class TransferRpcs:
    """Export and import of workflows."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store = core.store

    async def ExportWorkflow(self, request: pb.WorkflowRef,
                             context: grpc.aio.ServicerContext) -> pb.ExportedWorkflow:
        wf = await self.core.read(context, request.workflow_id)
        doc = export.document(wf, list(self.store.feed))
        return pb.ExportedWorkflow(document_json=json.dumps(doc))

    async def AddToWorkflow(self, request: pb.AddToWorkflowRequest,
                            context: grpc.aio.ServicerContext) -> pb.AddedToWorkflow:
        source = request.source or "<addition>"
        wf = await self.core.read(context, request.workflow_id)
        before = {k: len(v) for k, v in (("files", wf.extra.get("files") or []),
                                         ("user_data", wf.extra.get("user_data") or []))}
        try:
            self.core.writable(context, wf.id)  # checked before the addition is looked at
            try:
                addition = json.loads(request.addition_json)
            except (ValueError, RecursionError) as e:
                raise InvalidArgument(f"{source}: not valid JSON: {e}") from None
            with heap.bulk():
                event = additions.plan(wf, addition, time.time(), source)
        except TorcError as e:
            await abort(context, e)
        jobs = await self.core.commit(event, context)
        files, uds = wf.ids["files"].to_global, wf.ids["user_data"].to_global
        return pb.AddedToWorkflow(
            job_ids=[wf.gid(j.id) for j in jobs],
            file_ids=[files(i) for i in range(before["files"] + 1,
                                              len(wf.extra.get("files") or []) + 1)],
            user_data_ids=[uds(i) for i in range(before["user_data"] + 1,
                                                 len(wf.extra.get("user_data") or []) + 1)])

    async def GetWorkflowSpec(self, request: pb.WorkflowSpecRequest,
                              context: grpc.aio.ServicerContext) -> pb.WorkflowSpec:
        wf = await self.core.read(context, request.workflow_id)
        return pb.WorkflowSpec(spec_json=json.dumps(export.spec_of(wf, request.with_jobs)))

    async def ImportWorkflow(self, request: pb.ImportWorkflowRequest,
                             context: grpc.aio.ServicerContext) -> pb.Workflow:
        with heap.bulk():
            return await self._import(request, context)

    async def _import(self, request: pb.ImportWorkflowRequest,
                      context: grpc.aio.ServicerContext) -> pb.Workflow:
        try:
            try:
                doc = json.loads(request.document_json)
            except (ValueError, RecursionError) as e:
                raise InvalidArgument(f"the export is not valid JSON: {e}") from None
            spec = normalize(export.check_document(doc), "export")
            state = None
            if request.keep_state:
                state = export.check_state(doc.get("state"), len(spec["jobs"]),
                                           len(spec["actions"]), len(spec["files"]))
                export.check_consistent(state, spec["jobs"])
            events = tuple((export.number(e[0], "event time"), str(e[1])[:100],
                            str(e[2])[:4000]) for e in doc.get("events") or []
                           if isinstance(e, list) and len(e) == 3)[-export.MAX_EVENTS:]
        except TorcError as e:
            await abort(context, e)
        user = await self.core.owner(context, spec, lambda user, me: (
            f"the export belongs to {user!r}: only an admin may import it for them"))
        wf = await self.core.commit(E.ImportWorkflow(
            self.store.next_workflow_id, spec, user, time.time(), state,
            events), context)
        return convert.workflow(wf)

    async def ArchiveWorkflow(self, request: pb.ArchiveWorkflowRequest,
                              context: grpc.aio.ServicerContext) -> pb.Workflow:
        wf = await self.core.commit(E.ArchiveWorkflow(
            request.workflow_id, request.archived, time.time()), context)
        return convert.workflow(wf)
