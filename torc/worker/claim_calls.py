"""The worker's claims on the wire: the ClaimJob requests for what the state asks
(``claim_policy``), the long poll that a stop cuts short, and the idle question (would a job
not yet done fit here?)."""

from __future__ import annotations

import asyncio
import itertools

from torc.proto import torc_pb2 as pb
from torc.worker import claim_policy
from torc.worker.claim_policy import Ask
from torc.worker.connection import Connection
from torc.worker.resources import Resources, time_left
from torc.worker.worker_options import WorkerOptions, WorkflowSettings


class Claims:
    """One registered worker's ClaimJob calls."""

    def __init__(self, conn: Connection, options: WorkerOptions, worker_id: int,
                 settings: WorkflowSettings, sequence: itertools.count) -> None:
        self.conn = conn
        self.o = options
        self.worker_id = worker_id
        self.settings = settings
        self._sequence = sequence  # claim ids, shared with action claims

    def request(self, ask: Ask | None, free: Resources, *, peek: bool,
                wait: float) -> pb.ClaimJobRequest:
        """The ClaimJob request for ``ask`` (None: whatever is ``free`` now)."""
        p = self.o.placement
        return claim_policy.request(
            ask or (free, 0, None, 0), workflow_id=self.o.workflow_id,
            worker_id=self.worker_id, claim_id=next(self._sequence), peek=peek, wait=wait,
            num_nodes=p.num_nodes, time_left=time_left(p.end_time, self.settings.end_buffer))

    async def long_poll(self, req: pb.ClaimJobRequest,
                        stopped: asyncio.Event) -> pb.ClaimJobResponse | None:
        """Claim, waiting up to the request's wait for work; None when stopped meanwhile."""
        claim = asyncio.ensure_future(self.conn.call("ClaimJob", req,
                                                     timeout=self.o.claim_wait + 30))
        stop = asyncio.ensure_future(stopped.wait())
        await asyncio.wait({claim, stop}, return_when=asyncio.FIRST_COMPLETED)
        stop.cancel()
        if not claim.done():
            claim.cancel()
            return None
        return claim.result()

    async def could_run_more(self) -> bool:
        """Whether a job not yet done would fit this worker (so leaving would strand it);
        Torc's idle rule, without giving up an allocation that still has work coming."""
        req = self.request((self.o.resources, 0, None, 0), self.o.resources, peek=True,
                           wait=0.0)
        req.count_fitting = True
        resp = await self.conn.call("ClaimJob", req)
        return resp.fitting_jobs > 0 and not (resp.workflow_done or resp.canceled)
