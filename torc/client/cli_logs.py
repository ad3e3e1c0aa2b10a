"""``torc logs bundle`` and ``torc logs analyze``, as Torc has them."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.markup import escape

from torc.client import output
from torc.client.stub import TorcClient
from torc.options import DEFAULT_OUTPUT_DIR

COLOURS = {"critical": "bold red", "error": "red", "warning": "yellow"}


def cmd_bundle(c: TorcClient, a: argparse.Namespace) -> None:
    from torc.client.log_bundle import bundle
    made = bundle(c, a.id, Path(a.output_dir), Path(a.bundle_dir))
    if a.format == "json":
        output.emit_json(made)
        return
    print(f"wrote {made['bundle']}: {made['files']} log file(s) "
          f"({output.human_bytes(made['log_bytes'])}) and workflow {a.id}'s state, "
          f"{output.human_bytes(made['bundle_bytes'])} compressed")
    print(f"look inside with `torc logs analyze {made['bundle']}`; "
          f"`tar -xzf {Path(made['bundle']).name}` unpacks wf{a.id}/")


def cmd_analyze(c: None, a: argparse.Namespace) -> None:
    from rich.progress import Progress

    from torc.client.log_analysis import analyze
    with Progress(console=output.console, transient=True,
                  disable=not output.console.is_terminal) as bar:
        task = bar.add_task("scanning logs", total=None)
        report = analyze(Path(a.path), a.workflow_id,
                         lambda done, total: bar.update(task, completed=done, total=total))
    if a.format == "json":
        output.emit_json(report)
        return
    con = output.console
    con.print(f"[bold]Log analysis of workflow {report['workflow_id']}[/] in "
              f"{escape(report['path'])}", highlight=False)
    last = None
    for e in report["errors"]:
        if e["severity"] == "warning" and not a.all:
            continue
        if e["file"] != last:
            job = (f"  (job {e['job_id']}, attempt {e['attempt_id']})"
                   if e["job_id"] is not None and e["attempt_id"] else
                   f"  (job {e['job_id']})" if e["job_id"] is not None else "")
            con.print(f"\n  [bold]{escape(e['file'])}[/]{job}", highlight=False)
            last = e["file"]
        colour = COLOURS[e["severity"]]
        con.print(f"    line {e['line']}: [{colour}]{e['severity']}[/] {escape(e['type'])}: "
                  f"{escape(e['text'])}", highlight=False, soft_wrap=True)
    warnings = sum(1 for e in report["errors"] if e["severity"] == "warning")
    con.print(f"\nfiles scanned: {report['files_scanned']}, with findings: "
              f"{report['files_with_errors']}", highlight=False)
    if report["error_counts"]:
        con.print("found: " + ", ".join(f"{escape(k)} ({v})"
                                        for k, v in report["error_counts"].items()),
                  highlight=False)
    else:
        con.print("no known error pattern found")
    if warnings and not a.all:
        con.print(f"{warnings} generic 'error'/'failed' line(s) not shown: --all shows them",
                  highlight=False)


def add_commands(sub: Any) -> None:
    """``torc logs bundle|analyze``."""
    s = sub.add_parser("logs", help="bundle a workflow's logs and state; find known errors")
    lsub = s.add_subparsers(dest="verb", required=True, metavar="VERB")
    b = lsub.add_parser("bundle", help="wf<ID>.tar.gz: every log of the workflow and its "
                                       "state, to attach to a ticket")
    b.add_argument("id", type=int)
    b.add_argument("-o", "--output-dir", default=DEFAULT_OUTPUT_DIR,
                   help="where the logs are, as given to torc run (default: %(default)s; "
                        "each worker's own output directory is searched too)")
    b.add_argument("--bundle-dir", default=".",
                   help="where to write the archive (default: %(default)s)")
    b.set_defaults(func=cmd_bundle)
    z = lsub.add_parser("analyze", help="known error patterns (OOM, time limit, segfault, "
                                        "tracebacks, CUDA, node failure...) in the logs")
    z.add_argument("path", help="an output directory or a bundle (.tar.gz)")
    z.add_argument("-w", "--workflow-id", type=int,
                   help="which workflow (needed where logs of several are)")
    z.add_argument("-a", "--all", action="store_true",
                   help="also lines that only say error/failed (warnings)")
    z.set_defaults(func=cmd_analyze, local=True)
