"""Who is calling: identities come from tokens, never from what a request says.

The coordinator's owner (the user who runs ``torc-coord``) is identified by the token in
``~/.torc/token`` and is an admin. More users are added with ``torc-coord users add NAME``,
which prints (or writes) a new token and keeps only its SHA-256 in ``<data-dir>/users.json``
(mode 0600). With no users added the coordinator is a one-user coordinator, as Torc without
authentication: everything is allowed and a spec's ``user`` is recorded as given. With users,
it enforces ownership and access groups (see :mod:`torc.server.state.access`).

The file is re-read when it changes (checked at most once a second), so users can be added
or removed while the coordinator runs.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
import time
from dataclasses import dataclass
from pathlib import Path

from torc.errors import InvalidArgument, NotFound

USERS_FILE = "users.json"
RELOAD_SECONDS = 1.0
_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.@-]{0,63}")


@dataclass(frozen=True, slots=True)
class Identity:
    """An authenticated caller."""

    name: str
    admin: bool


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def read_users(path: Path) -> dict[str, dict]:
    """name -> {"sha256": ..., "admin": bool}; empty when the file does not exist."""
    try:
        return json.loads(path.read_text())["users"]
    except FileNotFoundError:
        return {}


def _write_users(path: Path, users: dict[str, dict]) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"users": users}, f, indent=1)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def add_user(data_dir: Path, name: str, admin: bool = False) -> str:
    """Add (or give a new token to) ``name``; returns the token, shown only now."""
    if not _NAME.fullmatch(name):
        raise InvalidArgument(f"user name {name!r}: letters, digits, '_', '.', '@', '-' "
                              "(at most 64)")
    data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = data_dir / USERS_FILE
    users = read_users(path)
    token = secrets.token_urlsafe(32)
    users[name] = {"sha256": _digest(token), "admin": admin}
    _write_users(path, users)
    return token


def remove_user(data_dir: Path, name: str) -> None:
    """Remove ``name``: its token stops working at once."""
    path = data_dir / USERS_FILE
    users = read_users(path)
    if name not in users:
        raise NotFound(f"user {name!r} does not exist")
    del users[name]
    _write_users(path, users)


class Identities:
    """Maps tokens to identities for the interceptor and the service."""

    def __init__(self, owner_token: str, owner_name: str, data_dir: Path,
                 admins: frozenset[str] = frozenset()) -> None:
        self.owner = Identity(owner_name, True)
        self._admins = admins  # Torc's admin_users: admins whatever the users file says
        self._owner_token = owner_token.encode()
        self._path = data_dir / USERS_FILE
        self._stamp: tuple[int, int] | None = None
        self._by_digest: dict[str, Identity] = {}
        self._cache: dict[str, Identity | None] = {}
        self._checked = -RELOAD_SECONDS
        self._reload()

    @property
    def multi_user(self) -> bool:
        """True when users besides the owner exist: ownership and groups are enforced."""
        self._reload()
        return bool(self._by_digest)

    def _reload(self, force: bool = False) -> None:
        # At most one stat a second: this runs on every call, and users change rarely. An
        # unknown token forces the check, so a user just added is let in at once.
        now = time.monotonic()
        if not force and now - self._checked < RELOAD_SECONDS:
            return
        self._checked = now
        try:
            st = self._path.stat()
            stamp: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except FileNotFoundError:
            stamp = None
        if stamp == self._stamp:
            return
        self._stamp = stamp
        users = read_users(self._path) if stamp else {}
        self._by_digest = {u["sha256"]: Identity(name, bool(u.get("admin"))
                                                 or name in self._admins)
                           for name, u in users.items()}
        self._cache.clear()

    def lookup(self, token: str) -> Identity | None:
        """The identity a token stands for, or None."""
        self._reload()
        if token in self._cache:
            return self._cache[token]
        found: Identity | None = None
        if hmac.compare_digest(token.encode(), self._owner_token):
            found = self.owner
        else:
            found = self._by_digest.get(_digest(token))
            if found is None:
                self._reload(force=True)
                found = self._by_digest.get(_digest(token))
        if len(self._cache) < 10_000:  # unknown tokens must not grow it without bound
            self._cache[token] = found
        return found
