"""``torc logs analyze``: known error patterns across a workflow's logs, in an output
directory or a ``torc logs bundle`` archive (Torc's ``logs analyze``).

The patterns are Torc's families (memory, Slurm, GPU, crashes, Python, file system, network)
written to match what the tools really print, so that ``room`` is no OOM and a job named
``timeout_test`` is no time limit; the first pattern that matches a line names it. Job
stdio files are tied to their job, run and attempt by their names (``job_wf1_j2_r1_a1.e``).
"""

from __future__ import annotations

import os
import re
import tarfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from torc.errors import TorcError

# (type, severity, pattern): most specific first, as the first match names a line.
PATTERNS: list[tuple[str, str, re.Pattern[str]]] = [(t, s, re.compile(p, f)) for t, s, p, f in [
    ("Missing Output Files", "error",
     r"expected output files are missing|output file validation failed|output file.*"
     r"(missing|was not written)", re.IGNORECASE),
    ("CUDA Out of Memory", "critical", r"CUDA out of memory|CUDA_ERROR_OUT_OF_MEMORY", 0),
    ("CUDA Error", "error", r"CUDA error|cudaError\w*|NCCL error|CUBLAS_STATUS_\w+", 0),
    ("Out of Memory (OOM) Kill", "critical",
     r"oom[-_ ]kill|out of memory|Killed process \d+|exceeded (job )?memory limit|"
     r"OUT_OF_MEMORY|Memory cgroup out of memory", re.IGNORECASE),
    ("Python Memory Error", "critical", r"^\s*MemoryError\b", 0),
    ("C++ Allocation Failure", "critical", r"std::bad_alloc", 0),
    ("Cannot Allocate Memory", "critical", r"cannot allocate memory|ENOMEM", re.IGNORECASE),
    ("Time Limit", "critical",
     r"DUE TO TIME LIMIT|time limit (exceeded|reached)|CANCELLED.*TIME LIMIT|\bTIMEOUT\b",
     0),
    ("Node Failure", "critical", r"NODE_FAIL|DUE TO NODE FAILURE|node failure",
     re.IGNORECASE),
    ("Preemption", "error", r"DUE TO PREEMPTION|\bPREEMPTED\b", 0),
    ("Slurm Error", "error", r"slurmstepd: error|srun: error|sbatch: error", 0),
    ("Segmentation Fault", "critical", r"segmentation fault|\bSIGSEGV\b|segfault",
     re.IGNORECASE),
    ("Bus Error", "critical", r"\bbus error\b|\bSIGBUS\b", re.IGNORECASE),
    ("Killed by Signal", "error", r"killed by signal|terminated by signal|\bSIGKILL\b", 0),
    ("Disk Full", "critical", r"no space left on device|disk quota exceeded|\bENOSPC\b",
     re.IGNORECASE),
    ("Permission Denied", "error", r"permission denied|\bEACCES\b", re.IGNORECASE),
    ("File Not Found", "error", r"no such file or directory|\bENOENT\b", re.IGNORECASE),
    ("Connection Error", "error",
     r"connection (refused|reset|timed out)|network is unreachable|\bECONNREFUSED\b",
     re.IGNORECASE),
    ("Python Import Error", "error", r"^\s*(ModuleNotFoundError|ImportError)\b", 0),
    ("Python Traceback", "error", r"^Traceback \(most recent call last\)", 0),
    ("Python Exception", "error", r"^\s*([A-Za-z_]\w*\.)*[A-Z]\w*(Error|Exception)\b:", 0),
    ("Rust Panic", "error", r"thread .* panicked at", 0),
    ("Generic Error", "warning", r"\b(error|failed|failure|exception)\b", re.IGNORECASE),
]]
STDIO = re.compile(r"job_wf(\d+)_j(\d+)_r(\d+)(?:_a(\d+))?\.(o|e)$")
# A file of a workflow: ``wf<W>`` bounded (``wf1`` is not ``wf12``).
WF_IN_NAME = re.compile(r"(?:^|[_/])wf(\d+)(?=[_.]|$)")
SKIPPED = ("slurm_env_",)  # configuration, not logs (as Torc)
LOG_SUFFIXES = (".o", ".e", ".log", ".out", ".err", ".txt")
MAX_PER_FILE = 100  # a file that repeats one error a million times is summed, not listed
MAX_LINE = 300


@dataclass(frozen=True)
class Finding:
    """One line that matched a pattern."""

    file: str
    line: int
    type: str
    severity: str
    text: str
    job_id: int | None = None
    attempt_id: int | None = None


def classify(line: str) -> tuple[str, str] | None:
    """The (type, severity) of the first pattern the line matches."""
    for kind, severity, rx in PATTERNS:
        if rx.search(line):
            return kind, severity
    return None


def workflow_of(name: str) -> int | None:
    """The workflow a log file's name belongs to (``..._wf3_...``), if it says."""
    m = WF_IN_NAME.search(name)
    return int(m.group(1)) if m else None


def is_log(name: str) -> bool:
    base = name.rsplit("/", 1)[-1]
    return base.endswith(LOG_SUFFIXES) and not base.startswith(SKIPPED)


def scan_lines(name: str, lines: Iterable[str], counts: Counter[str]) -> list[Finding]:
    """Findings of one file; every match is counted, the first MAX_PER_FILE listed."""
    m = STDIO.search(name)
    job_id = int(m.group(2)) if m else None
    attempt = int(m.group(4)) if m and m.group(4) else None
    out: list[Finding] = []
    for n, line in enumerate(lines, 1):
        hit = classify(line)
        if hit is None:
            continue
        counts[hit[0]] += 1
        if len(out) < MAX_PER_FILE:
            out.append(Finding(name, n, hit[0], hit[1], line.strip()[:MAX_LINE], job_id,
                               attempt))
    return out


def _text_lines(f: IO[bytes]) -> Iterator[str]:
    for raw in f:
        yield raw.decode(errors="replace")


def output_files(root: Path) -> Iterator[tuple[str, Path]]:
    """(path inside ``root``, path) of every file in an output directory, but the embedded
    coordinator's own data (``coordinator/``: not logs, and its lock and identity are
    nobody else's to read); ``bundle`` and ``analyze`` both walk it this way."""
    if not root.is_dir():
        return
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = Path(dirpath).relative_to(root)
        if rel_dir == Path("."):
            dirnames[:] = [d for d in dirnames if d != "coordinator"]
        dirnames.sort()
        for name in sorted(filenames):
            yield (rel_dir / name).as_posix(), Path(dirpath) / name


def analyze(path: Path, workflow_id: int | None = None,
            progress: Callable[[int, int], object] | None = None) -> dict[str, Any]:
    """Scan a directory or a bundle (``.tar.gz``) for the workflow's logs; the report.
    ``progress(done, total)`` is told after each file (a long scan shows how far it is)."""
    tell = progress or (lambda done, total: None)
    if not path.exists():
        raise TorcError(f"{path}: no such file or directory")
    counts: Counter[str] = Counter()
    findings: list[Finding] = []
    scanned = 0
    if path.is_dir():
        files = [(rel, p) for rel, p in output_files(path) if is_log(rel)]
        found = sorted({w for rel, _ in files if (w := workflow_of(rel)) is not None})
        wf = _pick(path, found, workflow_id)
        mine = [(rel, p) for rel, p in files if workflow_of(rel) == wf]
        for rel, p in mine:
            scanned += 1
            try:
                with open(p, "rb") as f:
                    findings += scan_lines(rel, _text_lines(f), counts)
            except OSError:  # removed or unreadable meanwhile: the rest is still scanned
                pass
            tell(scanned, len(mine))
    else:
        try:
            archive = tarfile.open(path, "r:*")
        except (tarfile.TarError, OSError) as e:
            raise TorcError(f"{path}: not a directory or a log bundle (.tar.gz): {e}") from None
        with archive:
            members = [m for m in archive.getmembers() if m.isfile() and is_log(m.name)]
            found = sorted({w for m in members if (w := workflow_of(m.name)) is not None})
            wf = _pick(path, found, workflow_id)
            mine = [m for m in members if workflow_of(m.name) == wf]
            for m in mine:
                f = archive.extractfile(m)
                scanned += 1
                if f is not None:
                    findings += scan_lines(m.name, _text_lines(f), counts)
                tell(scanned, len(mine))
    # Files with the worst findings first; each file's lines in order.
    rank = {"critical": 0, "error": 1, "warning": 2}
    worst: dict[str, int] = {}
    for x in findings:
        worst[x.file] = min(worst.get(x.file, 2), rank[x.severity])
    findings.sort(key=lambda x: (worst[x.file], x.file, x.line))
    return {"path": str(path), "workflow_id": wf, "files_scanned": scanned,
            "files_with_errors": len({x.file for x in findings}),
            "error_counts": dict(counts.most_common()),
            "errors": [vars(x) for x in findings]}


def _pick(path: Path, found: list[int], asked: int | None) -> int:
    if asked is not None:
        if asked not in found:
            raise TorcError(f"{path}: no logs of workflow {asked}"
                            + (f" (it has logs of workflow(s) {', '.join(map(str, found))})"
                               if found else ""))
        return asked
    if not found:
        raise TorcError(f"{path}: no torc logs here (files named ..._wf<ID>_...)")
    if len(found) > 1:
        raise TorcError(f"{path} has logs of workflows {', '.join(map(str, found))}: give "
                        "--workflow-id")
    return found[0]
