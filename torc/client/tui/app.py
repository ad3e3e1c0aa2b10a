"""``torc tui``: a full-screen terminal interface to the coordinator, with Torc's panes and
keys, for a shell on a cluster's login node (over SSH: redraws are bounded, job tables come
a page at a time, events are pushed by the coordinator instead of polled).

Built on Textual: maintained, pure Python (nothing to compile on a cluster), rich text and
tables from the Rich library the CLI already uses, and a test pilot that drives the real
application headless, key by key. The app holds the connection and the event stream; the
main screen (:mod:`torc.client.tui.screen`) holds what shows.
"""

from __future__ import annotations

import argparse
import asyncio
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from textual.app import App

from torc.client.stub import ClientError, TorcClient
from torc.client.tui import rows
from torc.client.tui.screen import MainScreen
from torc.client.tui.server import Connection
from torc.errors import TorcError


class TorcTui(App[None]):
    """The application: a connection, a client, the selected workflow's event stream."""

    TITLE = "torc"

    def __init__(self, connection: Connection, output_dir: Path | None = None,
                 user: str | None = None) -> None:
        super().__init__()
        self.connection = connection
        self.output_dir = output_dir  # where workers wrote, when not where they said
        self.user = rows.me() if user is None else user
        self.all_users = False
        self.client = TorcClient(connection.url)
        self.client_ok = True
        self.streaming = False
        self._stream: Any = None
        self._stream_gen = 0

    def on_mount(self) -> None:
        self.push_screen(MainScreen())

    def connect(self, url: str) -> None:
        """Talk to the coordinator at ``url`` from now on (``u``)."""
        self.connection.url = url
        self.client.close()
        self.client = TorcClient(url)
        self.client_ok = True
        self._stop_stream()

    async def call(self, fn: Callable[..., Any], *args: Any) -> Any:
        """``fn(*args)`` off the event loop (a blocking call to the coordinator or a file);
        an error is shown and gives None."""
        try:
            result = await asyncio.to_thread(fn, *args)
            self.client_ok = True
            return result
        except ClientError as e:
            if "UNAVAILABLE" in str(e.code):
                self.client_ok = False
            self.notify(e.message, severity="error", timeout=8)
        except TorcError as e:
            self.notify(e.message, severity="error", timeout=8)
        except (OSError, ValueError) as e:
            self.notify(str(e), severity="error", timeout=8)
        return None

    # ----- the selected workflow's events, pushed by the coordinator

    def follow(self, wf_id: int, on_event: Callable[[Any], None]) -> None:
        """Stream ``wf_id``'s events (its history first, job events too) to ``on_event``,
        called on the app's loop; the stream of the workflow shown before ends."""
        self._stop_stream()
        self._stream_gen += 1
        gen = self._stream_gen
        stream = self.client.watch_events(wf_id, history=True, job_events=True)
        self._stream = stream

        def pump() -> None:
            self._set_streaming(gen, True)
            try:
                for ev in stream:
                    if gen != self._stream_gen:
                        return
                    self.call_from_thread(on_event, ev)
            except Exception:  # canceled (another workflow shown), or the coordinator left
                pass
            finally:
                self._set_streaming(gen, False)

        threading.Thread(target=pump, daemon=True, name=f"events-{wf_id}").start()

    def _set_streaming(self, gen: int, on: bool) -> None:
        # A flag the screen reads when it redraws (from the stream's thread: one store).
        if gen == self._stream_gen:
            self.streaming = on

    def _stop_stream(self) -> None:
        if self._stream is not None:
            self._stream.cancel()
            self._stream = None
        self.streaming = False

    async def action_quit(self) -> None:
        self._stop_stream()
        self.exit()


def run_tui(args: argparse.Namespace, url: str | None) -> int:
    """``torc tui [--standalone]``: run until ``q``."""
    from torc.config import DEFAULT_URL

    data_dir = Path(args.database or Path(args.output_dir) / "coordinator").resolve()
    connection = Connection(url or DEFAULT_URL, data_dir)
    if args.standalone:
        try:
            connection.start(args.port)
        except TorcError as e:
            print(f"error: {e.message}")
            return 1
    app = TorcTui(connection, Path(args.output_dir).resolve() if args.output_dir else None)
    if not connection.reachable():
        app.client_ok = False
    try:
        app.run()
    finally:
        app.client.close()
        connection.stop()
    return 0
