"""The store's small records: a registered worker, an item of the event feed, and what
applying an event means outside the state (Effects)."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

FEED_LIMIT = 10_000
# The feed's items hold user text (workflow names, messages): a cap in bytes as well as in
# items keeps what a client can make the coordinator hold (and write into every snapshot)
# bounded whatever the text.
FEED_BYTES = 4 << 20


@dataclass(slots=True)
class Worker:
    """A registered worker process (one per node of an allocation, or a local one)."""

    id: int
    workflow_id: int
    hostname: str
    slurm_job_id: str
    node_name: str
    resources: dict[str, Any]
    pid: int
    start_time: float
    last_heartbeat: float
    active: bool = True
    lost: bool = False
    jobs: set[int] = field(default_factory=set)
    role: str = "worker"
    instance: str = ""  # random per worker process: a retried registration finds it
    scheduler: str = ""  # the Slurm scheduler that started it: it takes only jobs for it
    output_dir: str = ""  # where its jobs' stdio files are ("" from older coordinators)
    # The worker's last claim of jobs and of actions, so that a retried claim gets the same.
    last_claim: list = field(default_factory=lambda: [0, []])
    last_action_claim: list = field(default_factory=lambda: [0, []])


@dataclass(slots=True)
class FeedItem:
    """A notable workflow event for ``WatchEvents`` and ``torc events monitor``."""

    workflow_id: int
    timestamp: float
    kind: str
    message: str
    job_id: int = 0  # a job event's job (its global id), and the state it entered
    job_status: str = ""


class Feed:
    """The recent feed items, oldest first: at most ``max_items`` of them and ``max_bytes`` of
    their text; the oldest go first. A deleted workflow's items go with it."""

    def __init__(self, max_items: int = FEED_LIMIT, max_bytes: int = FEED_BYTES) -> None:
        self.max_items, self.max_bytes = max_items, max_bytes
        self._items: deque[FeedItem] = deque()
        self.bytes = 0

    @staticmethod
    def _cost(item: FeedItem) -> int:
        return len(item.message) + len(item.kind) + 32

    def append(self, item: FeedItem) -> None:
        """Add the newest item, dropping the oldest beyond either cap."""
        self._items.append(item)
        self.bytes += self._cost(item)
        while len(self._items) > self.max_items or self.bytes > self.max_bytes:
            self.bytes -= self._cost(self._items.popleft())

    def drop_workflow(self, wf_id: int) -> None:
        """Forget every item of workflow ``wf_id``."""
        self._items = deque(f for f in self._items if f.workflow_id != wf_id)
        self.bytes = sum(map(self._cost, self._items))

    def __iter__(self) -> Iterator[FeedItem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)


@dataclass(slots=True)
class ReportOutcome:
    """What applying a batch of reports decided: the rows rejected (why), and the hand-off
    starts accepted (the job is now the worker's) and refused (the worker must stop it)."""

    rejected: list[str] = field(default_factory=list)
    handed_off: list[int] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)


@dataclass(slots=True)
class Effects:
    """What applying an event means for the world outside the state: the service carries
    these out (wakes long-polling claimers, publishes feed items to subscribers)."""

    wake: set[int] = field(default_factory=set)
    feed: list[FeedItem] = field(default_factory=list)
    # Job events for watchers (live.py): published like the feed's, never kept.
    live: list[FeedItem] = field(default_factory=list)
    # Workflows deleted or canceled: their workers are told at once, on their heartbeat
    # streams, not at their next beat.
    stop: set[int] = field(default_factory=set)
