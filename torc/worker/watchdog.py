"""The worker's watchdog: when the worker ends, however it ends (SIGKILL included), every
process started by its jobs ends too.

Jobs carry ``TORC_WORKER_INSTANCE=<random id>`` in their environment, and so does everything
they start, including processes that left the job's process group (``setsid``, daemons). The
watchdog is a separate small process in its own session (signals sent to the worker's group do
not reach it) that blocks reading a pipe whose only writer is the worker. End of file means the
worker is gone: the watchdog then kills every process that carries the marker, and exits.
On Slurm, the allocation's cgroup does the same when the allocation ends; this covers the
worker dying inside a live allocation, and workers run outside Slurm.

"""

from __future__ import annotations

import os
import signal
import uuid

from torc.config import JOB_MARKER as MARKER


def new_marker() -> str:
    """A value that identifies one worker's job processes."""
    return uuid.uuid4().hex


def start(marker: str) -> int:
    """Fork the watchdog for ``marker``; returns the pipe's write end, which the worker keeps
    open (close-on-exec, so no job inherits it) for the rest of its life.

    A fork costs about a millisecond, where a new interpreter would cost the worker's first
    jobs tens of milliseconds of CPU. Call it before any gRPC channel or thread exists: the
    child only reads a pipe and, at the end, scans /proc.
    """
    read_end, write_end = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid:
        os.close(read_end)
        return write_end
    code = 0
    try:
        os.setsid()  # signals for the worker's process group do not reach the watchdog
        os.close(write_end)
        os.dup2(read_end, 0)
        os.closerange(3, 1 << 16)  # hold none of the worker's files or sockets
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(sig, signal.SIG_IGN)  # only the pipe's end ends the watch
        while os.read(0, 4096):
            pass
        n = kill_marked(marker)
        if n:
            os.write(2, f"torc-worker watchdog: killed {n} leftover job process(es)\n"
                     .encode())
    except BaseException:  # noqa: BLE001 - the child must never return into the worker
        code = 1
    finally:
        os._exit(code)


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
