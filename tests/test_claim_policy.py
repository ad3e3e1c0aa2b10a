"""The worker's claim policy, pure: what it offers now and what it claims ahead."""

from __future__ import annotations

from torc.worker.claim_policy import MAX_AHEAD, ClaimState, offer
from torc.worker.resources import Resources

TOTAL = Resources(8, 16 << 30, 0)


def state(**kw: object) -> ClaimState:
    base = {"total": TOTAL, "free": TOTAL, "max_parallel": 0, "running": 0, "queued": 0,
            "mean_seconds": None}
    return ClaimState(**{**base, **kw})  # type: ignore[arg-type]


def test_an_idle_worker_offers_what_is_free_and_nothing_ahead() -> None:
    assert offer(state()) == (TOTAL, 0, None, 0)


def test_slots_limit_how_many_jobs_start_now() -> None:
    now, max_now, _, _ = offer(state(max_parallel=4, running=1)) or (None, 0, None, 0)
    assert now == TOTAL and max_now == 3


def test_a_full_worker_with_long_jobs_asks_for_nothing() -> None:
    assert offer(state(free=Resources(0, 1 << 30, 0), running=8, mean_seconds=30.0)) is None


def test_short_jobs_are_claimed_ahead_enough_for_the_slots_to_finish_in_50ms() -> None:
    # 8 slots, 2 ms jobs: 8 * 0.05 / 0.002 = 200 ahead, minus the 10 already queued.
    got = offer(state(free=Resources(0, 1 << 30, 0), running=8, queued=10, mean_seconds=0.002))
    assert got == (None, 0, TOTAL, 190)


def test_claiming_ahead_is_bounded() -> None:
    got = offer(state(mean_seconds=1e-9))
    assert got is not None and got[3] == MAX_AHEAD


def test_queued_jobs_take_free_resources_first() -> None:
    # Jobs wait in the queue: nothing is claimed "now" (they start next), only ahead.
    got = offer(state(queued=3, mean_seconds=0.5))
    assert got is not None and got[0] is None and got[2] == TOTAL


def test_stopping_pending_actions_and_finished_workflows() -> None:
    assert offer(state(stopping=True)) is None
    assert offer(state(actions_pending=True)) is None
    # Finished: one last claim once nothing runs, for the final flags.
    assert offer(state(finished=True, running=1)) is None
    assert offer(state(finished=True)) == (TOTAL, 0, None, 0)
