"""Commands on remote hosts through the system's ``ssh``.

The OpenSSH client rather than a Python SSH library: it reads the user's ``~/.ssh/config``
(aliases, ``ProxyJump`` through a bastion, ``IdentityFile``), agent, ``known_hosts``,
Kerberos and certificates, which is how cluster users already reach their machines; a
library would see none of that. Options as Torc passes them: no prompts (``BatchMode``), a
30 s connection timeout, a new host key accepted once and checked after.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

from torc.hosts import Host

OPTIONS = ("-o", "BatchMode=yes", "-o", "ConnectTimeout=30",
           "-o", "StrictHostKeyChecking=accept-new")
T = TypeVar("T")


@dataclass(frozen=True)
class Ssh:
    """How to reach hosts: ``config`` is an ssh_config file (``ssh -F``), else the user's."""

    config: Path | None = None
    timeout: float = 300.0

    def argv(self, host: Host, command: str) -> list[str]:
        out = ["ssh", *OPTIONS]
        if self.config is not None:
            out += ["-F", str(self.config)]
        if host.port:
            out += ["-p", str(host.port)]
        return [*out, host.destination, command]

    def run(self, host: Host, command: str, stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        """Run ``command`` (a shell line) on the host; ``stdin`` is written to it (a
        secret goes this way, never on a command line)."""
        try:
            return subprocess.run(self.argv(host, command), input=stdin or "", text=True,
                                  capture_output=True, timeout=self.timeout, check=False)
        except subprocess.TimeoutExpired:
            return subprocess.CompletedProcess([], 255, "", f"ssh timed out after "
                                               f"{self.timeout:.0f}s")
        except OSError as e:
            return subprocess.CompletedProcess([], 255, "", f"cannot run ssh: {e.strerror}")

    def stream(self, host: Host, command: str, sink: Callable[[bytes], object]) -> int:
        """Run ``command``, handing its stdout (bytes, as it comes) to ``sink``; the exit
        code (255 when ssh itself failed)."""
        with subprocess.Popen(self.argv(host, command), stdin=subprocess.DEVNULL,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE) as proc:
            assert proc.stdout is not None
            for chunk in iter(lambda: proc.stdout.read(1 << 16), b""):  # type: ignore[union-attr]
                sink(chunk)
            proc.wait()
            return proc.returncode


def each(hosts: Sequence[Host], fn: Callable[[Host], T], max_parallel: int) -> list[T]:
    """``fn`` for every host, at most ``max_parallel`` at once; results in the hosts' order."""
    with ThreadPoolExecutor(max_workers=max(1, min(max_parallel, len(hosts) or 1))) as pool:
        return list(pool.map(fn, hosts))


def first_line(p: subprocess.CompletedProcess[str]) -> str:
    """What went wrong, in one line (ssh's own message, or the command's)."""
    lines = [x for x in (p.stderr or p.stdout or "").splitlines() if x.strip()]
    return lines[-1].strip() if lines else f"exit code {p.returncode}"
