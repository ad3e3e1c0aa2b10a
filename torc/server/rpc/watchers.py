"""The coordinator's background tasks: declaring workers lost when their heartbeats stop,
and following the workflows' Slurm allocations with squeue.

Heartbeat times are state outside the log by design (a restart gives every worker a fresh
grace period); what the watchers decide (a worker lost, an allocation's new state) is an
event committed like any other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from torc import slurm
from torc.server.rpc.service_core import ServiceCore
from torc.server.state import events as E

# Asks Slurm for the state of some jobs (``torc.slurm.squeue``; injected for tests).
Squeue = Callable[[list[str]], dict[str, slurm.JobInfo]]

log = logging.getLogger(__name__)


async def watch_workers(service: ServiceCore) -> None:
    """Declare workers lost when their heartbeats stop (runs forever)."""
    while True:
        await asyncio.sleep(max(service.heartbeat_interval / 2, 0.05))
        now = time.time()
        for w in list(service.store.workers.values()):
            if w.active and not w.lost and now - w.last_heartbeat > service.lost_after:
                log.warning("worker %d missed heartbeats for %.1fs: lost", w.id,
                            now - w.last_heartbeat)
                service.commit_internal(E.WorkerLost(w.id, now))
        if service.wal.failed is not None:
            return  # the coordinator is stopping
        await service.wal.sync()


async def watch_allocations(service: ServiceCore, interval: float,
                            squeue: Squeue = slurm.squeue) -> None:
    """Follow the workflows' Slurm allocations with squeue (runs forever).

    Records state changes, and when an allocation has ended while its workers are still
    registered and silent (node failure, scancel, walltime), declares them lost at once
    instead of waiting for three missed heartbeats.
    """
    loop = asyncio.get_running_loop()
    warned = False
    while True:
        await asyncio.sleep(interval)
        store = service.store
        active = {(w.workflow_id, w.slurm_job_id) for w in store.workers.values()
                  if w.active and not w.lost and w.slurm_job_id}
        unsettled = [(wf.id, a) for wf in store.workflows.values() for a in wf.allocations
                     if a["state"] not in slurm.FINAL_STATES]
        if unsettled:
            try:
                info = await loop.run_in_executor(None, squeue,
                                                  [a["slurm_job_id"] for _, a in unsettled])
            except slurm.SlurmError as e:
                if not warned:
                    log.warning("cannot follow Slurm allocations: %s", e.message)
                    warned = True
                continue
            warned = False
            now = time.time()
            for wf_id, alloc in unsettled:
                state = info[alloc["slurm_job_id"]].state
                if state != alloc["state"] and wf_id in store.workflows:
                    service.commit_internal(E.AllocationState(wf_id, alloc["slurm_job_id"],
                                                                state, now))
        now = time.time()
        for wf in list(store.workflows.values()):
            for alloc in wf.allocations:
                if (alloc["state"] not in slurm.FINAL_STATES
                        or (wf.id, alloc["slurm_job_id"]) not in active):
                    continue
                for w in list(store.workers.values()):
                    if (w.active and not w.lost and w.workflow_id == wf.id
                            and w.slurm_job_id == alloc["slurm_job_id"]
                            and now - w.last_heartbeat > service.heartbeat_interval):
                        log.warning("Slurm job %s is %s; worker %d lost",
                                    alloc["slurm_job_id"], alloc["state"], w.id)
                        service.commit_internal(E.WorkerLost(w.id, now))
        if service.wal.failed is not None:
            return  # the coordinator is stopping
        await service.wal.sync()
