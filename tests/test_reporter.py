"""The worker's report batches: what goes to the coordinator, and in what order."""

from __future__ import annotations

import asyncio

from torc.proto import torc_pb2 as pb
from torc.worker.reporter import Reporter

LONG = 3600.0  # a delay that never runs out during a test: only an end sends the batch


def _report(job_id: int, kind: int, attempt: int = 1, after: int = 0) -> pb.JobReport:
    return pb.JobReport(job_id=job_id, kind=kind, run_id=1, attempt_id=attempt,
                        start_time=10.0 + job_id, end_time=20.0 if kind == pb.FINISHED else 0,
                        after_job_id=after)


def _batches(steps: list[tuple[pb.JobReport, float]]) -> list[list[tuple[int, int, int]]]:
    """Add the reports in order, wait until all are sent; the batches as (job, kind, after)."""
    sent: list[list[tuple[int, int, int]]] = []

    async def send(batch: list[pb.JobReport]) -> None:
        sent.append([(r.job_id, r.kind, r.after_job_id) for r in batch])

    async def scenario() -> None:
        reporter = Reporter(send, lambda why: None)
        task = asyncio.create_task(reporter.run())
        for report, delay in steps:
            reporter.add(report, delay)
        await reporter.flushed()
        task.cancel()

    asyncio.run(scenario())
    return sent


def test_a_job_that_ends_before_its_start_was_sent_is_reported_by_its_end_alone() -> None:
    S, F = pb.STARTED, pb.FINISHED
    sent = _batches([(_report(1, S), LONG), (_report(2, S), LONG),
                     (_report(1, F), 0.0),
                     (_report(3, S, after=1), 0.0)])  # a hand-off started by 1's end
    # Job 1's start is folded into its end (which carries the start time); job 2, still
    # running, keeps its start; the hand-off's start stays right behind its parent's end.
    assert sent == [[(2, S, 0), (1, F, 0), (3, S, 1)]]


def test_an_end_does_not_replace_a_start_already_sent_or_of_another_attempt() -> None:
    S, F = pb.STARTED, pb.FINISHED
    sent = _batches([(_report(1, S), 0.0)])
    assert sent == [[(1, S, 0)]]
    sent = _batches([(_report(1, S, attempt=1), LONG), (_report(1, F, attempt=2), 0.0)])
    assert sent == [[(1, S, 0), (1, F, 0)]]
