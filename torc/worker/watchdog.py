"""The worker's watchdog: when the worker ends, however it ends (SIGKILL included), every
process started by its jobs ends too.

Jobs carry ``TORC_WORKER_INSTANCE=<random id>`` in their environment, and so does everything
they start, including processes that left the job's process group (``setsid``, daemons). The
watchdog is a separate small process in its own session (signals sent to the worker's group do
not reach it) that blocks reading a pipe whose only writer is the worker. End of file means the
worker is gone: the watchdog then kills every process that carries the marker, and exits.
On Slurm, the allocation's cgroup does the same when the allocation ends; this covers the
worker dying inside a live allocation, and workers run outside Slurm.

Run as ``python -m torc.worker.watchdog MARKER`` with the pipe as standard input.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import uuid

MARKER = "TORC_WORKER_INSTANCE"


def new_marker() -> str:
    """A value that identifies one worker's job processes."""
    return uuid.uuid4().hex


def start(marker: str) -> int:
    """Start the watchdog for ``marker``; returns the pipe's write end, which the worker keeps
    open (close-on-exec, so no job inherits it) for the rest of its life."""
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    subprocess.Popen([sys.executable, "-m", "torc.worker.watchdog", marker], stdin=read_end,
                     stdout=subprocess.DEVNULL, start_new_session=True, close_fds=True)
    os.close(read_end)
    return write_end


def marked(marker: str) -> list:
    """Processes (psutil) that carry ``marker``, other than this one."""
    import psutil

    me = os.getpid()
    found = []
    for p in psutil.process_iter():
        if p.pid == me:
            continue
        try:
            if p.environ().get(MARKER) == marker and p.status() != psutil.STATUS_ZOMBIE:
                found.append(p)
        except (psutil.Error, OSError):
            continue  # gone, or another user's
    return found


def kill_marked(marker: str, rounds: int = 5) -> int:
    """SIGKILL every process that carries ``marker``; returns how many were killed.

    Repeated a few times: a process may fork while the scan runs.
    """
    import psutil

    killed = 0
    for _ in range(rounds):
        procs = marked(marker)
        if not procs:
            break
        for p in procs:
            try:
                p.kill()
                killed += 1
            except psutil.Error:
                pass
        psutil.wait_procs(procs, timeout=5)
    return killed


def main() -> None:
    """Entry point: wait for the worker to go, then clean up after it."""
    marker = sys.argv[1]
    for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)  # only the pipe's end ends the watch
    while os.read(0, 4096):
        pass
    n = kill_marked(marker)
    if n:
        print(f"torc-worker watchdog: killed {n} leftover job process(es)", file=sys.stderr)


if __name__ == "__main__":
    main()
