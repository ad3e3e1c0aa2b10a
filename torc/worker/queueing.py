"""The worker's side of claimed jobs, mixed into WorkerRunner: jobs claimed ahead wait in a
queue (status pending) and start as room frees, and every start, end and release goes to the
coordinator through the reporter, with a claim for the freed room in the same round trip."""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from typing import TYPE_CHECKING, Any

from torc.proto import torc_pb2 as pb
from torc.worker.claim_policy import QUEUE_PATIENCE_SECONDS
from torc.worker.reporter import END_REPORT_DELAY
from torc.worker.resources import Resources

if TYPE_CHECKING:
    from torc.worker.execution import Outcome

log = logging.getLogger("torc.worker")

FINISHED = pb.FINISHED


class QueueAndReports:
    """Expects WorkerRunner's state (queue, running, reporter, conn...) on ``self``."""

    queue: deque[pb.ClaimedJob]
    running: dict[int, Any]

    def _admit(self, jobs: list[pb.ClaimedJob]) -> None:
        """Queue claimed jobs (in the coordinator's priority order) and start what fits."""
        if jobs and not self.queue:
            self._dequeued_at = time.monotonic()
        self.queue.extend(jobs)
        if self.canceled:
            self.queue.clear()
        elif self.stopping:
            self._release_queue()  # a claim that was in flight when the worker was stopped
        else:
            self._drain()

    def _drain(self) -> None:
        """Start queued jobs from the head while they fit; the head waits for room."""
        slots = self.o.max_parallel_jobs
        while self.queue and not self.stopping and not self.canceled:
            needs = Resources.of(self.queue[0])
            if (slots and len(self.running) >= slots) or not self._free().fits(needs):
                return
            self._start(self.queue.popleft(), needs)
            self._dequeued_at = time.monotonic()

    async def _queue_patience(self) -> None:
        while True:
            await asyncio.sleep(QUEUE_PATIENCE_SECONDS / 4)
            if self.queue and time.monotonic() - self._dequeued_at > QUEUE_PATIENCE_SECONDS:
                log.info("giving back %d queued job(s): the running ones are long",
                         len(self.queue))
                self._mean_seconds = None
                self._release_queue()

    def _release_queue(self) -> None:
        """Give back what was claimed ahead and will not run here: it becomes ready again."""
        while self.queue:
            cj = self.queue.popleft()
            self._disarm(cj.id)
            self._report(cj, pb.RELEASED, 0, 0, 0.0, 0.0)

    # ----- reports

    def _report(self, cj: pb.ClaimedJob, kind: int, rc: int, status: int, start: float,
                end: float, outcome: Outcome | None = None) -> None:
        report = outcome.report(cj, start, end) if outcome is not None else pb.JobReport(
            job_id=cj.id, kind=kind, run_id=cj.run_id, attempt_id=cj.attempt_id,
            return_code=rc, status=status, start_time=start, end_time=end)
        if kind == FINISHED and self.queue and not self.stopping:
            self.reporter.add(report, END_REPORT_DELAY)
        else:
            self.reporter.add(report)

    async def _send_reports(self, batch: list[pb.JobReport]) -> None:
        """Deliver one batch, with a claim for the freed resources in the same round trip
        (unless the main loop is claiming already: one claimer keeps the offers honest)."""
        claim = None
        offer = None if self._claiming else self._offer()
        if offer is not None:
            claim = self._claim_request(peek=False, wait=0.0, offer=offer)
            self._claiming = True
        try:
            resp = await self.conn.call("ReportStatus", pb.ReportStatusRequest(
                workflow_id=self.o.workflow_id, worker_id=self.worker_id, reports=batch,
                claim=claim))
        finally:
            if claim is not None:
                self._claiming = False
        self._admit(list(resp.jobs))
        self._hand_offs_answered(batch, resp)
        for reason in resp.rejected:
            log.warning("report rejected: %s", reason)
        if resp.workflow_done:
            self.workflow_done = True
        if resp.actions_pending:
            self.actions_pending = True
        self._changed.set()

    def _reports_failed(self, why: str) -> None:
        """The worker cannot account for its work: stop, and exit non-zero."""
        self.failure = self.failure or why
        self.terminate("coordinator error")

