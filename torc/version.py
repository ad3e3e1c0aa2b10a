"""The installed torc-py version (``torc --version``, ``torc-worker --version``: what
``torc remote run`` compares on every host, and what a log bundle records)."""

from __future__ import annotations

import argparse
from typing import Any


def torc_version() -> str:
    """The package's version, or ``unknown`` when run from a tree that is not installed."""
    from importlib import metadata  # not at import: every command would pay for it
    try:
        return metadata.version("torc-py")
    except metadata.PackageNotFoundError:
        return "unknown"


class VersionAction(argparse.Action):
    """``--version``: ``PROGRAM VERSION``, the version looked up only when asked (argparse's
    own action needs the string when the parser is built, at every command's start)."""

    def __init__(self, option_strings: list[str], dest: str, program: str,
                 **kwargs: Any) -> None:
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS,
                         help="print the version and exit", **kwargs)
        self.program = program

    def __call__(self, parser: argparse.ArgumentParser, *args: Any) -> None:
        print(f"{self.program} {torc_version()}")  # on stdout, as argparse's own
        parser.exit()
