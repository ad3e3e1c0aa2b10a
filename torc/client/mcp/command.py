"""``torc mcp`` and Torc's ``torc-mcp-server`` (its flags and environment variables)."""

from __future__ import annotations

import argparse
import os
from typing import Any

from torc.arguments import PORT
from torc.options import DEFAULT_OUTPUT_DIR

DEFAULT_PORT = 8765


def serve(url: str, a: argparse.Namespace) -> int:
    """Serve until the client goes (stdio) or the process is stopped (http)."""
    from torc.client.mcp import server, tools
    target = tools.Target(url=url, output_dir=a.output_dir)
    if a.transport == "stdio":
        server.serve_stdio(target)
    else:
        server.serve_http(target, a.host, a.port)
    return 0


def add_serving_arguments(s: argparse.ArgumentParser) -> None:
    s.add_argument("--transport", choices=["stdio", "http"], default="stdio",
                   help="stdio (an assistant starts this command) or streamable HTTP on "
                        "loopback (default: %(default)s)")
    s.add_argument("--host", default="127.0.0.1", help="http: loopback address")
    s.add_argument("--port", type=PORT, default=DEFAULT_PORT,
                   help="http: port (default: %(default)s); the endpoint is /mcp")
    s.add_argument("-o", "--output-dir", default=os.environ.get("TORC_OUTPUT_DIR",
                                                                DEFAULT_OUTPUT_DIR),
                   help="where workers write logs, for the log tools (default: $TORC_OUTPUT_DIR "
                        "or %(default)s)")


def add_command(sub: Any) -> None:
    """``torc mcp``."""
    s = sub.add_parser("mcp", help="MCP server (Torc's 16 tools) for AI assistants")
    add_serving_arguments(s)
    s.set_defaults(func=None)


def main(argv: list[str] | None = None) -> None:
    """``torc-mcp-server``: Torc's name; ``--url``/``--api-url`` or ``TORC_API_URL`` /
    ``TORC_URL``."""
    import sys

    from torc.config import default_url
    from torc.errors import TorcError
    p = argparse.ArgumentParser(prog="torc-mcp-server",
                                description="MCP server for torc-py (Torc's tools)")
    p.add_argument("--url", "--api-url", dest="url",
                   default=os.environ.get("TORC_API_URL") or None,
                   help="coordinator host:port (default: $TORC_API_URL, $TORC_URL, config)")
    add_serving_arguments(p)
    a = p.parse_args(argv)
    url = a.url or default_url()
    if "://" in url:  # a Torc REST URL in an old config: say what to give instead
        p.error(f"--url {url}: torc-py's coordinator speaks gRPC at HOST:PORT "
                "(torc-coord serve prints it)")
    try:
        sys.exit(serve(url, a))
    except TorcError as e:
        print(f"error: {e.message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
