"""Token authentication: the coordinator's secret, where clients find it, and the interceptors.

The coordinator creates a random token on first start in ``~/.torc/token`` (mode 0600, in a 0700
directory). Home directories are shared across a cluster's nodes, so the same user's CLI and
workers read it from there with no set-up; ``TORC_TOKEN`` overrides, ``TORC_TOKEN_FILE`` moves the
file. Every call but the health check and reflection must carry ``authorization: Bearer <token>``.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import grpc

from torc.errors import TorcError

HEADER = "authorization"
PROTECTED_PREFIX = "/torc.v1.Torc/"
DENIED = "missing or wrong torc token (see ~/.torc/token or TORC_TOKEN)"


def default_token_file() -> Path:
    """``$TORC_TOKEN_FILE`` or ``~/.torc/token``."""
    return Path(os.environ.get("TORC_TOKEN_FILE") or Path.home() / ".torc" / "token")


def _read_token_file(path: Path) -> str:
    """The token in an existing file; TorcError when it is empty or others can read it."""
    mode = path.stat().st_mode & 0o777
    if mode & 0o077:
        raise TorcError(f"token file {path} can be read by others (mode {mode:04o}); run "
                        f"`chmod 600 {path}`")
    token = path.read_text().strip()
    if not token:
        raise TorcError(f"token file {path} is empty; delete it to have a new token made")
    return token


def ensure_token(path: Path) -> str:
    """Read the token at ``path``, creating it (owner-only) when absent.

    An empty token file would let every caller in, and one others can read gives the
    coordinator away: both refuse the start (TorcError) instead.
    """
    try:
        return _read_token_file(path)
    except FileNotFoundError:
        pass
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    token = secrets.token_urlsafe(32)
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(token + "\n")
    try:
        os.link(tmp, path)  # never replace a token another coordinator just wrote
    except FileExistsError:
        token = _read_token_file(path)
    finally:
        tmp.unlink()
    return token


def client_token() -> str | None:
    """The token a client sends: ``$TORC_TOKEN``, else the token file if readable."""
    token = os.environ.get("TORC_TOKEN")
    if token:
        return token.strip()
    try:
        return default_token_file().read_text().strip() or None
    except OSError:
        return None


def metadata(token: str | None) -> tuple[tuple[str, str], ...]:
    """Call metadata carrying ``token``."""
    return ((HEADER, f"Bearer {token}"),) if token else ()


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Rejects Torc calls without the right token with UNAUTHENTICATED (nothing runs).

    The decision is made on the call's metadata, before any request message is read: a denied
    call is answered by a handler that takes a request *stream* and never reads from it, so
    the body of an unauthenticated request (up to the message limit, hundreds of MiB) is
    never buffered or decoded.
    """

    def __init__(self, lookup: Callable[[str], Any]) -> None:
        """``lookup`` maps a token to an identity, or None for an unknown token."""
        self._lookup = lookup

        async def deny(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, DENIED)

        async def deny_stream(requests: Any, context: grpc.aio.ServicerContext) -> Any:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, DENIED)
            yield  # pragma: no cover - makes this an async generator

        self._deny = {
            False: grpc.stream_unary_rpc_method_handler(deny),
            True: grpc.stream_stream_rpc_method_handler(deny_stream),
        }

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails],
                               Awaitable[grpc.RpcMethodHandler | None]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler | None:
        details = handler_call_details
        if not details.method.startswith(PROTECTED_PREFIX):
            return await continuation(details)  # health and reflection stay open
        for key, value in details.invocation_metadata or ():
            if key == HEADER:
                text = value.decode(errors="replace") if isinstance(value, bytes) else value
                if text.startswith("Bearer ") and self._lookup(text[7:]) is not None:
                    return await continuation(details)
                break
        handler = await continuation(details)
        if handler is None:
            return None
        return self._deny[handler.response_streaming]


class _ClientMetadata(grpc.UnaryUnaryClientInterceptor, grpc.UnaryStreamClientInterceptor,
                      grpc.StreamUnaryClientInterceptor, grpc.StreamStreamClientInterceptor):
    """Adds the token to every call of a synchronous channel."""

    def __init__(self, extra: tuple[tuple[str, str], ...]) -> None:
        self._extra = extra

    def _details(self, d: Any) -> Any:
        md = list(d.metadata or ()) + list(self._extra)
        return _Details(d.method, d.timeout, md, d.credentials, d.wait_for_ready,
                        d.compression)

    def intercept_unary_unary(self, continuation: Any, client_call_details: Any,
                              request: Any) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_unary_stream(self, continuation: Any, client_call_details: Any,
                               request: Any) -> Any:
        return continuation(self._details(client_call_details), request)

    def intercept_stream_unary(self, continuation: Any, client_call_details: Any,
                               request_iterator: Any) -> Any:
        return continuation(self._details(client_call_details), request_iterator)

    def intercept_stream_stream(self, continuation: Any, client_call_details: Any,
                                request_iterator: Any) -> Any:
        return continuation(self._details(client_call_details), request_iterator)


class _Details(grpc.ClientCallDetails):
    def __init__(self, method: str, timeout: Any, metadata: Any, credentials: Any,
                 wait_for_ready: Any, compression: Any) -> None:
        self.method = method
        self.timeout = timeout
        self.metadata = metadata
        self.credentials = credentials
        self.wait_for_ready = wait_for_ready
        self.compression = compression


def with_token(channel: grpc.Channel, token: str | None) -> grpc.Channel:
    """A synchronous channel whose calls all carry ``token``."""
    if not token:
        return channel
    return grpc.intercept_channel(channel, _ClientMetadata(metadata(token)))


def tls_ca() -> bytes | None:
    """PEM of the CA (or self-signed certificate) clients trust, from ``$TORC_TLS_CA``."""
    path = os.environ.get("TORC_TLS_CA")
    return Path(path).read_bytes() if path else None


def sync_channel(url: str, options: list[tuple[str, Any]]) -> grpc.Channel:
    """A synchronous channel to ``url``: TLS when ``TORC_TLS_CA`` is set, with the token."""
    ca = tls_ca()
    if ca is not None:
        channel = grpc.secure_channel(url, grpc.ssl_channel_credentials(ca), options=options)
    else:
        channel = grpc.insecure_channel(url, options=options)
    return with_token(channel, client_token())


def aio_channel(url: str, options: list[tuple[str, Any]]) -> grpc.aio.Channel:
    """An asyncio channel to ``url`` (TLS as for sync_channel); callers add metadata()."""
    ca = tls_ca()
    if ca is not None:
        return grpc.aio.secure_channel(url, grpc.ssl_channel_credentials(ca), options=options)
    return grpc.aio.insecure_channel(url, options=options)
