"""The access-group and identity RPCs of ``torc.v1.Torc`` (a part of TorcService).

Each method checks who may call it (:mod:`torc.server.state.access`), builds one ``group_*`` event
and commits it like every other change.
"""

from __future__ import annotations

import time
from typing import Any

import grpc

from torc.errors import InvalidArgument, SpecError, TorcError
from torc.proto import torc_pb2 as pb
from torc.server.rpc import convert
from torc.server.rpc.replies import abort
from torc.server.rpc.service_core import ServiceCore
from torc.server.state import access
from torc.server.state import events as E
from torc.spec.checks import limited


class AccessGroupRpcs:
    """Torc's ``access-groups`` over gRPC."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store = core.store

    async def _group_event(self, context: grpc.aio.ServicerContext, event: E.Event,
                           what: str, workflow_id: int = 0) -> pb.AccessGroup:
        """Commit a group event after the right check: an admin changes groups, a workflow's
        owner (or an admin) links or unlinks it."""
        try:
            who = self.core.who(context)
            if workflow_id:
                self.core.writable(context, workflow_id)
            else:
                access.check_admin(who, self.core.identities.multi_user, what)
        except TorcError as e:
            await abort(context, e)
        g = await self.core.commit(event, context)
        return convert.access_group(g)

    async def WhoAmI(self, request: pb.Empty,
                     context: grpc.aio.ServicerContext) -> pb.Identity:
        who = self.core.who(context)
        return pb.Identity(user=who.name, admin=who.admin,
                           multi_user=self.core.identities.multi_user)

    async def CreateAccessGroup(self, request: pb.CreateAccessGroupRequest,
                                context: grpc.aio.ServicerContext) -> pb.AccessGroup:
        try:
            name = limited("name", request.name.strip())
            description = limited("description", request.description)
        except SpecError as e:
            await abort(context, InvalidArgument(e.message))
        return await self._group_event(context, E.GroupCreate(
            self.store.groups.next_id, name, time.time(), description=description),
            "creating an access group")

    async def DeleteAccessGroup(self, request: pb.AccessGroupRef,
                                context: grpc.aio.ServicerContext) -> pb.Empty:
        await self._group_event(context, E.GroupDelete(request.group_id, time.time()),
                                "deleting an access group")
        return pb.Empty()

    async def GetAccessGroup(self, request: pb.AccessGroupRef,
                             context: grpc.aio.ServicerContext) -> pb.AccessGroup:
        await self.core.durable(context)
        g = self.store.groups.groups.get(request.group_id)
        if g is None or not self._group_viewer(context)(g):
            await context.abort(grpc.StatusCode.NOT_FOUND,
                                f"access group {request.group_id} does not exist")
        return convert.access_group(g)

    def _group_viewer(self, context: grpc.aio.ServicerContext) -> Any:
        """Whether the caller sees a group (its members, its workflows): members and admins
        do, others do not. The caller is looked up once, not once per group."""
        who = self.core.who(context)
        if not self.core.identities.multi_user or who.admin:
            return lambda g: True
        return lambda g: who.name in g.members

    async def ListAccessGroups(self, request: pb.ListAccessGroupsRequest,
                               context: grpc.aio.ServicerContext
                               ) -> pb.ListAccessGroupsResponse:
        if request.workflow_id:
            await self.core.read(context, request.workflow_id)
        else:
            await self.core.durable(context)
        sees = self._group_viewer(context)
        groups = [g for g in self.store.groups.groups.values()
                  if sees(g)
                  and (not request.user or request.user in g.members)
                  and (not request.workflow_id or request.workflow_id in g.workflows)]
        return pb.ListAccessGroupsResponse(groups=[convert.access_group(g) for g in groups])

    async def AddUserToGroup(self, request: pb.GroupMembershipRequest,
                             context: grpc.aio.ServicerContext) -> pb.AccessGroup:
        try:
            limited("user", request.user)
        except SpecError as e:
            await abort(context, InvalidArgument(e.message))
        return await self._group_event(context, E.GroupAddUser(
            request.group_id, request.user, time.time(), role=request.role or "member"),
            "adding a user to an access group")

    async def RemoveUserFromGroup(self, request: pb.GroupMembershipRequest,
                                  context: grpc.aio.ServicerContext) -> pb.AccessGroup:
        return await self._group_event(context, E.GroupRemoveUser(
            request.group_id, request.user, time.time()), "removing a user from an access group")

    async def AddWorkflowToGroup(self, request: pb.GroupWorkflowRequest,
                                 context: grpc.aio.ServicerContext) -> pb.AccessGroup:
        return await self._group_event(context, E.GroupAddWorkflow(
            request.group_id, request.workflow_id, time.time()), "",
            workflow_id=request.workflow_id)

    async def RemoveWorkflowFromGroup(self, request: pb.GroupWorkflowRequest,
                                      context: grpc.aio.ServicerContext) -> pb.AccessGroup:
        return await self._group_event(context, E.GroupRemoveWorkflow(
            request.group_id, request.workflow_id, time.time()), "",
            workflow_id=request.workflow_id)
