"""Running the dashboard: in the foreground (``torc dash``) or beside ``torc run --dash``."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import uvicorn

from torc import auth
from torc.client.dash.app import create_app
from torc.client.dash.security import Guard, is_loopback
from torc.client.stub import TorcClient
from torc.errors import TorcError


def build(url: str | None, host: str, output_dir: Path) -> tuple[uvicorn.Server, TorcClient]:
    """A server for the dashboard of the coordinator at ``url`` (not started)."""
    client = TorcClient(url)
    token = auth.client_token() or ""
    login = not is_loopback(host)
    if login and not token:
        raise TorcError("the dashboard is bound to a non-loopback address, so browsers log in "
                        "with your torc token, but there is none (TORC_TOKEN or ~/.torc/token)")
    app = create_app(client, Guard(token=token, login_required=login), output_dir)
    # Open event streams would hold a graceful shutdown for ever: give them a moment.
    config = uvicorn.Config(app, host=host, port=0, log_level="warning",
                            timeout_graceful_shutdown=2)
    return uvicorn.Server(config), client


def serve(url: str | None, host: str, port: int, output_dir: Path) -> None:
    """``torc dash``: serve until interrupted."""
    server, client = build(url, host, output_dir)
    server.config.port = port
    print(f"torc dash: http://{host}:{port}/  (coordinator {client.url}; Ctrl-C stops)",
          flush=True)
    try:
        server.run()
    finally:
        client.close()


def start(url: str, host: str, port: int, output_dir: Path) -> tuple[uvicorn.Server,
                                                                       threading.Thread]:
    """``torc run --dash``: the dashboard in a thread; stop it with ``server.should_exit``."""
    server, _ = build(url, host, output_dir)
    server.config.port = port
    thread = threading.Thread(target=server.run, daemon=True, name="torc-dash")
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:  # its address is printed once it listens
        if not thread.is_alive() or time.monotonic() > deadline:
            raise TorcError(f"the dashboard did not start on {host}:{port} (in use?)")
        time.sleep(0.02)
    return server, thread
