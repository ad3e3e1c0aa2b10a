"""Who may use the dashboard. On 127.0.0.1 (the default) it trusts the local user, as the CLI
does; bound to any other address, a browser logs in with the user's torc token and gets an
HTTP-only, same-site session cookie. Controls (POST) are refused unless they come from the
dashboard's own pages: the Origin must be the dashboard's and the request must carry the
page's CSRF token in a header, which another site can neither read nor set."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from dataclasses import dataclass, field

COOKIE = "torc_dash_session"
CSRF_HEADER = "x-torc-csrf"


def is_loopback(host: str) -> bool:
    """Whether binding ``host`` keeps the dashboard to this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass
class Guard:
    """Sessions and the CSRF token of one dashboard process."""

    token: str  # the user's torc token (the dashboard's own, as the CLI reads it)
    login_required: bool
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    sessions: set[str] = field(default_factory=set)

    def login(self, offered: str) -> str | None:
        """A new session id when ``offered`` is the token, else None."""
        if not self.token or not hmac.compare_digest(offered.encode(), self.token.encode()):
            return None
        session = secrets.token_urlsafe(32)
        self.sessions.add(session)
        return session

    def allowed(self, cookie: str | None) -> bool:
        """May this browser see the dashboard?"""
        return not self.login_required or (cookie is not None and cookie in self.sessions)

    def control_allowed(self, cookie: str | None, csrf: str | None, origin: str | None,
                        host: str | None) -> str:
        """Why a control request is refused ("" when it is not)."""
        if not self.allowed(cookie):
            return "log in first"
        if origin is not None and host is not None and origin.split("://", 1)[-1] != host:
            return "cross-site request refused"
        if csrf is None or not hmac.compare_digest(csrf.encode(), self.csrf.encode()):
            return "missing or wrong CSRF token: use the dashboard's own page"
        return ""
