"""Writes the generated reference pages (``scripts/gen-docs``): the command-line reference
from the three programs' parsers, the gRPC API reference from ``torc.proto``, the configuration
keys and the job states from their tables."""

from __future__ import annotations

import sys
from pathlib import Path

from torc import api_reference, cli_reference, config_reference, states_reference


def pages() -> dict[str, str]:
    """File name -> content of every generated page."""
    from torc.client.cli import build_parser as torc_parser
    from torc.server.main import build_parser as coord_parser
    from torc.worker.main import build_parser as worker_parser
    proto = Path(__file__).resolve().parent / "proto" / "torc.proto"
    return {"cli.md": cli_reference.page([torc_parser(), coord_parser(), worker_parser()]),
            "api.md": api_reference.page(proto.read_text()),
            "config.md": config_reference.page(),
            "job-states.md": states_reference.page()}


def main() -> None:
    """``python -m torc.docs_gen DIR``: write the pages into DIR."""
    out = Path(sys.argv[1])
    for name, text in pages().items():
        (out / name).write_text(text)


if __name__ == "__main__":
    main()
