"""The guide's tutorials are executed, so they cannot rot: every file a page shows (a fenced
block after ``<!-- file: NAME -->``) is written, and every ``$ command`` of its ``console``
blocks runs in one shell, in order, in a fresh directory, as a reader would type it. Each must
exit 0 (or the ``# exits N`` its line says), and each output line the page shows under it must
appear in what it printed (``...`` stands for lines the page leaves out)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import ROOT

PAGES = sorted((ROOT / "docs" / "tutorials").glob("*.md"))
_FENCE = re.compile(r"^(?:<!-- file: (?P<file>\S+) -->\n)?```(?P<lang>\w*)\n(?P<body>.*?)^```$",
                    re.M | re.S)
OPTIONAL = ("jq",)  # what a page may use that a fresh machine may lack (CI installs it)
_EXITS = re.compile(r"\s+# exits (\d+)\b.*$")


@dataclass
class Step:
    """One command of a page, what it must exit with and the lines it must print."""

    command: str
    exits: int = 0
    expected: list[str] = field(default_factory=list)


def parse(text: str) -> tuple[dict[str, str], list[Step]]:
    """A page's files (name -> content) and its commands, in order."""
    files: dict[str, str] = {}
    steps: list[Step] = []
    for m in _FENCE.finditer(text):
        if m["file"]:
            files[m["file"]] = m["body"]
        elif m["lang"] == "console":
            lines = m["body"].splitlines()
            while lines:
                line = lines.pop(0)
                if not line.startswith("$ "):
                    if line.strip() not in ("", "..."):
                        steps[-1].expected.append(line.strip())
                    continue
                command = line[2:]
                while command.endswith("\\"):
                    command = command[:-1] + "\n" + lines.pop(0)
                exits = _EXITS.search(command)
                steps.append(Step(_EXITS.sub("", command), int(exits[1]) if exits else 0))
    return files, steps


def _script(steps: list[Step]) -> str:
    out = ["exec 2>&1"]
    for n, s in enumerate(steps):
        out += [f"echo '@@@ begin {n}'", s.command, f"echo \"@@@ rc {n} $?\""]
    return "\n".join(out) + "\n"


@pytest.mark.parametrize("page", PAGES, ids=[p.stem for p in PAGES])
def test_a_tutorial_runs_as_written(page: Path, tmp_path: Path,
                                    request: pytest.FixtureRequest) -> None:
    files, steps = parse(page.read_text())
    assert steps, f"{page.name} has no commands"
    if any("torc submit" in s.command for s in steps):
        request.getfixturevalue("cluster")  # the local Slurm cluster (skips without one)
    for program in OPTIONAL:
        if any(re.search(rf"\b{program}\b", s.command) for s in steps) \
                and shutil.which(program) is None:
            pytest.skip(f"{page.name} uses {program}, which is not installed here")
    for name, body in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(body)
    bin_dir = str(Path(sys.executable).parent)
    home = tmp_path / "home"  # its own ~/.torc and ~/.config/torc, as a new user has
    home.mkdir()
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "COLUMNS": "200",
           "HOME": str(home)}
    for var in ("TORC_URL", "TORC_TOKEN", "TORC_WORKFLOW_ID"):
        env.pop(var, None)
    proc = subprocess.run(["bash", "-c", _script(steps)], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=600)
    printed = re.split(r"^@@@ begin \d+\n", proc.stdout, flags=re.M)[1:]
    assert len(printed) == len(steps), proc.stdout[-3000:] + proc.stderr[-3000:]
    for n, (step, out) in enumerate(zip(steps, printed, strict=True)):
        body, _, rc = out.rpartition(f"@@@ rc {n} ")
        where = f"{page.name}, command {n + 1}: $ {step.command}\n--- it printed:\n{body}"
        assert int(rc.split()[0]) == step.exits, where
        flat = " ".join(body.split())
        for line in step.expected:
            assert " ".join(line.split()) in flat, f"{where}\n--- missing: {line}"
