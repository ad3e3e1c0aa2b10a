"""``torc exec``: run a few commands without writing a spec, like ``torc run`` (embedded
coordinator unless ``--url``): ``-c CMD`` (repeatable), ``-- prog args``, and ``--param
i=1:100`` for one job per value (several ``--param`` make their product)."""

from __future__ import annotations

import argparse
import re
import shlex
import time
from pathlib import Path
from typing import Any

import yaml

from torc.errors import TorcError
from torc.options import add_worker_arguments

_PARAM = re.compile(r"^([A-Za-z_]\w*)=(.+)$")


def exec_spec(commands: list[str], params: list[str], name: str,
              monitor: str | None) -> dict[str, Any]:
    """The workflow ``torc exec`` runs: one job per command, or per command and value."""
    if not commands:
        raise TorcError("nothing to run: give -c 'command' (repeatable) or -- program args")
    parameters: dict[str, str] = {}
    for p in params:
        m = _PARAM.match(p)
        if not m:
            raise TorcError(f"--param {p!r}: expected NAME=VALUES, e.g. i=1:100 or "
                            "lr=[0.1,0.01]")
        parameters[m.group(1)] = m.group(2)
    jobs = []
    suffix = "".join(f"_{{{k}}}" for k in parameters)
    width = len(str(len(commands)))
    for k, command in enumerate(commands, 1):
        job: dict[str, Any] = {"name": f"cmd{k:0{width}d}{suffix}", "command": command}
        if parameters:
            missing = [p for p in parameters if "{" + p not in command]
            if missing:
                raise TorcError(f"-c {command!r} does not use --param {missing[0]} (write "
                                f"{{{missing[0]}}} where its value goes)")
            job["parameters"] = dict(parameters)
        jobs.append(job)
    spec: dict[str, Any] = {"name": name, "description": "torc exec", "jobs": jobs}
    if monitor:
        spec["resource_monitor"] = {"enabled": True, "sample_interval_seconds": 1,
                                    "granularity": monitor.replace("-", "_")}
    return spec


def run_exec(a: argparse.Namespace, url: str | None, fmt: str) -> int:
    """Build the spec, then run it like ``torc run``."""
    from torc.client.run import run
    commands = list(a.command or [])
    if a.argv:
        argv = a.argv[1:] if a.argv[0] == "--" else a.argv
        if argv:
            commands.append(shlex.join(argv))
    spec = exec_spec(commands, a.param or [], a.name or f"exec_{time.strftime('%Y%m%d_%H%M%S')}",
                     a.monitor)
    out = Path(a.output_dir).resolve()
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{spec['name']}.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False))
    a.target = str(path)
    return run(a, url, fmt)


def add_command(sub: Any) -> None:
    """``torc exec``."""
    s = sub.add_parser("exec", help="run commands without a spec (like torc run)",
                       description="Run commands as a workflow: -c CMD (repeatable), "
                       "-- PROG ARGS, --param i=1:10 for one job per value.")
    s.add_argument("-c", "--command", action="append", help="a command (repeatable)")
    s.add_argument("--param", action="append",
                   help="NAME=VALUES (Torc's syntax: 1:100, 0:1:0.1, [a,b]); repeatable")
    s.add_argument("--name", help="the workflow's name (default: exec_<time>)")
    s.add_argument("--monitor", choices=["summary", "time-series"],
                   help="sample each job's CPU and memory")
    add_worker_arguments(s)
    s.add_argument("argv", nargs=argparse.REMAINDER, help="-- PROG ARGS: one more job")
    s.set_defaults(func=None)
