"""``torc tui``'s arguments: defined apart from the application, so that building the
CLI's parser (every ``torc`` command) does not import Textual."""

from __future__ import annotations

from typing import Any

from torc.options import DEFAULT_OUTPUT_DIR


def add_command(sub: Any) -> None:
    """``torc tui``."""
    s = sub.add_parser("tui", help="a full-screen terminal interface (Torc's keys; ? for help)")
    s.add_argument("--standalone", action="store_true",
                   help="start a coordinator that runs as long as the TUI (its data in --database)")
    s.add_argument("--port", type=int, default=0,
                   help="with --standalone: the port to serve on (default: a free one)")
    s.add_argument("--database", default=None, metavar="DIR",
                   help="with --standalone: the coordinator's data directory (default: "
                        "OUTPUT_DIR/coordinator, where torc run keeps it)")
    s.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR,
                   help="where local runs write and job logs are looked for")
    s.set_defaults(func=None)
