"""``torc user-data list|get|update`` and ``torc files list``.

User data ids are global, as Torc's (``${user_data.input.NAME}`` in a command gives them), so
``torc user-data get <id>`` and ``update <id> --data JSON`` need nothing else: the coordinator
says which workflow owns the entry.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from torc.client import output
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb

COLUMNS = ["id", "name", "data", "is_ephemeral"]


def user_data_dict(u: pb.UserData, wf_id: int) -> dict[str, Any]:
    """A user data entry with its value as JSON data and its workflow, as Torc's."""
    return {"id": u.id, "name": u.name, "data": json.loads(u.data_json or "null"),
            "is_ephemeral": u.is_ephemeral, "workflow_id": wf_id}


def _show(a: argparse.Namespace, title: str, entries: list[pb.UserData], wf_id: int,
          one: bool = False) -> None:
    """Entries as a table; as JSON ``{"user_data": [...]}``, or one object for ``one`` (as
    Torc prints them: a job reads its input with ``jq '.data'``)."""
    rows = [user_data_dict(u, wf_id) for u in entries]
    if a.format == "json" and one:
        output.emit_json(rows[0])
        return
    if a.format != "json":
        rows = [{**r, "data": json.dumps(r["data"])} for r in rows]
    output.rows(a.format, title, rows, COLUMNS, wrap="user_data")


def cmd_list(c: TorcClient, a: argparse.Namespace) -> None:
    entries = list(c.page("ListUserData", a.id).user_data)
    if a.name is not None:
        entries = [u for u in entries if u.name == a.name]
    if a.is_ephemeral is not None:
        entries = [u for u in entries if u.is_ephemeral == (a.is_ephemeral == "true")]
    if a.consumer_job_id is not None or a.producer_job_id is not None:
        jobs = {j.id: j for j in c.list_jobs(a.id)}
        for job_id, field in ((a.consumer_job_id, "input_user_data"),
                              (a.producer_job_id, "output_user_data")):
            if job_id is not None:
                ids = set(getattr(jobs[job_id], field)) if job_id in jobs else set()
                entries = [u for u in entries if u.id in ids]
    _show(a, f"user data of workflow {a.id}", entries, a.id)


def cmd_get(c: TorcClient, a: argparse.Namespace) -> None:
    wf = a.id
    u = c.call("GetUserData", pb.UserDataRef(workflow_id=wf, user_data_id=a.user_data_id))
    _show(a, f"user data {a.user_data_id} of workflow {wf}", [u], wf, one=True)


def cmd_update(c: TorcClient, a: argparse.Namespace) -> None:
    if a.name is not None or a.ephemeral:
        raise TorcError("--name and --ephemeral: a user data entry's name and kind come from "
                        "the spec in torc-py; only its value (--data) changes")
    try:
        json.loads(a.data)
    except ValueError as e:
        raise TorcError(f"--data: not valid JSON: {e}") from None
    wf = a.id
    u = c.call("UpdateUserData", pb.UpdateUserDataRequest(
        workflow_id=wf, user_data_id=a.user_data_id, data_json=a.data))
    _show(a, f"user data {a.user_data_id} of workflow {wf}", [u], wf, one=True)


def cmd_files(c: TorcClient, a: argparse.Namespace) -> None:
    only = None
    if a.produced_by_job_id is not None:
        only = {f for j in c.list_jobs(a.id) if j.id == a.produced_by_job_id
                for f in j.output_files}
    output.rows(a.format, f"files of workflow {a.id}",
                [{"id": f.id, "workflow_id": a.id, "name": f.name, "path": f.path,
                  "required": f.required,
                  "mtime": output.ts(f.mtime) if f.HasField("mtime") else None,
                  "st_mtime": f.mtime if f.HasField("mtime") else None}
                 for f in c.list_files(a.id) if only is None or f.id in only],
                ["id", "name", "path", "required", "mtime"], wrap="files")


def add_commands(sub: Any) -> None:
    """Add ``user-data`` and ``files`` to the CLI."""
    ud = sub.add_parser("user-data", help="a workflow's user data (JSON values jobs share)")
    usub = ud.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = usub.add_parser("list", help="every user data entry of a workflow")
    s.add_argument("id", type=int, help="workflow id")
    s.add_argument("--name", help="only the entry of this name")
    s.add_argument("--is-ephemeral", choices=["true", "false"])
    s.add_argument("--consumer-job-id", type=int, help="only what this job reads")
    s.add_argument("--producer-job-id", type=int, help="only what this job writes")
    s.set_defaults(func=cmd_list)
    for verb, func, text in (("get", cmd_get, "one entry"),
                             ("update", cmd_update, "write an entry's value")):
        s = usub.add_parser(verb, help=text)
        s.add_argument("user_data_id", type=int, help="as ${user_data.input.NAME} gives it")
        s.add_argument("-w", "--workflow-id", dest="id", type=int, default=None,
                       help="the workflow that owns it (ids are global: may be left out)")
        if verb == "update":
            s.add_argument("-d", "--data", required=True, help="the new value, as JSON")
            s.add_argument("-n", "--name", help=argparse.SUPPRESS)
            s.add_argument("--ephemeral", action="store_true", help=argparse.SUPPRESS)
        s.set_defaults(func=func, locate=("user_data", "user_data_id"))
    f = sub.add_parser("files", help="a workflow's files")
    fsub = f.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = fsub.add_parser("list", help="every file of a workflow, with its path")
    s.add_argument("id", type=int, help="workflow id")
    s.add_argument("--produced-by-job-id", type=int, help="only the files this job writes")
    s.set_defaults(func=cmd_files)
