"""Remote worker hosts as Torc writes them (``torc remote``): ``[user@]host[:port]``, an IPv6
address in brackets when it has a port (``[::1]:2222``), one per line in a worker file with
``#`` comments. Pure: used by the CLI to read files and by the coordinator to check what it
records."""

from __future__ import annotations

import re
from dataclasses import dataclass

from torc.errors import InvalidArgument

MAX_HOSTS = 10_000  # per workflow: a list the coordinator keeps must stay bounded
_NAME = re.compile(r"^[A-Za-z0-9._-]+$")
_USER = re.compile(r"^[A-Za-z0-9._][A-Za-z0-9._-]*$")


@dataclass(frozen=True)
class Host:
    """One remote machine: how to reach it over SSH."""

    host: str
    user: str | None = None
    port: int | None = None

    @property
    def spec(self) -> str:
        """The canonical ``[user@]host[:port]`` (IPv6 bracketed with a port)."""
        host = f"[{self.host}]" if ":" in self.host and self.port else self.host
        return (f"{self.user}@" if self.user else "") + host + (
            f":{self.port}" if self.port else "")

    @property
    def destination(self) -> str:
        """What ``ssh`` is given (the port goes in ``-p``)."""
        return (f"{self.user}@" if self.user else "") + self.host


def parse(text: str, where: str = "host") -> Host:
    """``[user@]host[:port]``; an InvalidArgument naming ``where`` (file and line, or the
    argument) when it is not one."""
    s = text.strip()
    user = None
    if "@" in s:
        user, s = s.rsplit("@", 1)
        if not _USER.match(user):
            raise InvalidArgument(f"{where}: {text!r}: bad user name {user!r}")
    port: int | None = None
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise InvalidArgument(f"{where}: {text!r}: '[' without ']'")
        host, rest = s[1:end], s[end + 1:]
        if rest:
            if not rest.startswith(":"):
                raise InvalidArgument(f"{where}: {text!r}: expected :PORT after ']'")
            port = _port(rest[1:], text, where)
        if not re.fullmatch(r"[0-9A-Fa-f:.%a-z]+", host) or ":" not in host:
            raise InvalidArgument(f"{where}: {text!r}: not an IPv6 address in brackets")
    elif s.count(":") == 1:
        host, p = s.split(":")
        port = _port(p, text, where)
    elif s.count(":") > 1:  # a bare IPv6 address, no port
        host = s
        if not re.fullmatch(r"[0-9A-Fa-f:.%a-z]+", host):
            raise InvalidArgument(f"{where}: {text!r}: not an IPv6 address")
    else:
        host = s
    if not host or (":" not in host and not _NAME.match(host)):
        raise InvalidArgument(f"{where}: {text!r}: not a host name or address")
    return Host(host, user, port)


def _port(p: str, text: str, where: str) -> int:
    if not p.isdigit() or not 1 <= int(p) <= 65535:
        raise InvalidArgument(f"{where}: {text!r}: port must be 1-65535")
    return int(p)


def parse_file(text: str, source: str) -> list[Host]:
    """A worker file: one host a line, ``#`` comments and blank lines skipped; a host twice is
    an error naming both lines."""
    hosts: list[Host] = []
    seen: dict[str, int] = {}
    for n, line in enumerate(text.splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        h = parse(line, f"{source}:{n}")
        key = h.spec
        if key in seen:
            raise InvalidArgument(f"{source}:{n}: {key} is listed twice (first on line "
                                  f"{seen[key]})")
        seen[key] = n
        hosts.append(h)
    return hosts


def check_list(specs: list[str]) -> list[str]:
    """Hosts as the coordinator records them: each parsed and canonical, none twice."""
    if len(specs) > MAX_HOSTS:  # before any is parsed: the bound is what keeps this cheap
        raise InvalidArgument(f"at most {MAX_HOSTS} remote workers (got {len(specs)})")
    out: list[str] = []
    seen: set[str] = set()
    for s in specs:
        spec = parse(s).spec
        if spec in seen:
            raise InvalidArgument(f"host {spec} is given twice")
        seen.add(spec)
        out.append(spec)
    return out
