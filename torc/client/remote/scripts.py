"""The POSIX shell each ``torc remote`` verb runs on a host (pure: every value quoted here).

A host's workers are known by pid files under ``<output-dir>/.torc_remote/``, named for the
workflow and the host as given (two "hosts" may be one machine: two ports, two users)."""

from __future__ import annotations

import re
import shlex

from torc.hosts import Host

PID_DIR = ".torc_remote"


def tag(host: Host) -> str:
    """A file-name-safe name for the host as given (``alice_node1_2222``)."""
    return re.sub(r"[^A-Za-z0-9.-]+", "_", host.spec).strip("_")


def start(out: str, wf_id: int, host: Host, worker: list[str], count: int) -> str:
    """Start ``count`` detached workers (nohup: they outlive the SSH session); print their
    pids. The token comes on stdin's first line, into the workers' environment only."""
    q = shlex.quote
    prefix = f"wf{wf_id}_{tag(host)}"
    log = f"{out}/job_runner_remote_{prefix}"
    argv = " ".join(q(a) for a in worker)
    return "\n".join([
        "set -e",
        f"mkdir -p {q(out)}/{PID_DIR}",
        "IFS= read -r TORC_TOKEN || true",
        'if [ -n "$TORC_TOKEN" ]; then export TORC_TOKEN; else unset TORC_TOKEN; fi',
        f"for i in $(seq 1 {int(count)}); do",
        f'  nohup {argv} --log-file {q(log)}_"$i".log </dev/null >/dev/null 2>&1 &',
        f'  echo $! > {q(out)}/{PID_DIR}/{q(prefix)}_"$i".pid',
        "  echo $!",
        "done",
    ])


def _each_pid(out: str, wf_id: int, host: Host, body: str) -> str:
    q = shlex.quote
    return (f"for f in {q(out)}/{PID_DIR}/{q(f'wf{wf_id}_{tag(host)}')}_*.pid; do "
            '[ -f "$f" ] || continue; p=$(cat "$f"); ' + body + "; done")


def status(out: str, wf_id: int, host: Host) -> str:
    """``running PID`` or ``stopped PID`` for each worker started there."""
    return _each_pid(out, wf_id, host, 'if kill -0 "$p" 2>/dev/null; then echo "running $p"; '
                                       'else echo "stopped $p"; fi')


def stop(out: str, wf_id: int, host: Host, force: bool) -> str:
    """Signal each running worker (TERM: it reports and leaves; KILL with ``force``)."""
    sig = "KILL" if force else "TERM"
    return _each_pid(out, wf_id, host, f'if kill -{sig} "$p" 2>/dev/null; then '
                                       'echo "signaled $p"; fi')


def archive(out: str) -> str:
    """The output directory as a gzip'ed tar on stdout."""
    return f"test -d {shlex.quote(out)} && tar -C {shlex.quote(out)} -czf - ."


def remove(out: str) -> str:
    """Delete the output directory."""
    return f"rm -rf -- {shlex.quote(out)}"


def version(worker: list[str]) -> str:
    return " ".join(shlex.quote(a) for a in worker) + " --version"
