"""What every RPC of the service shares: the commit path, durability, and who may do what.

Every mutating call goes through :meth:`ServiceCore.commit`: apply the event to the store
(which validates it first), append it to the WAL, wait for the group commit, answer. Reads wait
for the WAL too, so nobody is shown a state that a crash could take back. The RPC groups
(``service_*.py``) are given this core; none of them holds state of its own.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import grpc

from torc import auth
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb
from torc.server.persistence.wal import Wal, encode_payload
from torc.server.rpc import global_ids
from torc.server.rpc.replies import abort
from torc.server.state import access, event_codec
from torc.server.state import events as E
from torc.server.state.access import PermissionDenied
from torc.server.state.identity import Identities, Identity
from torc.server.state.records import Effects, FeedItem
from torc.server.state.store import Store
from torc.server.state.workflow import Workflow

log = logging.getLogger("torc.server.rpc.service")


class ServiceCore:
    """One Store and one Wal, and the helpers every RPC uses."""

    def __init__(self, store: Store, wal: Wal, identities: Identities,
                 heartbeat_interval: float = 5.0, lost_after_intervals: float = 3.0,
                 snapshot_every: int = 200_000) -> None:
        self.store = store
        self.wal = wal
        self.identities = identities
        self.heartbeat_interval = heartbeat_interval
        self.lost_after = heartbeat_interval * lost_after_intervals
        self.snapshot_every = snapshot_every
        # Claims long-polling on a workflow, as futures resolved by wake(): the claim's task
        # runs in the very next loop turn (an Event under wait_for takes three).
        self.claim_waiters: dict[int, list[asyncio.Future[bool]]] = {}
        # Heartbeat streams waiting to hear that their workflow was deleted or canceled.
        self.stop_waiters: dict[int, list[asyncio.Future[bool]]] = {}
        self.subscribers: list[Subscriber] = []
        self._snapshotting = False
        # Set by the server: takes a snapshot (the WAL's records since the last one are many).
        self.snapshot_hook: Callable[[], Awaitable[None]] | None = None
        self.coordinator_id = ""  # its data directory's identity (lock.identity), for workers

    # ----- commit path

    def apply_and_log(self, event: E.Event) -> tuple[Any, int]:
        """Encode, apply, append: in that order, so that an event that cannot be logged (too
        large, too deep) or arrives after the log failed changes nothing; then carry out
        what applying it means (Effects)."""
        payload = encode_payload(event_codec.to_json(event), event.PLAIN, event.PLAIN_FIELDS)
        self.wal.check_writable()
        if isinstance(event, (E.CreateWorkflow, E.AddToWorkflow)):
            # A new workflow (or what is added to one) is built from its own log record, as
            # a replay builds it: the same objects whether live or restarted, and allocated
            # apart from the request's parse, whose memory is then freed whole (a million
            # jobs take a third less resident memory).
            event = event_codec.from_json(json.loads(payload))
        result, effects = self.store.apply(event)
        # Effects first: claims this event wakes are then scheduled before the log's flusher,
        # so what they claim joins this record's write and fsync instead of the next one
        # (a chain's report and its dependent's claim share one fsync).
        self._carry_out(effects)
        seq = self.wal.append(payload)
        if effects.live:  # a job's own events before what they led to (a workflow complete)
            self.publish(effects.live, seq, jobs=True)
        self.publish(effects.feed, seq)
        return result, seq

    async def commit(self, event: E.Event, context: grpc.aio.ServicerContext,
                      durable: bool = True) -> Any:
        """Apply and log ``event``; wait until it is durable unless ``durable`` is false, when
        the caller answers only after a later sync (a report and the claim riding with it
        share one fsync)."""
        try:
            wf_id = getattr(event, "workflow_id", None)
            if wf_id is not None and not isinstance(event, (E.CreateWorkflow, E.ImportWorkflow)):
                self.writable(context, wf_id)  # only its owner or an admin changes it
            result, seq = self.apply_and_log(event)
            if durable:
                await self.wal.sync(seq)
        except TorcError as e:
            await abort(context, e)
        return result

    def _carry_out(self, effects: Effects) -> None:
        for wf_id in effects.wake:
            self.wake(wf_id)
        for wf_id in effects.stop:
            for fut in self.stop_waiters.pop(wf_id, ()):
                if not fut.done():
                    fut.set_result(True)
        if (self.snapshot_hook is not None and not self._snapshotting
                and self.wal.records_since_snapshot >= self.snapshot_every):
            self._snapshotting = True
            asyncio.get_running_loop().create_task(self._snapshot())

    async def _snapshot(self) -> None:
        assert self.snapshot_hook is not None  # only scheduled when there is one
        try:
            await self.snapshot_hook()
        except Exception:
            log.exception("snapshot failed")
        finally:
            self._snapshotting = False

    def wake(self, wf_id: int) -> None:
        """Wake claimers long-polling on ``wf_id``."""
        for fut in self.claim_waiters.pop(wf_id, ()):
            if not fut.done():
                fut.set_result(True)

    def subscribe(self, sub: Subscriber) -> None:
        """A stream now receives what is published; job events are made while a stream
        that asked for them is open."""
        self.subscribers.append(sub)
        self._watch_jobs()

    def unsubscribe(self, sub: Subscriber) -> None:
        """The stream ended."""
        self.subscribers.remove(sub)
        self._watch_jobs()

    def _watch_jobs(self) -> None:
        self.store.job_watch.set(any(s.jobs for s in self.subscribers),
                                 self.store.workflows.values())

    def publish(self, items: list[FeedItem], seq: int, jobs: bool = False) -> None:
        """Queue feed items (``jobs``: job events) for the subscribers who may see them
        (and asked for them), with the sequence number of the record that holds them: a
        stream sends an item only once that is durable."""
        if not self.subscribers:
            return
        now = time.time()
        for item in items:
            msg = event_message(item, now)
            for sub in self.subscribers:
                if ((not jobs or sub.jobs) and sub.wf_id in (0, item.workflow_id)
                        and sub.queue.qsize() < QUEUE_LIMIT and self.may_see(sub.who, item)):
                    sub.queue.put_nowait((seq, msg))

    async def durable(self, context: grpc.aio.ServicerContext,
                       seq: int | None = None) -> None:
        """Wait until record ``seq`` (default: everything applied so far) is on disk (a failed
        log aborts the call)."""
        try:
            await self.wal.sync(seq)
        except TorcError as e:
            await abort(context, e)

    # ----- who may do what

    def caller(self, context: grpc.aio.ServicerContext) -> Identity | None:
        """Who the call's token stands for now (None: no token, or one that stands for
        nobody)."""
        for key, value in context.invocation_metadata() or ():
            if key == auth.HEADER:
                return self.identities.lookup(str(value).removeprefix("Bearer "))
        return None

    def who(self, context: grpc.aio.ServicerContext) -> Identity:
        """The caller, from its token (the interceptor let only known tokens in)."""
        found = self.caller(context)
        if found is None:
            raise PermissionDenied("no identity for this call")
        return found

    def readable(self, context: grpc.aio.ServicerContext, wf_id: int,
                  who: Identity | None = None) -> Workflow:
        wf = self.store.workflow(wf_id)
        if not access.can_read(who or self.who(context), wf.user, wf.id,
                               self.identities.multi_user, self.store.groups):
            # Not who owns it: the caller may not know even that.
            raise PermissionDenied(f"workflow {wf_id} belongs to another user, who has not "
                                   "shared it with you (torc access-groups)")
        return wf

    def writable(self, context: grpc.aio.ServicerContext, wf_id: int) -> Workflow:
        who = self.who(context)
        wf = self.readable(context, wf_id, who)
        access.check_write(who, wf.user, wf.id, self.identities.multi_user)
        return wf

    def may_see(self, who: Identity, item: FeedItem) -> bool:
        """Whether ``who`` may see a feed item (of its workflow, or of a deleted one)."""
        return self.may_see_workflow(who, item.workflow_id)

    def may_see_workflow(self, who: Identity, wf_id: int) -> bool:
        """Whether ``who`` may read workflow ``wf_id``'s events."""
        if not self.identities.multi_user:
            return True
        wf = self.store.workflows.get(wf_id)
        if wf is None:  # deleted: only admins saw who had it
            return who.admin
        return access.can_read(who, wf.user, wf.id, True, self.store.groups)

    async def local(self, context: grpc.aio.ServicerContext, wf_id: int, kind: str,
                     ids: tuple[int, ...]) -> tuple[int, ...]:
        """Global ids a request names, as the workflow's own numbers for its event (NotFound
        ends the call); unchanged when there is no such workflow, which the event refuses."""
        wf = self.store.workflows.get(wf_id)
        if wf is None or not ids:
            return ids
        try:
            return global_ids.local_many(wf, kind, ids)
        except TorcError as e:
            await abort(context, e)

    async def read(self, context: grpc.aio.ServicerContext, wf_id: int) -> Workflow:
        """The workflow, if the caller may read it, once what was applied is durable."""
        await self.durable(context)
        try:
            return self.readable(context, wf_id)
        except TorcError as e:
            await abort(context, e)

    async def owner(self, context: grpc.aio.ServicerContext, spec: dict[str, Any],
                     refusal: Callable[[str, str], str]) -> str:
        """Who a new workflow (created or imported) belongs to: the spec's ``user``, else the
        caller; on a coordinator with several users only an admin may name someone else
        (``refusal(user, caller)`` says why not)."""
        who = self.who(context)
        user = spec.get("user") or who.name
        if self.identities.multi_user and user != who.name and not who.admin:
            await abort(context, PermissionDenied(refusal(user, who.name)))
        return user

    # ----- internal events

    def commit_internal(self, event: E.Event) -> bool:
        """Apply and log an event the coordinator itself decided (no caller waits on it)."""
        try:
            self.apply_and_log(event)
        except TorcError as e:
            log.debug("internal event %s not applied: %s", event.KIND, e.message)
            return False
        return True


QUEUE_LIMIT = 10_000  # a stream's unsent events; past it, a slow reader misses new ones


@dataclass(slots=True, eq=False)
class Subscriber:
    """An open ``WatchEvents`` stream: its workflow (0: all), the queue of (record sequence
    number, message) it sends from, who opened it, and whether it asked for job events."""

    wf_id: int
    queue: asyncio.Queue[tuple[int, pb.WorkflowEvent]]
    who: Identity
    jobs: bool


def event_message(item: FeedItem, now: float) -> pb.WorkflowEvent:
    """The message of a feed item; a job event of an event without a time (a report, a
    claim) is stamped ``now``, when it is published."""
    return pb.WorkflowEvent(workflow_id=item.workflow_id, timestamp=item.timestamp or now,
                            kind=item.kind, message=item.message, job_id=item.job_id,
                            job_status=item.job_status)
