"""``torc access-groups ...`` (Torc's verbs) and ``torc whoami``."""

from __future__ import annotations

import argparse
from typing import Any

from torc.client import output
from torc.client.stub import TorcClient
from torc.proto import torc_pb2 as pb

COLUMNS = ["id", "name", "description", "members", "workflows", "created_at"]


def group_dict(g: pb.AccessGroup) -> dict[str, Any]:
    """An access group as users see it."""
    return {"id": g.id, "name": g.name, "description": g.description,
            "members": [f"{m.user} ({m.role})" for m in g.members],
            "workflows": list(g.workflow_ids), "created_at": output.ts(g.created_at)}


def _show(a: argparse.Namespace, title: str, groups: list[pb.AccessGroup]) -> None:
    output.rows(a.format, title, [group_dict(g) for g in groups], COLUMNS, wrap="groups")


def _one(verb: str, build: Any, title: str) -> Any:
    def run(c: TorcClient, a: argparse.Namespace) -> None:
        group = c.call(verb, build(a))
        if a.format == "json":  # one object, as Torc prints the group it made or changed
            output.emit_json(group_dict(group))
        else:
            _show(a, title, [group])
    return run


def cmd_list(c: TorcClient, a: argparse.Namespace) -> None:
    req = pb.ListAccessGroupsRequest(user=getattr(a, "user", "") or "",
                                     workflow_id=getattr(a, "workflow_id", 0) or 0)
    _show(a, "access groups", list(c.call("ListAccessGroups", req).groups))


def cmd_members(c: TorcClient, a: argparse.Namespace) -> None:
    g = c.call("GetAccessGroup", pb.AccessGroupRef(group_id=a.group_id))
    output.rows(a.format, f"members of access group {g.id} ({g.name})",
                [{"user": m.user, "role": m.role} for m in g.members], ["user", "role"],
                wrap="members")


def cmd_delete(c: TorcClient, a: argparse.Namespace) -> None:
    c.call("DeleteAccessGroup", pb.AccessGroupRef(group_id=a.group_id))
    output.rows(a.format, "deleted", [{"id": a.group_id}], ["id"])


def cmd_whoami(c: TorcClient, a: argparse.Namespace) -> None:
    me = c.call("WhoAmI", pb.Empty())
    output.rows(a.format, "identity", [{"user": me.user, "admin": me.admin,
                                        "multi_user": me.multi_user}],
                ["user", "admin", "multi_user"])


def add_commands(sub: Any) -> None:
    """Add ``access-groups`` and ``whoami`` to the CLI."""
    sub.add_parser("whoami", help="who the coordinator takes you for (from your token)"
                   ).set_defaults(func=cmd_whoami)
    ag = sub.add_parser("access-groups", help="share workflows with groups of users")
    g = ag.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = g.add_parser("create", help="create a group (admin)")
    s.add_argument("name")
    s.add_argument("--description", default="")
    s.set_defaults(func=_one("CreateAccessGroup", lambda a: pb.CreateAccessGroupRequest(
        name=a.name, description=a.description), "access group created"))
    g.add_parser("list", help="list groups").set_defaults(func=cmd_list)
    for verb, func, text in (
        ("get", _one("GetAccessGroup", lambda a: pb.AccessGroupRef(group_id=a.group_id),
                     "access group"), "show a group"),
        ("delete", cmd_delete, "delete a group (admin)"),
        ("list-members", cmd_members, "members of a group"),
    ):
        s = g.add_parser(verb, help=text)
        s.add_argument("group_id", type=int)
        s.set_defaults(func=func)
    s = g.add_parser("add-user", help="add a user to a group (admin)")
    s.add_argument("group_id", type=int)
    s.add_argument("user")
    s.add_argument("--role", default="member", choices=["member", "admin"])
    s.set_defaults(func=_one("AddUserToGroup", lambda a: pb.GroupMembershipRequest(
        group_id=a.group_id, user=a.user, role=a.role), "access group"))
    s = g.add_parser("remove-user", help="remove a user from a group (admin)")
    s.add_argument("group_id", type=int)
    s.add_argument("user")
    s.set_defaults(func=_one("RemoveUserFromGroup", lambda a: pb.GroupMembershipRequest(
        group_id=a.group_id, user=a.user), "access group"))
    s = g.add_parser("list-user-groups", help="groups a user belongs to")
    s.add_argument("user")
    s.set_defaults(func=cmd_list)
    # Torc's order: the workflow first, then the group.
    s = g.add_parser("add-workflow", help="share a workflow with a group (owner or admin)")
    s.add_argument("workflow_id", type=int)
    s.add_argument("group_id", type=int)
    s.set_defaults(func=_one("AddWorkflowToGroup", lambda a: pb.GroupWorkflowRequest(
        group_id=a.group_id, workflow_id=a.workflow_id), "access group"))
    s = g.add_parser("remove-workflow", help="stop sharing a workflow with a group")
    s.add_argument("workflow_id", type=int)
    s.add_argument("group_id", type=int)
    s.set_defaults(func=_one("RemoveWorkflowFromGroup", lambda a: pb.GroupWorkflowRequest(
        group_id=a.group_id, workflow_id=a.workflow_id), "access group"))
    s = g.add_parser("list-workflow-groups", help="groups a workflow is shared with")
    s.add_argument("workflow_id", type=int)
    s.set_defaults(func=cmd_list)
