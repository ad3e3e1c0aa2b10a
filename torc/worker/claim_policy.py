"""What a worker asks the coordinator for: free resources now, and short jobs ahead.

Pure: :func:`offer` looks only at a :class:`ClaimState` snapshot of the worker, so its
arithmetic is tested without a coordinator (``tests/test_claim_policy.py``).
"""

from __future__ import annotations

from dataclasses import dataclass

from torc.proto import torc_pb2 as pb
from torc.worker.resources import Resources

# What a claim asks for: (free resources, max jobs, resources ahead, max ahead); a None part is
# not asked for, 0 jobs means no limit.
Ask = tuple[Resources | None, int, Resources | None, int]

# Jobs shorter than this (on average, recently) are worth claiming ahead: a worker then holds
# a few of them queued (status pending), so a finished job's slot refills at once
# instead of after a round trip. Longer jobs are never held back from other workers.
PREFETCH_BELOW_SECONDS = 1.0
AHEAD_SECONDS = 0.05  # a report interval and a round trip, with room to spare
# When nothing has left the queue for this long, what runs turned out long: the queued jobs
# go back to ready for other workers, and claiming ahead stops until jobs are short again.
QUEUE_PATIENCE_SECONDS = 2 * PREFETCH_BELOW_SECONDS
MAX_AHEAD = 1000
MAX_CLAIM_BATCH = 10_000  # the coordinator's limit too


@dataclass(frozen=True, slots=True)
class ClaimState:
    """What the policy needs to know about the worker."""

    total: Resources
    free: Resources
    max_parallel: int  # 0: limited by resources only
    running: int
    queued: int
    mean_seconds: float | None  # recent job duration, None when unknown
    stopping: bool = False
    actions_pending: bool = False
    finished: bool = False  # the workflow is done or canceled


def full(s: ClaimState) -> bool:
    """No slot or CPU is free."""
    if s.max_parallel and s.running >= s.max_parallel:
        return True
    return s.free.num_cpus <= 0


def prefetching(mean_seconds: float | None) -> bool:
    """Jobs are short enough to claim ahead."""
    return mean_seconds is not None and mean_seconds < PREFETCH_BELOW_SECONDS


def offer(s: ClaimState) -> Ask | None:
    """What to claim now, or None when nothing is to claim.

    Free resources first (unless jobs already wait in the queue, which take them next);
    when jobs are short, also jobs ahead: one load, or as many as the slots finish in
    AHEAD_SECONDS when that is more, so a queued job never waits long.
    """
    if s.stopping or s.actions_pending:
        return None
    if s.finished:
        # One last claim, once nothing runs, fetches the final flags (actions to run).
        return None if s.running or s.queued else (s.free, 0, None, 0)
    now: Resources | None = None
    max_now = 0
    if not s.queued and not full(s):
        now = s.free
        max_now = max(s.max_parallel - s.running, 0) if s.max_parallel else 0
    ahead: Resources | None = None
    max_ahead = 0
    if prefetching(s.mean_seconds):
        assert s.mean_seconds is not None
        load = s.max_parallel or max(s.total.num_cpus, 1)
        want = max(load, int(load * AHEAD_SECONDS / max(s.mean_seconds, 1e-4)))
        max_ahead = min(want, MAX_AHEAD) - s.queued
        if max_ahead > 0:
            ahead = s.total
    if now is None and ahead is None:
        return None
    return now, max_now, ahead, max_ahead


def request(ask: Ask, *, workflow_id: int, worker_id: int, claim_id: int, peek: bool,
            wait: float, num_nodes: int, time_left: float) -> pb.ClaimJobRequest:
    """The ClaimJob request for ``ask``."""
    now, max_now, ahead, max_ahead = ask

    def resources(r: Resources | None) -> pb.Resources | None:
        if r is None:
            return None
        return pb.Resources(num_cpus=max(r.num_cpus, 0), memory_bytes=max(r.memory, 0),
                            num_gpus=max(r.num_gpus, 0), num_nodes=num_nodes,
                            time_left_seconds=time_left)

    return pb.ClaimJobRequest(
        workflow_id=workflow_id, worker_id=worker_id, peek=peek, claim_id=claim_id,
        max_jobs=max_now or MAX_CLAIM_BATCH, wait_seconds=wait, available=resources(now),
        ahead=resources(ahead), max_ahead=max_ahead)
