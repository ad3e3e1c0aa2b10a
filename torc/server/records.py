"""The store's small records: a registered worker, an item of the event feed, and what
applying an event means outside the state (Effects)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


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


@dataclass(slots=True)
class Effects:
    """What applying an event means for the world outside the state: the service carries
    these out (wakes long-polling claimers, publishes feed items to subscribers)."""

    wake: set[int] = field(default_factory=set)
    feed: list[FeedItem] = field(default_factory=list)
