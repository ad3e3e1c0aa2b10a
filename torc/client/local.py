"""The coordinator a command talks to when none is named: after ``torc run`` (embedded
coordinator, its data in ``<output-dir>/coordinator``), ``torc results list`` and the other
verbs read that run — the coordinator still serving it, or the same data reopened for the
length of the command — unless one listens at the default address."""

from __future__ import annotations

import json
import os
import socket
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from torc.config import DEFAULT_URL


def listens(url: str) -> bool:
    """Whether something accepts connections at ``url`` (host:port)."""
    host, _, port = url.rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=2):
            return True
    except (OSError, ValueError):
        return False


def _serving(data: Path) -> str | None:
    """The address of the coordinator serving ``data`` now (a ``torc run`` in progress)."""
    try:
        info = json.loads((data / "coordinator.json").read_text())
        os.kill(int(info["pid"]), 0)
        return str(info["url"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


@contextmanager
def coordinator_for(url: str | None, output_dir: Path) -> Iterator[str]:
    """``url`` if given; else the default address if something listens there; else the
    coordinator ``torc run`` left in ``output_dir`` (reopened until the command ends)."""
    data = output_dir / "coordinator"
    if url or not data.is_dir() or listens(DEFAULT_URL):
        yield url or DEFAULT_URL
        return
    live = _serving(data)
    if live is not None:
        yield live
        return
    from torc.client.run import EmbeddedCoordinator
    print(f"note: no coordinator at {DEFAULT_URL}: reading the one torc run left in {data}",
          file=sys.stderr)
    embedded = EmbeddedCoordinator(data)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


@contextmanager
def standalone(output_dir: Path) -> Iterator[str]:
    """A coordinator of its own for the length of the command (``--standalone``), its data
    in ``<output-dir>/coordinator`` as ``torc run`` keeps it."""
    from torc.client.run import EmbeddedCoordinator
    embedded = EmbeddedCoordinator(output_dir / "coordinator")
    try:
        url = embedded.start()
        print(f"coordinator {url} (data in {embedded.data_dir})", file=sys.stderr, flush=True)
        yield url
    finally:
        embedded.stop()
