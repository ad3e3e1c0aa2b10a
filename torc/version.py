"""The installed torc-py version (``torc --version``, ``torc-worker --version``: what
``torc remote run`` compares on every host, and what a log bundle records)."""

from __future__ import annotations

from importlib import metadata


def torc_version() -> str:
    """The package's version, or ``unknown`` when run from a tree that is not installed."""
    try:
        return metadata.version("torc-py")
    except metadata.PackageNotFoundError:
        return "unknown"
