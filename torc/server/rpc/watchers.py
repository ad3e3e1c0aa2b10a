"""The coordinator's background tasks: declaring workers lost when their heartbeats stop,
and following the workflows' Slurm allocations with squeue; and the same check on demand
(``torc workflows sync-status``, the ``SyncStatus`` RPC).

Heartbeat times are state outside the log by design (a restart gives every worker a fresh
grace period); what the watchers decide (a worker lost, an allocation's new state) is an
event committed like any other.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from torc import slurm
from torc.server.rpc.service_core import ServiceCore
from torc.server.state import events as E
from torc.server.state.records import Worker
from torc.server.state.store import Store

# Asks Slurm for the state of some jobs (``torc.slurm.squeue``; injected for tests).
Squeue = Callable[[list[str]], dict[str, slurm.JobInfo]]

log = logging.getLogger(__name__)


@dataclass
class Settling:
    """What one look at Slurm calls for: allocations whose state changed, and workers whose
    allocation has ended (so they cannot be running anything)."""

    states: list[E.AllocationState] = field(default_factory=list)
    lost: list[Worker] = field(default_factory=list)


def unsettled(store: Store, wf_ids: Iterable[int]) -> list[tuple[int, dict]]:
    """The allocations squeue should be asked about: not yet in a final state."""
    return [(wf_id, a) for wf_id in wf_ids if wf_id in store.workflows
            for a in store.workflows[wf_id].allocations
            if a["state"] not in slurm.FINAL_STATES]


def settle(store: Store, wf_ids: Iterable[int], asked: list[tuple[int, dict]],
           info: dict[str, slurm.JobInfo], now: float, silent_for: float) -> Settling:
    """Decide from squeue's answer (pure): new allocation states, and the workers of ended
    allocations that have been silent ``silent_for`` seconds (0: whatever their heartbeat)."""
    out = Settling()
    ended: set[tuple[int, str]] = set()
    for wf_id, alloc in asked:
        state = info[alloc["slurm_job_id"]].state
        if state != alloc["state"]:
            out.states.append(E.AllocationState(wf_id, alloc["slurm_job_id"], state, now))
        if state in slurm.FINAL_STATES:
            ended.add((wf_id, alloc["slurm_job_id"]))
    for wf_id in wf_ids:
        wf = store.workflows.get(wf_id)
        for alloc in wf.allocations if wf is not None else ():
            if alloc["state"] in slurm.FINAL_STATES:
                ended.add((wf_id, alloc["slurm_job_id"]))
    for w in store.workers.values():
        if (w.active and not w.lost and w.slurm_job_id
                and (w.workflow_id, w.slurm_job_id) in ended
                and now - w.last_heartbeat >= silent_for):
            out.lost.append(w)
    return out


def carry_out(service: ServiceCore, found: Settling, now: float) -> None:
    for ev in found.states:
        service.commit_internal(ev)
    for w in found.lost:
        if w.active and not w.lost:  # an earlier event of this batch may have dropped it
            wf = service.store.workflows.get(w.workflow_id)
            state = next((a["state"] for a in (wf.allocations if wf else ())
                          if a["slurm_job_id"] == w.slurm_job_id), "ended")
            log.warning("Slurm job %s is %s; worker %d lost", w.slurm_job_id, state, w.id)
            service.commit_internal(E.WorkerLost(w.id, now))


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


async def ask_slurm(asked: list[tuple[int, dict]],
                    squeue: Squeue) -> dict[str, slurm.JobInfo]:
    """squeue about the allocations, off the event loop (raises slurm.SlurmError)."""
    if not asked:
        return {}
    return await asyncio.get_running_loop().run_in_executor(
        None, squeue, [a["slurm_job_id"] for _, a in asked])


async def watch_allocations(service: ServiceCore, interval: float,
                            squeue: Squeue = slurm.squeue) -> None:
    """Follow the workflows' Slurm allocations with squeue (runs forever).

    Records state changes, and when an allocation has ended while its workers are still
    registered and silent (node failure, scancel, walltime), declares them lost at once
    instead of waiting for three missed heartbeats.
    """
    warned = False
    while True:
        await asyncio.sleep(interval)
        wf_ids = list(service.store.workflows)
        asked = unsettled(service.store, wf_ids)
        try:
            info = await ask_slurm(asked, squeue)
        except slurm.SlurmError as e:
            if not warned:
                log.warning("cannot follow Slurm allocations: %s", e.message)
                warned = True
            continue
        warned = False
        now = time.time()
        asked = [(w, a) for w, a in asked if a["slurm_job_id"] in info]
        carry_out(service, settle(service.store, wf_ids, asked, info, now,
                                  service.heartbeat_interval), now)
        if service.wal.failed is not None:
            return  # the coordinator is stopping
        await service.wal.sync()


async def sync_workflow(service: ServiceCore, wf_id: int, dry_run: bool,
                        squeue: Squeue = slurm.squeue) -> Settling:
    """``torc workflows sync-status``: ask Slurm now about the workflow's allocations; record
    what changed and declare the workers of ended allocations lost whatever their heartbeat
    (their running jobs fail, their held ones go back), unless ``dry_run``. Raises
    slurm.SlurmError when Slurm cannot be asked."""
    asked = unsettled(service.store, [wf_id])
    info = await ask_slurm(asked, squeue)
    now = time.time()
    asked = [(w, a) for w, a in asked if a["slurm_job_id"] in info]
    found = settle(service.store, [wf_id], asked, info, now, 0.0)
    if not dry_run:
        carry_out(service, found, now)
    return found
