"""``torc dash``'s arguments: defined apart from the application, so that building the
CLI's parser (every ``torc`` command) imports neither Starlette nor uvicorn."""

from __future__ import annotations

from typing import Any

from torc.arguments import PORT


def add_command(sub: Any) -> None:
    """``torc dash``."""
    s = sub.add_parser("dash", help="a live web dashboard of the coordinator's workflows")
    s.add_argument("--host", default="127.0.0.1", dest="dash_host",
                   help="address to listen on (default: %(default)s; any other asks browsers "
                        "for your token)")
    s.add_argument("--port", type=PORT, default=8090, dest="dash_port")
    s.add_argument("--output-dir", default=None,
                   help="where the workers write, for job logs (default: where each worker "
                        "said, else ./output)")
    s.add_argument("--standalone", action="store_true",
                   help="start a coordinator for this dashboard (its data in "
                        "OUTPUT_DIR/coordinator, where torc run keeps it), stopped with it")
    s.set_defaults(func=None)
