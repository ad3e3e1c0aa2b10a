"""What Slurm recorded about a workflow's allocations: ``sacct`` rows of their job steps
(each torc job run as a step is named ``wf<W>_j<J>_r<R>_a<A>``), and known failure patterns in
the allocations' Slurm output (``torc slurm parse-logs``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from torc.slurm.commands import _run

FIELDS = ("JobID", "JobName", "State", "ExitCode", "MaxRSS", "TotalCPU", "Elapsed",
          "NodeList", "ReqMem")
STEP_NAME = re.compile(r"^wf(\d+)_j(\d+)_r(\d+)_a(\d+)$")
_UNITS = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}


def parse_size(text: str) -> int | None:
    """sacct's ``1234K``/``3.5G`` in bytes (None when empty)."""
    text = text.strip()
    if not text:
        return None
    unit = _UNITS.get(text[-1].upper())
    try:
        return int(float(text[:-1]) * unit) if unit else int(float(text))
    except ValueError:
        return None


def sacct(slurm_job_ids: Iterable[str]) -> list[dict[str, Any]]:
    """Every job and step of the given allocations, as sacct has them."""
    ids = [j for j in slurm_job_ids if j]
    if not ids:
        return []
    out = _run("sacct", "-n", "-P", "-j", ",".join(ids), "-o", ",".join(FIELDS))
    rows = []
    for line in out.splitlines():
        parts = line.split("|")
        if len(parts) != len(FIELDS):
            continue
        row: dict[str, Any] = dict(zip(FIELDS, parts, strict=True))
        row["MaxRSSBytes"] = parse_size(row["MaxRSS"])
        m = STEP_NAME.match(row["JobName"])
        if m:
            row["workflow_id"], row["job_id"], row["run_id"], row["attempt_id"] = map(
                int, m.groups())
        rows.append(row)
    return rows


# (name, pattern) of failures people look for in Slurm output, first match wins per line.
PATTERNS = [
    ("out_of_memory", re.compile(r"oom[-_ ]kill|out of memory|exceeded (job )?memory limit|"
                                 r"OUT_OF_MEMORY", re.IGNORECASE)),
    ("time_limit", re.compile(r"DUE TO TIME LIMIT|TIMEOUT|time limit", re.IGNORECASE)),
    ("node_failure", re.compile(r"NODE_FAIL|DUE TO NODE FAILURE|node failure",
                                re.IGNORECASE)),
    ("cuda_error", re.compile(r"CUDA error|CUDA out of memory|cudaError|NCCL error")),
    ("python_traceback", re.compile(r"^Traceback \(most recent call last\)")),
    ("segfault", re.compile(r"Segmentation fault|SIGSEGV")),
]


def scan(path: Path, limit: int = 10_000_000) -> list[dict[str, Any]]:
    """Known failure patterns in one file (its first ``limit`` bytes): kind, line, text."""
    found = []
    try:
        with open(path, "rb") as f:
            text = f.read(limit).decode(errors="replace")
    except OSError:
        return found
    for n, line in enumerate(text.splitlines(), 1):
        for kind, rx in PATTERNS:
            if rx.search(line):
                found.append({"kind": kind, "line": n, "text": line.strip()[:300]})
                break
    return found
