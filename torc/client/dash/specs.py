"""Workflows created from a spec a page uploaded or pasted: read as the CLI reads a file
(YAML, JSON, JSON5 or KDL by its name's suffix, with line numbers in every error), then
created through the same call as ``torc workflows create``."""

from __future__ import annotations

import tempfile
from pathlib import Path

from torc.client.stub import TorcClient, load_spec
from torc.errors import InvalidArgument, TorcError

SUFFIXES = (".yaml", ".yml", ".json", ".json5", ".kdl")


def create_from_text(client: TorcClient, text: str, filename: str) -> int:
    """Create a workflow from ``text``; errors name ``filename`` and the line."""
    name = Path(filename).name or "spec.yaml"
    suffix = Path(name).suffix.lower()
    if suffix not in SUFFIXES:
        raise InvalidArgument(f"{name}: a spec is YAML, JSON, JSON5 or KDL "
                              f"({', '.join(SUFFIXES)}), not {suffix or 'without a suffix'}")
    if not text.strip():
        raise InvalidArgument(f"{name}: the spec is empty")
    with tempfile.TemporaryDirectory(prefix="torc-dash-spec-") as tmp:
        path = Path(tmp) / name
        path.write_text(text)
        try:
            raw, _ = load_spec(path)
        except TorcError as e:  # named by the file the user sent, not our copy of it
            raise InvalidArgument(e.message.replace(str(path), name)) from None
        # Errors found by the coordinator are explained with the file's lines too, so it
        # is created while the file still exists.
        return client.create_loaded(raw, name)
