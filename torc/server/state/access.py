"""Access groups and the access rules, as Torc has them (pure logic).

A group is a named set of users; workflows are linked to groups. With several users:

- a workflow's owner is its creator (an admin may create one for someone else);
- only the owner or an admin changes or deletes it (and links it to groups);
- reading it is also open to members of any group it is linked to;
- only admins create, delete and change groups.

A one-user coordinator allows everything, as Torc does without authentication.
Groups change through events (``Group*`` in :mod:`torc.server.state.events`) applied by the Store,
so they are in the WAL and in snapshots like everything else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torc.errors import FailedPrecondition, InvalidArgument, NotFound, TorcError
from torc.server.state import events as E
from torc.server.state.identity import Identity

ROLES = ("member", "admin")


class PermissionDenied(TorcError):
    """The caller may not do this."""

    code = "PERMISSION_DENIED"


@dataclass(slots=True)
class Group:
    """One access group."""

    id: int
    name: str
    description: str
    created_at: float
    members: dict[str, str] = field(default_factory=dict)  # user -> role
    workflows: set[int] = field(default_factory=set)


class AccessGroups:
    """Every group, and the events that change them."""

    def __init__(self) -> None:
        self.groups: dict[int, Group] = {}
        self.next_id = 1

    def get(self, group_id: int) -> Group:
        """Group by id, or NotFound."""
        g = self.groups.get(group_id)
        if g is None:
            raise NotFound(f"access group {group_id} does not exist")
        return g

    def of_workflow(self, wf_id: int) -> list[Group]:
        """Groups a workflow is linked to."""
        return [g for g in self.groups.values() if wf_id in g.workflows]

    def apply(self, ev: E.Event) -> Group:
        """Apply one group event (checked before anything changes)."""
        if isinstance(ev, E.GroupCreate):
            name = ev.name
            if not name or any(g.name == name for g in self.groups.values()):
                raise FailedPrecondition(f"access group {name!r} exists already" if name
                                         else "an access group needs a name")
            g = Group(ev.group_id, name, ev.description, ev.ts)
            self.groups[g.id] = g
            self.next_id = max(self.next_id, g.id + 1)
            return g
        g = self.get(ev.group_id)  # type: ignore[attr-defined]
        if isinstance(ev, E.GroupDelete):
            del self.groups[g.id]
        elif isinstance(ev, E.GroupAddUser):
            if ev.role not in ROLES:
                raise InvalidArgument(f"role must be one of {', '.join(ROLES)}")
            g.members[ev.user] = ev.role
        elif isinstance(ev, E.GroupRemoveUser):
            if g.members.pop(ev.user, None) is None:
                raise NotFound(f"{ev.user!r} is not a member of access group {g.id}")
        elif isinstance(ev, E.GroupAddWorkflow):
            g.workflows.add(ev.workflow_id)
        elif isinstance(ev, E.GroupRemoveWorkflow):
            if ev.workflow_id not in g.workflows:
                raise NotFound(f"workflow {ev.workflow_id} is not in access group {g.id}")
            g.workflows.discard(ev.workflow_id)
        else:
            raise InvalidArgument(f"not a group event: {type(ev).__name__}")
        return g

    def forget_workflow(self, wf_id: int) -> None:
        """A deleted workflow leaves every group."""
        for g in self.groups.values():
            g.workflows.discard(wf_id)

    def to_snapshot(self) -> list[dict[str, Any]]:
        """JSON-able groups."""
        return [{"id": g.id, "name": g.name, "description": g.description,
                 "created_at": g.created_at, "members": g.members,
                 "workflows": sorted(g.workflows)} for g in self.groups.values()]

    def load(self, rows: list[dict[str, Any]]) -> None:
        """Restore :meth:`to_snapshot` output."""
        for r in rows:
            g = Group(r["id"], r["name"], r["description"], r["created_at"],
                      dict(r["members"]), set(r["workflows"]))
            self.groups[g.id] = g
            self.next_id = max(self.next_id, g.id + 1)


def can_write(who: Identity, owner: str, multi_user: bool) -> bool:
    """May ``who`` change a workflow owned by ``owner``?"""
    return not multi_user or who.admin or who.name == owner


def can_read(who: Identity, owner: str, wf_id: int, multi_user: bool,
             groups: AccessGroups) -> bool:
    """May ``who`` see a workflow owned by ``owner``?"""
    return can_write(who, owner, multi_user) or any(
        who.name in g.members for g in groups.of_workflow(wf_id))


def check_write(who: Identity, owner: str, wf_id: int, multi_user: bool) -> None:
    """PermissionDenied unless ``who`` may change the workflow."""
    if not can_write(who, owner, multi_user):
        raise PermissionDenied(f"workflow {wf_id} belongs to {owner!r}; {who.name!r} may not "
                               "change it (only its owner or an admin)")


def check_admin(who: Identity, multi_user: bool, what: str) -> None:
    """PermissionDenied unless ``who`` is an admin (always true on a one-user coordinator)."""
    if multi_user and not who.admin:
        raise PermissionDenied(f"{what} needs an admin; {who.name!r} is not one")
