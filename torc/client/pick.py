"""A workflow id left out, as Torc allows: the user's only workflow is taken; with several,
a terminal gets a numbered picker and a script gets an error listing the candidates."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any, TextIO

from torc.client import output
from torc.errors import TorcError


def choose(candidates: list[dict[str, Any]], stdin: TextIO, stdout: TextIO) -> int:
    """Ask on a terminal which of ``candidates`` (dicts with id and name) is meant."""
    for n, w in enumerate(candidates, 1):
        print(f"  {n:>3}) workflow {w['id']}: {w['name']} ({w['status']})", file=stdout)
    while True:
        print("which workflow? number or id (empty to give up): ", end="", file=stdout,
              flush=True)
        answer = stdin.readline().strip()
        if not answer:
            raise TorcError("no workflow chosen")
        if answer.isdigit():
            k = int(answer)
            if 1 <= k <= len(candidates):
                return int(candidates[k - 1]["id"])
            if any(w["id"] == k for w in candidates):
                return k
        print(f"  {answer!r} is none of them", file=stdout)


def owner(client: Any, args: argparse.Namespace) -> int:
    """The workflow meant when its id was left out: the one that owns the job, file, user
    data, result or compute node the verb names (ids are global, as Torc's; the verb's
    ``locate`` default says which kind and which argument), else :func:`workflow_id`."""
    kind, attr = getattr(args, "locate", (None, None))
    item = getattr(args, attr, None) if attr else None
    if kind and item is not None:
        return client.locate(kind, item)
    return workflow_id(client, args)


def workflow_id(client: Any, args: argparse.Namespace) -> int:
    """The workflow meant when the id was left out (TorcError when it cannot be told): in a
    job, its own; else the only one there is, or the one picked on a terminal."""
    own = os.environ.get("TORC_WORKFLOW_ID", "")
    if own.isdigit():
        return int(own)
    user = getattr(args, "username", None) or ""
    rows = [output.workflow_dict(w) for w in client.list_workflows(user=user)]
    for r in rows:
        r["status"] = ("complete" if r["complete"] else "in progress" if r["initialized"]
                       else "uninitialized")
    if len(rows) == 1:
        return int(rows[0]["id"])
    if not rows:
        raise TorcError("no workflow to act on: the coordinator has none" +
                        (f" of user {user}" if user else "") + " (give a workflow id)")
    if sys.stdin.isatty() and sys.stdout.isatty():
        return choose(rows, sys.stdin, sys.stdout)
    listed = ", ".join(f"{r['id']} ({r['name']})" for r in rows)
    raise TorcError(f"which workflow? give its id; there are {len(rows)}: {listed}")
