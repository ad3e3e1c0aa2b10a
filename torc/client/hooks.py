"""Torc's ``--recovery-hook``: the user's own command, run by ``torc recover`` (and ``torc watch
--recover``) for jobs that failed for a reason torc cannot mend by itself, before they are reset.

As Torc runs it: the command is split as a shell would (no shell runs it), a program named
without a slash that exists in the current directory is run from there, the workflow id is its
last argument and ``TORC_WORKFLOW_ID``; a non-zero exit stops the recovery. Beyond Torc, the
hook also gets ``TORC_URL``, so that ``torc`` commands in it reach the coordinator the recovery
uses (an embedded one's port is not known in advance).
"""

from __future__ import annotations

import os
import shlex
import subprocess
import sys
from pathlib import Path

from torc.arguments import split_command
from torc.errors import TorcError


def hook_argv(command: str, wf_id: int) -> list[str]:
    """The hook's argv (the workflow id last), or a TorcError naming the flag."""
    parts = split_command(command, "--recovery-hook")
    if "/" not in parts[0] and Path(parts[0]).exists():
        parts[0] = f"./{parts[0]}"
    return [*parts, str(wf_id)]


def run_recovery_hook(command: str, wf_id: int, url: str) -> None:
    """Run the hook, its output shown line by line as ``[hook] ...`` (stdout to stdout,
    stderr to stderr); raise a TorcError if it cannot start or exits non-zero."""
    argv = hook_argv(command, wf_id)
    env = {**os.environ, "TORC_WORKFLOW_ID": str(wf_id), "TORC_URL": url}
    print(f"running recovery hook: {shlex.join(argv)}", flush=True)
    try:
        done = subprocess.run(argv, env=env, capture_output=True, text=True, errors="replace",
                              stdin=subprocess.DEVNULL, check=False)
    except OSError as e:
        raise TorcError(f"--recovery-hook {command!r} cannot start: {e.strerror}") from None
    for line in done.stdout.splitlines():
        print(f"  [hook] {line}", flush=True)
    err = [f"  [hook] {line}" for line in done.stderr.splitlines()]
    if done.returncode != 0:
        raise TorcError(f"recovery hook {command!r} failed with exit code {done.returncode}; "
                        f"the failed jobs of workflow {wf_id} were not reset"
                        + ("\n" + "\n".join(err) if err else ""))
    for line in err:
        print(line, file=sys.stderr, flush=True)
