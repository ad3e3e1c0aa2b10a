"""``torc workflows export|import|archive|unarchive``: move a workflow between coordinators
(one versioned JSON document), and keep finished ones out of the way."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from torc.client import output
from torc.client.stub import TorcClient
from torc.errors import TorcError


def cmd_export(c: TorcClient, a: argparse.Namespace) -> None:
    doc = c.export_workflow(a.id)
    text = json.dumps(doc, indent=1) + "\n"
    if a.output in (None, "-"):
        print(text, end="")
        return
    Path(a.output).write_text(text)
    if a.format == "json":
        output.emit_json({"id": a.id, "output": a.output, "jobs": len(doc["spec"]["jobs"])})
    else:
        print(f"exported workflow {a.id} ({len(doc['spec']['jobs'])} jobs) to {a.output}")


def cmd_import(c: TorcClient, a: argparse.Namespace) -> None:
    try:
        doc = json.loads(sys.stdin.read() if a.file == "-" else Path(a.file).read_text())
    except OSError as e:
        raise TorcError(f"{a.file}: cannot read: {e.strerror}") from None
    except ValueError as e:
        raise TorcError(f"{a.file}: not JSON: {e}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("spec"), dict):
        raise TorcError(f"{a.file}: not a torc workflow export (no spec)")
    if a.name is not None:
        doc["spec"]["name"] = a.name
    if a.skip_results and isinstance(doc.get("state"), dict):
        doc["state"]["results"] = []
    if a.skip_events:
        doc["events"] = []
    wf = c.import_workflow(doc, keep_state=a.keep_state)
    if a.format == "json":
        output.emit_json(output.workflow_dict(wf))
    else:
        print(f"imported {a.file} as workflow {wf.id}"
              + (" with its states and results" if a.keep_state else " (uninitialized)"))


def _archive(archived: bool) -> Any:
    def handler(c: TorcClient, a: argparse.Namespace) -> None:
        state, ids = archived, a.ids
        if ids and ids[0].lower() in ("true", "false"):  # Torc's: archive true|false IDS...
            state, ids = ids[0].lower() == "true", ids[1:]
        if not ids:
            raise TorcError("give the workflow ids (after true or false, as Torc's "
                            "'workflows archive true 1 2 3')")
        try:
            numbers = [int(x) for x in ids]
        except ValueError:
            raise TorcError(f"workflow ids must be numbers, got {' '.join(ids)!r}") from None
        for wf_id in numbers:
            wf = c.archive(wf_id, state)
            if a.format == "json":
                output.emit_json(output.workflow_dict(wf))
            else:
                print(f"workflow {wf.id} {'archived' if state else 'unarchived'}")
    return handler


def add_commands(workflow_verbs: Any) -> None:
    """``workflows export|import|archive|unarchive``."""
    s = workflow_verbs.add_parser("export", help="the workflow as one JSON document (spec, "
                                                 "states, results, actions, events)")
    s.add_argument("id", type=int)
    s.add_argument("-o", "--output", help="file to write (default: stdout)")
    for flag in ("--include-results", "--include-events"):
        s.add_argument(flag, action="store_true",
                       help="Torc's flag: results and events are always in torc-py's export")
    s.set_defaults(func=cmd_export)
    s = workflow_verbs.add_parser("import", help="a new workflow from an export")
    s.add_argument("file")
    s.add_argument("--name", help="the new workflow's name (default: the exported one's)")
    s.add_argument("--skip-results", action="store_true",
                   help="leave the export's results out (with --keep-state)")
    s.add_argument("--skip-events", action="store_true", help="leave its events out")
    s.add_argument("--keep-state", action="store_true",
                   help="keep job states and results (default: uninitialized)")
    s.set_defaults(func=cmd_import)
    for verb, archived in (("archive", True), ("unarchive", False)):
        s = workflow_verbs.add_parser(verb, help=("hide from" if archived else "show again in")
                                      + " workflows list")
        s.add_argument("ids", nargs="+", metavar="[true|false] ID",
                       help="workflow ids; Torc's form 'archive true|false ID...' too")
        s.set_defaults(func=_archive(archived))
