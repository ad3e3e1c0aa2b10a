"""The store's remote-worker hosts of a workflow (``torc remote add-workers`` and
``remove-worker``): checked whole before any change, so that a refused event changes
nothing."""

from __future__ import annotations

from collections.abc import Callable

from torc import hosts
from torc.errors import InvalidArgument, NotFound
from torc.server.state import events as E
from torc.server.state.workflow import Workflow

Note = Callable[[int, float, str, str], None]  # (workflow id, time, kind, message)


def update(wf: Workflow, ev: E.RemoteWorkers, note: Note) -> list[str]:
    """Add and remove hosts; the list after. A host already there, or not there to
    remove, is an error naming it."""
    if len(ev.add) > hosts.MAX_HOSTS or len(ev.remove) > hosts.MAX_HOSTS:
        raise InvalidArgument(f"workflow {wf.id}: at most {hosts.MAX_HOSTS} remote workers")
    add = hosts.check_list(list(ev.add))
    known = set(wf.remote_workers)
    for h in ev.remove:
        if h not in known:
            raise NotFound(f"workflow {wf.id} has no remote worker {h}")
    removed = set(ev.remove)
    kept = [h for h in wf.remote_workers if h not in removed]
    staying = known - removed
    for h in add:
        if h in staying:
            raise InvalidArgument(f"workflow {wf.id} already has remote worker {h}")
    if len(kept) + len(add) > hosts.MAX_HOSTS:
        raise InvalidArgument(f"workflow {wf.id}: at most {hosts.MAX_HOSTS} remote workers")
    wf.remote_workers = kept + add
    said = [f"added {_few(add)}"] if add else []
    said += [f"removed {_few(list(ev.remove))}"] if ev.remove else []
    if said:
        note(wf.id, ev.ts, "remote_workers", "; ".join(said))
    return wf.remote_workers


def _few(names: list[str]) -> str:
    """The first hosts and how many more: an event's message stays a line."""
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
