"""``torc watch --auto-schedule``: new Slurm allocations for ready jobs nobody will run.

Torc's rules (``docs/src/specialized/fault-tolerance/automatic-recovery.md``): when ready jobs
have no worker of their scheduler alive and no allocation of it pending or running (allocations
expired, were canceled, or a node failed), allocations for the jobs left are planned and
submitted at once, as ``torc slurm regenerate --submit`` does; while allocations exist, more
are submitted only for retries (ready jobs past their first attempt) once ``threshold`` of them
wait, or when fewer have waited ``stranded_timeout`` seconds, and never twice within
``cooldown`` seconds.

``decide`` is pure (what one look at the workflow calls for); ``AutoScheduler`` takes the looks
and submits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torc import slurm
from torc import states as S
from torc.client.stub import TorcClient
from torc.errors import TorcError


@dataclass(frozen=True)
class Options:
    """Torc's ``--auto-schedule-*`` flags (seconds), with Torc's defaults."""

    threshold: int = 5
    cooldown: float = 1800.0
    stranded_timeout: float = 7200.0


@dataclass(frozen=True)
class Look:
    """What one look at the workflow found."""

    ready: int
    retry_ready: int
    stranded: int  # ready jobs no live worker and no open allocation of theirs can run
    since_last: float  # seconds since the last submission (or since the watch began)


def decide(opts: Options, look: Look) -> str | None:
    """Why allocations should be submitted now, or None."""
    if look.ready == 0:
        return None
    if look.stranded:
        return (f"{look.stranded} ready job(s) that no worker or allocation left can run "
                f"({look.retry_ready} retries waiting)")
    if look.since_last < opts.cooldown or look.retry_ready == 0:
        return None
    if look.retry_ready >= opts.threshold:
        return f"{look.retry_ready} retry job(s) waiting (threshold {opts.threshold})"
    if opts.stranded_timeout > 0 and look.since_last >= opts.stranded_timeout:
        return (f"{look.retry_ready} retry job(s) stranded for {look.since_last:.0f}s "
                f"(timeout {opts.stranded_timeout:.0f}s)")
    return None


def can_run(scheduler: str, workers: list[str], allocations: list[tuple[str, bool]]) -> bool:
    """Whether a ready job of ``scheduler`` ("" for none) has someone to run it: a live
    worker of its scheduler or of none (those take any job), or an open allocation of its
    scheduler or submitted by hand or regenerated (``any``: its workers take any job)."""
    if not scheduler:
        return bool(workers) or bool(allocations)
    return any(w in ("", scheduler) for w in workers) or any(
        a == scheduler or any_job for a, any_job in allocations)


def look_at(c: TorcClient, wf_id: int, ready: int, since_last: float) -> Look:
    """Count what ``decide`` needs (the jobs only when some are ready)."""
    if not ready:
        return Look(0, 0, 0, since_last)
    jobs = c.list_jobs(wf_id, status="ready")
    workers = [w.scheduler for w in c.list_workers(wf_id)
               if w.role == "worker" and w.active and not w.lost]
    allocations = [(x.scheduler, x.action_id == 0) for x in c.list_allocations(wf_id)
                   if x.state not in slurm.FINAL_STATES]
    runnable = {s: can_run(s, workers, allocations) for s in {j.scheduler for j in jobs}}
    return Look(len(jobs), sum(1 for j in jobs if j.attempt_id > 1),
                sum(1 for j in jobs if not runnable[j.scheduler]), since_last)


class AutoScheduler:
    """Submits allocations for the watch when ``decide`` says so; remembers when it last did
    (or tried: a failed submission also waits out the cooldown rather than retrying at every
    look)."""

    def __init__(self, opts: Options, output_dir: Path, account: str | None = None,
                 profile: str | None = None) -> None:
        self.opts, self.output_dir = opts, output_dir
        self.account, self.profile = account, profile
        self.last = time.monotonic()
        self.failed_at: float | None = None

    def step(self, c: TorcClient, wf_id: int, counts: dict[str, int]) -> list[str]:
        """One look; the lines to tell the user (empty when nothing was done)."""
        now = time.monotonic()
        if self.failed_at is not None and now - self.failed_at < self.opts.cooldown:
            return []
        reason = decide(self.opts, look_at(c, wf_id, counts.get(S.name(S.READY), 0),
                                           now - self.last))
        if reason is None:
            return []
        lines = [f"auto-schedule: {reason}; submitting allocations"]
        try:
            rows = submit_for_jobs_left(c, wf_id, self.output_dir, self.account, self.profile)
        except TorcError as e:
            self.failed_at = now
            return [*lines, f"auto-schedule failed: {e}"]
        self.failed_at = None
        self.last = now
        submitted = [r["slurm_job_id"] for r in rows if r["slurm_job_id"]]
        return [*lines, "auto-schedule: submitted Slurm job(s) " + ", ".join(submitted)
                if submitted else "auto-schedule: nothing to submit (the jobs left are blocked)"]


def submit_for_jobs_left(c: TorcClient, wf_id: int, output_dir: Path, account: str | None,
                         profile: str | None) -> list[dict[str, Any]]:
    """``torc slurm regenerate ID --submit``: plan allocations for the jobs not done yet on
    the detected (or named) HPC profile and submit those whose jobs are ready."""
    from torc.client.allocations import regeneration_plan, submit_regenerated
    from torc.client.cli_slurm import regeneration_options
    prof, opts = regeneration_options(c, wf_id, profile, account)
    plan, ready = regeneration_plan(c, wf_id, prof, opts)
    return submit_regenerated(c, wf_id, plan, ready, output_dir.resolve())
