"""Who may use the dashboard. Every browser needs a session: opening the launch URL that
``torc dash`` prints (its ``?token=`` is a secret made for this process, as Jupyter's is)
gives one, and so does the login form with the user's torc token; a session is an HTTP-only,
same-site cookie. Requests naming a host other than the dashboard's own are refused (a DNS
rebinding page would otherwise be served as if it were the dashboard). Controls (POST) are
refused unless they come from the dashboard's own pages: an Origin, when sent, must be the
dashboard's own address (never compared with the request's Host, which the sender chooses),
and the request must carry the page's CSRF token in a header, which another site can neither
read nor set."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
import socket
import urllib.parse
from dataclasses import dataclass, field

COOKIE = "torc_dash_session"
CSRF_HEADER = "x-torc-csrf"
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "::1")
# Addresses that mean "every address of this machine" when bound; never a Host to answer to.
WILDCARDS = ("0.0.0.0", "::", "")


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the dashboard to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def allowed_hosts(bound: str) -> list[str]:
    """The names a request may give in its Host header: the address the dashboard listens
    on and the loopback names; bound beyond loopback, also this machine's names (and, bound
    to every address, its addresses)."""
    names = {bound, *LOOPBACK_NAMES}
    if not is_loopback(bound):
        names |= {socket.gethostname(), socket.getfqdn()}
        if bound in WILDCARDS:
            try:
                names |= {str(info[4][0]) for info in socket.getaddrinfo(
                    socket.gethostname(), None)}
            except OSError:
                pass
    return sorted(n for n in names if n not in WILDCARDS)


@dataclass
class Guard:
    """Sessions, the launch secret and the CSRF token of one dashboard process."""

    token: str  # the user's torc token (the dashboard's own, as the CLI reads it)
    hosts: list[str] = field(default_factory=lambda: list(LOOPBACK_NAMES))
    secret: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sessions: set[str] = field(default_factory=set)

    def login(self, offered: str) -> str | None:
        """A new session id when ``offered`` is the launch secret or the user's token."""
        good = [s for s in (self.secret, self.token) if s]
        if not any(hmac.compare_digest(offered.encode(), s.encode()) for s in good):
            return None
        session = secrets.token_urlsafe(32)
        self.sessions.add(session)
        return session

    def allowed(self, cookie: str | None) -> bool:
        """May this browser see the dashboard?"""
        return cookie is not None and cookie in self.sessions

    def control_allowed(self, cookie: str | None, csrf: str | None, origin: str | None,
                        port: int | None) -> str:
        """Why a control request is refused ("" when it is not); ``port`` is the one the
        dashboard listens on."""
        if not self.allowed(cookie):
            return "log in first"
        if origin is not None and not self.own_origin(origin, port):
            return "cross-site request refused"
        if csrf is None or not hmac.compare_digest(csrf.encode(), self.csrf.encode()):
            return "missing or wrong CSRF token: use the dashboard's own page"
        return ""

    def own_origin(self, origin: str, port: int | None) -> bool:
        """Whether ``origin`` is this dashboard: http, one of its names, its port."""
        try:
            parts = urllib.parse.urlsplit(origin)
            return (parts.scheme == "http" and parts.hostname in self.hosts
                    and (parts.port or 80) == port)
        except ValueError:
            return False
