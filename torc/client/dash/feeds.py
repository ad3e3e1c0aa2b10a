"""Live updates for browsers: one ``WatchEvents`` stream per workflow on the dashboard side
(workflow 0: all of them), fanned out to every page watching it through Server-Sent Events.
Browsers never poll the coordinator; a thousand open pages cost the coordinator one stream."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from typing import Any

from torc.client.stub import TorcClient

log = logging.getLogger("torc.dash")
QUEUE_LIMIT = 1_000  # a page that stops reading loses its oldest events, never memory
FEED_LIVE = json.dumps({"kind": "feed_live"})  # the coordinator's stream is open
FEED_ENDED = json.dumps({"kind": "feed_ended"})  # it ended: pages reconnect


class Feed:
    """One workflow's stream and the pages subscribed to it."""

    def __init__(self, client: TorcClient, wf_id: int, loop: asyncio.AbstractEventLoop) -> None:
        self.client, self.wf_id, self.loop = client, wf_id, loop
        self.queues: set[asyncio.Queue[str]] = set()
        self.live = False  # the coordinator's stream is subscribed
        self.call: Any = None
        self.thread = threading.Thread(target=self._pump, daemon=True,
                                       name=f"feed-{wf_id}")
        self.thread.start()

    def _pump(self) -> None:
        try:
            # The history's end marker (no history asked) says the stream is subscribed:
            # pages then show Live, and know that nothing since is missed.
            self.call = self.client.watch_events(self.wf_id, mark_history_end=True,
                                                 job_events=True)
            for ev in self.call:
                if ev.history_end:
                    self.loop.call_soon_threadsafe(self._open)
                    continue
                data = json.dumps({"workflow_id": ev.workflow_id, "timestamp": ev.timestamp,
                                   "kind": ev.kind, "message": ev.message,
                                   "job_id": ev.job_id, "job_status": ev.job_status})
                self.loop.call_soon_threadsafe(self._publish, data)
        except Exception as e:  # the coordinator went away, or the feed was closed
            log.info("feed %d ended: %s", self.wf_id, e)
        self.loop.call_soon_threadsafe(self._end)

    def _open(self) -> None:
        self.live = True
        self._publish(FEED_LIVE)

    def _end(self) -> None:
        self.live = False
        self._publish(FEED_ENDED)

    def _publish(self, data: str) -> None:
        for q in list(self.queues):
            if q.full():
                q.get_nowait()
            q.put_nowait(data)

    def close(self) -> None:
        """Stop the stream (no page watches any more)."""
        if self.call is not None:
            self.call.cancel()


class Feeds:
    """Every open feed, by workflow id."""

    def __init__(self, client: TorcClient) -> None:
        self.client = client
        self.feeds: dict[int, Feed] = {}

    def subscribe(self, wf_id: int) -> asyncio.Queue[str]:
        """A queue of the workflow's events (JSON) from now on."""
        feed = self.feeds.get(wf_id)
        if feed is None or not feed.thread.is_alive():
            feed = self.feeds[wf_id] = Feed(self.client, wf_id, asyncio.get_running_loop())
        q: asyncio.Queue[str] = asyncio.Queue(QUEUE_LIMIT)
        feed.queues.add(q)
        if feed.live:
            q.put_nowait(FEED_LIVE)
        return q

    def unsubscribe(self, wf_id: int, q: asyncio.Queue[str]) -> None:
        """A page left; the last one closes the stream."""
        feed = self.feeds.get(wf_id)
        if feed is None or q not in feed.queues:
            return  # a page of a feed that ended (and was replaced): nothing to close
        feed.queues.discard(q)
        if not feed.queues:
            feed.close()
            del self.feeds[wf_id]

    def close(self) -> None:
        """Stop every stream."""
        for feed in self.feeds.values():
            feed.close()
        self.feeds.clear()
