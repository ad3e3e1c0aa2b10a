"""The user-data and file RPCs of ``torc.v1.Torc`` (a part of TorcService).

User data are named JSON values that jobs read and write (``torc user-data get/update``); a
write is an event like any other, in the WAL and in snapshots.
"""

from __future__ import annotations

import json
import time
from typing import Any

import grpc

from torc.errors import InvalidArgument, NotFound, SpecError
from torc.proto import torc_pb2 as pb
from torc.server.rpc import global_ids
from torc.server.rpc.replies import abort, paged
from torc.server.rpc.service_core import ServiceCore
from torc.server.state import changes, ids
from torc.server.state import events as E
from torc.server.state.workflow import Workflow
from torc.spec.checks import Ctx, check_data


def user_data_message(entry_id: int, entry: dict[str, Any]) -> pb.UserData:
    """One user data entry."""
    return pb.UserData(id=entry_id, name=entry["name"], data_json=json.dumps(entry.get("data")),
                       is_ephemeral=bool(entry.get("is_ephemeral")))


class UserDataRpcs:
    """User data: listing, reading and updating."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store = core.store

    async def ListUserData(self, request: pb.PageRequest,
                           context: grpc.aio.ServicerContext) -> pb.ListUserDataResponse:
        wf: Workflow = await self.core.read(context, request.workflow_id)
        entries = wf.extra.get("user_data") or []
        to_global = wf.ids["user_data"].to_global
        page = paged(range(len(entries)), request.offset, request.limit)
        return pb.ListUserDataResponse(
            user_data=[user_data_message(to_global(i + 1), entries[i]) for i in page],
            total=len(entries))

    async def GetUserData(self, request: pb.UserDataRef,
                          context: grpc.aio.ServicerContext) -> pb.UserData:
        wf: Workflow = await self.core.read(context, request.workflow_id)
        try:
            entry = wf.user_data(global_ids.local(wf, "user_data", request.user_data_id))
        except NotFound as e:
            await abort(context, e)
        return user_data_message(request.user_data_id, entry)

    async def UpdateUserData(self, request: pb.UpdateUserDataRequest,
                             context: grpc.aio.ServicerContext) -> pb.UserData:
        try:
            data = json.loads(request.data_json)
        except (ValueError, RecursionError) as e:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                                f"data_json: not valid JSON: {e}")
        try:
            # The same checks as data in a spec: bounded nesting, text any client can read back.
            check_data(Ctx("data_json"), data, f"user data {request.user_data_id}", None)
        except SpecError as e:
            await abort(context, e)
        (local,) = await self.core.local(
            context, request.workflow_id, "user_data", (request.user_data_id,))
        entry = await self.core.commit(E.UpdateUserData(
            request.workflow_id, local, data, time.time()), context)
        return user_data_message(request.user_data_id, entry)

    async def Locate(self, request: pb.LocateRequest,
                     context: grpc.aio.ServicerContext) -> pb.WorkflowRef:
        what = request.kind.replace("-", "_")
        if what not in (*ids.LOCATABLE, "result", "compute_node"):
            await abort(context, InvalidArgument(
                f"kind must be one of {', '.join((*ids.LOCATABLE, 'result', 'compute_node'))}"
                f", not {request.kind!r}"))
        wf_id = ids.locate(self.store, what, request.id)
        if not wf_id:
            await abort(context, NotFound(f"{what.replace('_', ' ')} {request.id} does not "
                                          "exist"))
        await self.core.read(context, wf_id)
        return pb.WorkflowRef(workflow_id=wf_id)

    async def ListFiles(self, request: pb.PageRequest,
                        context: grpc.aio.ServicerContext) -> pb.ListFilesResponse:
        wf: Workflow = await self.core.read(context, request.workflow_id)
        required = changes.required_files(wf)
        to_global = wf.ids["files"].to_global
        files = wf.extra.get("files") or []
        return pb.ListFilesResponse(files=[
            pb.FileInfo(id=to_global(i + 1), name=files[i]["name"], path=files[i]["path"],
                        required=i in required, mtime=wf.file_mtimes.get(i))
            for i in paged(range(len(files)), request.offset, request.limit)], total=len(files))

