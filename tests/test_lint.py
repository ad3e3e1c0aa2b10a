"""The code stays ruff-clean and type-checks: CI runs only the README's test command, so the
linter and the type checker run here."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import ROOT


def test_ruff_finds_nothing() -> None:
    r = subprocess.run([sys.executable, "-m", "ruff", "check", "."], cwd=ROOT,
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr


def test_pyright_finds_no_type_error() -> None:
    """pyright in standard mode over ``torc/`` (``[tool.pyright]`` in pyproject.toml): the
    composed parts' collaborators are typed, so a wrong call between them fails here."""
    r = subprocess.run([sys.executable, "-m", "pyright"], cwd=ROOT, capture_output=True,
                       text=True, timeout=600)
    assert r.returncode == 0, r.stdout[-6000:] + r.stderr[-2000:]
    assert "0 errors" in r.stdout
