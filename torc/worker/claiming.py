"""The worker's claims, mixed into WorkerRunner: what it offers (claim_policy), the long
poll that waits for work or for the workflow to be initialized, and the idle check that
decides whether leaving would strand a job."""

from __future__ import annotations

import asyncio
from collections import deque
from typing import Any

from torc.proto import torc_pb2 as pb
from torc.worker import claim_policy
from torc.worker.claim_policy import Ask, ClaimState
from torc.worker.resources import Resources, time_left


class Claiming:
    """Expects WorkerRunner's state (options, conn, queue, running, flags...) on ``self``."""

    queue: deque[pb.ClaimedJob]
    running: dict[int, Any]

    def _free(self) -> Resources:
        return self.o.resources - self.used

    def _offer(self) -> Ask | None:
        """What to claim now (see claim_policy.offer), or None."""
        return claim_policy.offer(ClaimState(
            total=self.o.resources, free=self._free(), max_parallel=self.o.max_parallel_jobs,
            running=len(self.running), queued=len(self.queue), mean_seconds=self._mean_seconds,
            stopping=self.stopping, actions_pending=self.actions_pending,
            finished=self.workflow_done or self.canceled))

    def _claim_request(self, peek: bool, wait: float,
                       offer: Ask | None = None) -> pb.ClaimJobRequest:
        self._claim_seq += 1
        p = self.o.placement
        return claim_policy.request(
            offer or (self._free(), 0, None, 0), workflow_id=self.o.workflow_id,
            worker_id=self.worker_id, claim_id=self._claim_seq, peek=peek, wait=wait,
            num_nodes=p.num_nodes, time_left=time_left(p.end_time, self.settings.end_buffer))

    async def _claim(self, peek: bool = False,
                     offer: Ask | None = None) -> pb.ClaimJobResponse | None:
        """Long-poll a claim; returns None when the worker was stopped meanwhile."""
        # A worker with jobs queued must not sit in a long poll: it claims ahead only.
        wait = 0.0 if self.queue else self.o.claim_wait
        req = self._claim_request(peek, wait, offer)
        self._claiming = True
        try:
            claim = asyncio.ensure_future(self.conn.call("ClaimJob", req,
                                                         timeout=self.o.claim_wait + 30))
            stop = asyncio.ensure_future(self._stop_event.wait())
            await asyncio.wait({claim, stop}, return_when=asyncio.FIRST_COMPLETED)
            stop.cancel()
            if not claim.done():
                claim.cancel()
                return None
        finally:
            self._claiming = False
        resp: pb.ClaimJobResponse = claim.result()
        self.workflow_done = resp.workflow_done
        self.actions_pending = resp.actions_pending
        if resp.canceled and not self.canceled:
            self.canceled = True
            self._kill_all(pb.CANCELED)
        return resp

    async def _could_run_more(self) -> bool:
        """Whether a job not yet done would fit this worker (so leaving would strand it);
        Torc's idle rule, without giving up an allocation that still has work coming."""
        req = self._claim_request(peek=True, wait=0.0,
                                  offer=(self.o.resources, 0, None, 0))
        req.count_fitting = True
        resp = await self.conn.call("ClaimJob", req)
        return resp.fitting_jobs > 0 and not (resp.workflow_done or resp.canceled)

    async def _wait_initialized(self) -> bool:
        while not self.stopping:
            resp = await self._claim(peek=True)
            if resp is None:
                continue
            if resp.initialized:
                return True
            if resp.workflow_done:
                self.workflow_done = True
                return False
        return False
