"""The guide in docs/ builds as an mkdocs site with --strict (every page in the nav, no link
to a page or anchor that does not exist), and the README points at pages that exist."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT


def test_the_guide_builds_strictly(tmp_path: Path) -> None:
    r = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
                        str(tmp_path / "site")], cwd=ROOT, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert (tmp_path / "site" / "cli" / "index.html").exists()
    # Clusters are often offline: the site loads nothing from elsewhere (fonts, scripts).
    for page in (tmp_path / "site").rglob("*.html"):
        remote = re.findall(r'<(?:link|script)[^>]*(?:href|src)="(https?://[^"]+)"',
                            page.read_text())
        assert not remote, f"{page}: {remote}"


def test_the_readme_is_a_front_page_whose_links_resolve() -> None:
    readme = (ROOT / "README.md").read_text()
    assert len(readme.splitlines()) <= 160
    for target in re.findall(r"\]\((docs/[^)#]+)\)", readme):
        assert (ROOT / target).is_file(), target


def test_the_generated_references_are_current(tmp_path: Path) -> None:
    """docs/reference/ is written from the parsers and torc.proto (scripts/gen-docs): a verb,
    flag or message changed without running it leaves the committed page behind."""
    env = {"PATH": os.environ["PATH"], "HOME": "/home/you"}  # as scripts/gen-docs runs it
    subprocess.run([sys.executable, "-m", "torc.docs_gen", str(tmp_path)], cwd=ROOT, env=env,
                   check=True, timeout=120)
    for name in ("cli.md", "api.md", "config.md", "job-states.md"):
        committed = (ROOT / "docs" / "reference" / name).read_text()
        assert committed == (tmp_path / name).read_text(), \
            f"docs/reference/{name} is not current: run scripts/gen-docs"
    cli = (ROOT / "docs" / "reference" / "cli.md").read_text()
    assert "## `torc jobs get`" in cli and "## `torc-coord serve`" in cli
    assert "## `torc-worker`" in cli
