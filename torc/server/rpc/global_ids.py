"""Global ids in requests to the workflow's own numbers (see :mod:`torc.server.state.ids`).

The service calls these on what a request names before it builds an event, so the store, the
WAL and snapshots only ever hold a workflow's own numbers; ``convert`` turns them back into
global ids on the way out. An id the workflow does not own is NotFound, naming it as the
caller wrote it. (A worker's job reports, the hot path, are converted as they are read:
``service_workers.report_row``.)
"""

from __future__ import annotations

from collections.abc import Iterable

from torc.errors import NotFound
from torc.proto import torc_pb2 as pb
from torc.server.state.workflow import Workflow

_WHAT = {"jobs": "job", "files": "file", "user_data": "user data"}


def local(wf: Workflow, kind: str, global_id: int) -> int:
    """The workflow's own number for a global id of ``kind`` (jobs, files, user_data)."""
    n = wf.ids[kind].to_local(global_id)
    if not n:
        raise NotFound(f"{_WHAT[kind]} {global_id} does not exist in workflow {wf.id}")
    return n


def local_many(wf: Workflow, kind: str, global_ids: Iterable[int]) -> tuple[int, ...]:
    """Several, in order (NotFound for the first the workflow does not own)."""
    return tuple(local(wf, kind, g) for g in global_ids)


def known(wf: Workflow, kind: str, global_ids: Iterable[int]) -> set[int]:
    """The workflow's own numbers of those it owns (a filter: the rest match nothing)."""
    ranges = wf.ids[kind]
    return {n for n in map(ranges.to_local, global_ids) if n}


def file_mtimes(wf: Workflow, request: pb.InitializeRequest) -> dict[int, float]:
    """The file times an initialize sends, by the workflow's own file numbers."""
    return {local(wf, "files", k): v for k, v in request.file_mtimes.items()}
