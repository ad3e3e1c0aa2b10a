"""Running the dashboard: in the foreground (``torc dash``) or beside ``torc run --dash``."""

from __future__ import annotations

import signal
import socket
import threading
import time
from pathlib import Path

import uvicorn

from torc import auth
from torc.client.dash.app import create_app
from torc.client.dash.security import WILDCARDS, Guard, allowed_hosts, is_loopback
from torc.client.stub import TorcClient
from torc.errors import TorcError


def build(url: str | None, host: str,
          output_dir: Path | None) -> tuple[uvicorn.Server, TorcClient, Guard]:
    """A server for the dashboard of the coordinator at ``url`` (not started)."""
    client = TorcClient(url)
    token = auth.client_token() or ""
    if not is_loopback(host) and not token:
        raise TorcError("the dashboard is bound to a non-loopback address, so browsers log in "
                        "with your torc token, but there is none (TORC_TOKEN or ~/.torc/token)")
    guard = Guard(token=token, hosts=allowed_hosts(host))
    app = create_app(client, guard, output_dir)
    # Open event streams would hold a graceful shutdown for ever: give them a moment.
    config = uvicorn.Config(app, host=host, port=0, log_level="warning",
                            timeout_graceful_shutdown=2)
    return uvicorn.Server(config), client, guard


def launch_url(host: str, port: int, guard: Guard, path: str = "/") -> str:
    """The address to open: it carries the launch secret, which the dashboard exchanges for
    a session cookie (and then drops from the address bar)."""
    shown = host if host not in WILDCARDS else socket.gethostname()
    if ":" in shown:
        shown = f"[{shown}]"
    return f"http://{shown}:{port}{path}?token={guard.secret}"


def serve(url: str | None, host: str, port: int, output_dir: Path | None) -> None:
    """``torc dash``: serve until interrupted."""
    server, client, guard = build(url, host, output_dir)
    server.config.port = port
    print(f"torc dash: {launch_url(host, port, guard)}  (coordinator {client.url}; open "
          "this address: it logs you in; Ctrl-C stops)", flush=True)
    # uvicorn re-raises a SIGTERM it caught once it has shut down: with the default action
    # that kills the process before the caller's cleanup (a --standalone coordinator would
    # be left running). As an exception, the cleanup runs.
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        server.run()
    finally:
        client.close()


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(0)  # asked to stop, and stopped cleanly


def start(url: str, host: str, port: int, output_dir: Path | None,
          path: str = "/") -> tuple[uvicorn.Server, str]:
    """``torc run --dash``: the dashboard in a thread, and its launch URL for ``path``; stop
    it with ``server.should_exit``."""
    server, _, guard = build(url, host, output_dir)
    server.config.port = port
    thread = threading.Thread(target=server.run, daemon=True, name="torc-dash")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # its address is printed once it listens
        if not thread.is_alive() or time.monotonic() > deadline:
            raise TorcError(f"the dashboard did not start on {host}:{port} (in use?)")
        time.sleep(0.02)
    return server, launch_url(host, port, guard, path)
