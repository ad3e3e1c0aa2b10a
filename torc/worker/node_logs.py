"""What a worker in a Slurm allocation keeps about its node for later debugging, named as
Torc's Slurm job runner names them in the output directory (``torc logs bundle`` collects
them, ``torc logs analyze`` reads them):

- ``slurm_env_wf<W>_sl<J>_n<node>_pid<pid>.log``: the ``SLURM*`` environment, at start;
- ``dmesg_slurm_wf<W>_sl<J>_n<node>_pid<pid>.log``: the kernel's messages since the worker
  started (an OOM kill, a hardware error), at exit, only when a job failed or the worker did.

Both are best effort: a node where ``dmesg`` is not allowed gets its error in the file.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from datetime import datetime
from pathlib import Path

log = logging.getLogger(__name__)

# ``dmesg --ctime``: ``[Tue Dec  8 01:11:51 2026] text``.
CTIME = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]")


def node_log_name(kind: str, wf_id: int) -> str | None:
    """``<kind>_wf<W>_sl<J>_n<node>_pid<pid>.log`` in an allocation, else None."""
    job = os.environ.get("SLURM_JOB_ID")
    if not job:
        return None
    return (f"{kind}_wf{wf_id}_sl{job}_n{os.environ.get('SLURM_NODEID', '0')}"
            f"_pid{os.getpid()}.log")


def capture_env(output_dir: Path, wf_id: int) -> Path | None:
    """Write the ``SLURM*`` variables, sorted, one ``KEY=value`` a line."""
    name = node_log_name("slurm_env", wf_id)
    if name is None:
        return None
    path = output_dir / name
    try:
        path.write_text("".join(f"{k}={v}\n" for k, v in sorted(os.environ.items())
                                if "SLURM" in k))
    except OSError as e:
        log.warning("cannot write %s: %s", path, e.strerror)
        return None
    return path


def since(text: str, started: datetime) -> str:
    """The lines of ``dmesg --ctime`` output stamped at or after ``started`` (a line
    without a stamp goes with the one before it)."""
    keep, out = True, []
    for line in text.splitlines(keepends=True):
        m = CTIME.match(line)
        if m:
            try:
                keep = datetime.strptime(m.group(1), "%a %b %d %H:%M:%S %Y") >= \
                    started.replace(microsecond=0)
            except ValueError:
                keep = True
        if keep:
            out.append(line)
    return "".join(out)


def capture_dmesg(output_dir: Path, wf_id: int, started: datetime) -> Path | None:
    """Write the kernel's messages since ``started`` (and dmesg's own error, if any)."""
    name = node_log_name("dmesg_slurm", wf_id)
    if name is None:
        return None
    path = output_dir / name
    try:
        done = subprocess.run(["dmesg", "--ctime"], capture_output=True, text=True,
                              errors="replace", timeout=30, check=False)
        text = since(done.stdout, started)
        if done.stderr:
            text += f"\n--- stderr ---\n{done.stderr}"
    except (OSError, subprocess.TimeoutExpired) as e:
        text = f"dmesg could not run: {e}\n"
    try:
        path.write_text(text)
    except OSError as e:
        log.warning("cannot write %s: %s", path, e.strerror)
        return None
    log.info("kernel messages since the worker started: %s", path)
    return path
