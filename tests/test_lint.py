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


def test_the_dashboard_s_own_javascript_parses() -> None:
    """A syntax error in dash.js leaves every page of the dashboard blank: Node.js (which
    pyright runs on) checks it, as the browser would parse it."""
    import shutil

    node = shutil.which("node")
    assert node is not None, "Node.js is needed (pyright runs on it)"
    for script in sorted((ROOT / "torc/client/dash/static").glob("*.js")):
        r = subprocess.run([node, "--check", str(script)], capture_output=True, text=True,
                           timeout=60)
        assert r.returncode == 0, r.stderr
