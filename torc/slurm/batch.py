"""The batch script a ``schedule_nodes`` action submits (torc-compat.md, "Slurm
submission"): ``#SBATCH`` lines for the scheduler's settings, then the worker command."""

from __future__ import annotations

import re
import shlex
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from torc.slurm.commands import SlurmError

_SBATCH_KEYS = {"account": "account", "partition": "partition", "nodes": "nodes",
                "walltime": "time", "mem": "mem", "gres": "gres", "qos": "qos",
                "ntasks_per_node": "ntasks-per-node", "tmp": "tmp"}


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def _directive(option: str, value: object) -> str:
    """One ``#SBATCH --option=value`` line; SlurmError for a value that cannot be one.

    A newline would end the directive and run the rest as a shell command on the node; sbatch
    reads double-quoted values, so values with spaces (paths) are quoted.
    """
    text = str(value)
    if _CONTROL.search(text) or '"' in text:
        raise SlurmError(f"{option}: {text!r} cannot go into a batch script (control "
                         "characters or double quotes)")
    if not re.fullmatch(r"[-\w.,:=/%@+\[\]]*", text):
        text = f'"{text}"'
    return f"#SBATCH --{option}={text}"


def batch_script(workflow_id: int, scheduler: dict[str, Any], url: str, output_dir: Path,
                 python: str, one_worker_per_node: bool,
                 worker_args: Iterable[str] = (), strict: bool = True,
                 job_prefix: str = "") -> str:
    """The script a schedule_nodes action submits (torc-compat.md, "Slurm submission");
    ``strict``: its workers take only jobs for this scheduler (or for none)."""
    name = scheduler.get("name", "slurm")
    lines = ["#!/bin/bash",
             _directive("job-name", f"{job_prefix}torc_wf{workflow_id}_{name}"),
             _directive("output", f"{output_dir}/slurm_output_wf{workflow_id}_sl%j.o"),
             _directive("error", f"{output_dir}/slurm_output_wf{workflow_id}_sl%j.e")]
    for key, value in scheduler.items():
        if key in ("name", "extra") or value in (None, ""):
            continue
        lines.append(_directive(_SBATCH_KEYS.get(key, key.replace("_", "-")), value))
    extra = scheduler.get("extra")
    if extra:
        if _CONTROL.search(str(extra)):
            raise SlurmError(f"extra: {extra!r} must be one line without control characters")
        lines.append(f"#SBATCH {extra}")
    if "--requeue" not in (extra or ""):
        # A lost allocation's jobs are failed or retried by the coordinator; a requeued batch
        # job would only start a late, surprising worker.
        lines.append("#SBATCH --no-requeue")
    # The workers take only jobs for this scheduler (or for none): Torc's strict matching.
    worker = [python, "-m", "torc.worker.main", "--url", url, "--workflow-id",
              str(workflow_id), "--output-dir", str(output_dir),
              *(["--scheduler", name] if strict else []), *worker_args]
    command = " ".join(shlex.quote(a) for a in worker)
    # No cd: jobs run where the batch script was submitted from (sbatch's default), as
    # Torc's do; the output directory holds only logs.
    lines += ["", f"export TORC_URL={shlex.quote(url)}"]
    if one_worker_per_node:
        lines.append(f"exec srun --ntasks-per-node=1 --kill-on-bad-exit=0 {command}")
    else:
        lines.append(f"exec {command}")
    return "\n".join(lines) + "\n"
