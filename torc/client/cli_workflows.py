"""``torc workflows list|is-complete|run|delete``: listing and removing workflows, with the
flags Torc's CLI reference gives them (paging, sorting, archived ones; several ids; a
confirmation on a terminal)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from torc.arguments import NON_NEGATIVE_INT, POSITIVE
from torc.client import listing, output
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.options import add_worker_arguments

WORKFLOW_COLUMNS = ["id", "name", "user", "num_jobs", "run_id", "initialized", "complete",
                    "canceled", "created_at"]

def cmd_list_workflows(c: TorcClient, a: argparse.Namespace) -> None:
    # -u, else Torc's --username (flag or [client] username), else everyone's.
    user = "" if a.all_users else a.user or getattr(a, "username", None) or ""
    wanted = a.all or a.archived_only
    rows = [output.workflow_dict(w) for w in c.list_workflows(user=user, all=wanted)]
    if a.archived_only:
        rows = [r for r in rows if r["archived"]]
    rows = listing.Listing(a.offset, a.limit, a.sort_by, a.reverse_sort).apply(rows)
    output.rows(a.format, "workflows", rows, WORKFLOW_COLUMNS, wrap="workflows")


def cmd_is_complete(c: TorcClient, a: argparse.Namespace) -> None:
    wf = c.get_workflow(a.id)
    if a.format == "json":  # Torc's IsCompleteResponse
        output.emit_json({"is_canceled": wf.canceled, "is_complete": wf.complete,
                          "needs_to_run_completion_script": False})
    else:
        print(f"Workflow {a.id} completion status:\n  Is Complete: {str(wf.complete).lower()}"
              f"\n  Is Canceled: {str(wf.canceled).lower()}")


def cmd_delete(c: TorcClient, a: argparse.Namespace) -> None:
    if not a.no_prompts and sys.stdin.isatty():
        names = ", ".join(f"{w} ({c.get_workflow(w).name})" for w in a.ids)
        answer = input(f"Delete workflow(s) {names} and everything recorded about them? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            raise TorcError("nothing deleted")
    for wf_id in a.ids:
        c.delete_workflow(wf_id)
        if a.format == "json":
            output.emit_json({"id": wf_id, "deleted": True})
        else:
            print(f"deleted workflow {wf_id}")


def add_run_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``torc run`` and ``torc workflows run``: the worker's, and how often
    progress is drawn."""
    add_worker_arguments(p)
    p.add_argument("-p", "--poll-interval", type=POSITIVE, default=0.25,
                   help="seconds between progress updates (Torc's flag; jobs' ends are seen "
                        "at once)")


def add_commands(wsub: Any) -> None:
    """Add the verbs to ``torc workflows``."""
    s = wsub.add_parser("list", help="list workflows (archived ones with --all)")
    s.add_argument("-u", "--user", help="only this user's workflows")
    s.add_argument("--all-users", action="store_true", help="every user's (the default)")
    s.add_argument("--all", "--include-archived", action="store_true", dest="all",
                   help="archived ones too")
    s.add_argument("--archived-only", action="store_true", help="only archived ones")
    s.add_argument("-l", "--limit", type=NON_NEGATIVE_INT, default=10_000)
    s.add_argument("--offset", type=NON_NEGATIVE_INT, default=0)
    s.add_argument("--sort-by", help="a field, e.g. name, created_at, num_jobs")
    s.add_argument("--reverse-sort", action="store_true")
    s.set_defaults(func=cmd_list_workflows)
    s = wsub.add_parser("is-complete", help="whether every job is done (Torc's verb)")
    s.add_argument("id", type=int)
    s.set_defaults(func=cmd_is_complete)
    s = wsub.add_parser("run", help="run an existing workflow here (as torc run ID)")
    s.add_argument("target", metavar="ID")
    add_run_arguments(s)
    s.set_defaults(func=None, run_here=True)
    s = wsub.add_parser("delete", help="delete workflows (asks first on a terminal)")
    s.add_argument("ids", type=int, nargs="+", metavar="ID")
    s.add_argument("--no-prompts", action="store_true", help="do not ask for confirmation")
    s.add_argument("--force", action="store_true",
                   help="accepted for Torc's scripts: whether another user's workflow may be "
                        "deleted is the coordinator's decision (admins may)")
    s.set_defaults(func=cmd_delete)
