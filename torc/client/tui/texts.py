"""The texts the TUI's viewer shows: a job's details, its logs (every attempt's stdout and
stderr, found where its worker wrote them), and a file (up to 1 MB; binary as a hex dump).
Blocking reads: the app runs them off its event loop."""

from __future__ import annotations

from pathlib import Path

from torc import states as S
from torc.client import output
from torc.client.reports import OutputDirs
from torc.client.stub import TorcClient
from torc.client.tails import Unreadable, read_tail
from torc.proto import torc_pb2 as pb

FILE_LIMIT = 1 << 20  # bytes a viewer shows (Torc's TUI: files up to 1 MB)


def read_text(path: Path, limit: int = FILE_LIMIT) -> str:
    """A file's text (the last ``limit`` bytes of a longer one), a hex dump of a binary one,
    or why it cannot be read."""
    try:
        got = read_tail(path, limit)
    except Unreadable as e:
        return f"({e}: {path})"
    data, size = got.data, got.size
    head = "" if size <= limit else f"(the last {limit} of {size} bytes)\n"
    if b"\0" in data[:8192]:
        lines = [f"{i:08x}  {data[i:i + 16].hex(' '):<47}  "
                 + "".join(chr(b) if 32 <= b < 127 else "." for b in data[i:i + 16])
                 for i in range(0, min(len(data), 64 * 1024), 16)]
        return head + "(binary: hex dump of the first 64 KiB)\n" + "\n".join(lines)
    return head + data.decode(errors="replace") if data else head + "(empty)"


def job_details(c: TorcClient, wf_id: int, job_id: int) -> str:
    """A job's fields and attempts."""
    jobs = c.list_jobs(wf_id, job_ids=[job_id])
    if not jobs:
        return f"workflow {wf_id} has no job {job_id}"
    d = output.job_dict(jobs[0], wf_id)
    lines = [f"{k:<32} {v}" for k, v in d.items() if v not in (None, "", [], {})]
    attempts = c.list_results(wf_id, job_id=job_id, all_runs=True)
    if attempts:
        lines += ["", "attempts:"]
        for r in attempts:
            rd = output.result_dict(r, wf_id)
            lines.append(f"  run {r.run_id} attempt {r.attempt_id}: {rd['status']} "
                         f"rc {r.return_code}, {rd['exec_seconds']} s"
                         + (f", peak {rd['peak_memory']}" if rd["peak_memory"] else "")
                         + (f", {r.message}" if r.message else ""))
    return "\n".join(lines)


def job_logs(c: TorcClient, wf_id: int, job_id: int, output_dir: Path | None
             ) -> list[tuple[str, str]]:
    """(name, text) pages: stdout and stderr of each attempt, the latest first."""
    jobs = c.list_jobs(wf_id, job_ids=[job_id])
    if not jobs:
        return [("error", f"workflow {wf_id} has no job {job_id}")]
    job = jobs[0]
    tried = list(c.list_results(wf_id, job_id=job_id, all_runs=True))
    refs = [pb.JobResult(job_id=job_id, run_id=r.run_id, attempt_id=r.attempt_id,
                         worker_id=r.worker_id) for r in tried]
    if job.status in S.ACTIVE and job.attempt_id:  # running now: its files grow
        refs.append(pb.JobResult(job_id=job_id, run_id=job.run_id, attempt_id=job.attempt_id,
                                 worker_id=job.worker_id))
    if not refs:
        return [("stdout", "(no log: the job has not run yet)")]
    dirs = OutputDirs(c.list_workers(wf_id), output_dir)
    pages = []
    for ref in reversed(refs):
        base = dirs.stdio(wf_id, ref)
        tag = f"r{ref.run_id}a{ref.attempt_id}" if len(refs) > 1 else ""
        for suffix, name in ((".o", "stdout"), (".e", "stderr")):
            path = base.with_suffix(suffix)
            pages.append((f"{name} {tag}".strip(), f"{path}\n\n{read_text(path)}"))
    return pages
