"""Per-job resource sampling with ``psutil``: memory (RSS) and CPU of each job's whole process
tree, for the result's figures (Torc's ``peak_memory_bytes``, ``avg_memory_bytes``,
``peak_cpu_percent``, ``avg_cpu_percent``), the optional time series, and memory limits.

A job's processes are its leader's descendants plus every process still in its session or
process group (a child that daemonized inside the job keeps its session). One sampling pass
looks at each process once, whatever the number of jobs; it runs off the event loop
(``sample`` blocks on /proc), so a thousand sampled jobs never delay claims and reports.
"""

from __future__ import annotations

import ctypes
import os
import platform
import time
from dataclasses import dataclass, field

import psutil


@dataclass
class Usage:
    """What one job used so far."""

    peak_memory: int = 0
    memory_sum: int = 0
    peak_cpu: float = 0.0
    cpu_sum: float = 0.0
    samples: int = 0
    cpu_samples: int = 0
    last_cpu_seconds: float | None = None
    last_time: float = 0.0
    # (unix time, rss bytes, cpu percent, processes), kept for time_series granularity.
    series: list[tuple[float, int, float, int]] = field(default_factory=list)

    def figures(self) -> tuple[int, int, float, float] | None:
        """(peak memory, average memory, peak CPU %, average CPU %), None without samples."""
        if not self.samples:
            return None
        avg_cpu = self.cpu_sum / self.cpu_samples if self.cpu_samples else 0.0
        return (self.peak_memory, self.memory_sum // self.samples, round(self.peak_cpu, 1),
                round(avg_cpu, 1))


class Monitor:
    """The jobs a worker samples, keyed by job id."""

    def __init__(self, keep_series: bool = False) -> None:
        self.keep_series = keep_series
        self.leaders: dict[int, int] = {}  # job id -> leader pid (= its session and group)
        self.usage: dict[int, Usage] = {}

    def add(self, job_id: int, pid: int) -> None:
        """Start sampling a job whose leader is ``pid``."""
        self.leaders[job_id] = pid
        self.usage[job_id] = Usage()

    def remove(self, job_id: int) -> Usage | None:
        """Stop sampling a job; what it used."""
        self.leaders.pop(job_id, None)
        return self.usage.pop(job_id, None)

    def tree(self, leader: int) -> list[psutil.Process]:
        """The live processes of the job led by ``leader``: its descendants and whatever is
        still in its session or process group."""
        return _processes(_Index(_process_table()).pids(leader))

    def sample(self) -> dict[int, int]:
        """One pass over every sampled job (blocking); returns each job's memory now."""
        leaders = dict(self.leaders)
        if not leaders:
            return {}
        table = _process_table(figures=True)
        index = _Index(table)
        now = time.time()
        memory: dict[int, int] = {}
        for job_id, leader in leaders.items():
            if shares_my_memory(leader):
                continue  # not exec'd yet: what it holds is the worker's own memory
            rss, cpu_seconds, alive = 0, 0.0, 0
            for pid in index.pids(leader):
                row = table.get(pid)
                if row is not None:
                    rss += row[3]
                    cpu_seconds += row[4]
                    alive += 1
            usage = self.usage.get(job_id)
            if usage is None or not alive:
                continue
            cpu = 0.0
            if usage.last_cpu_seconds is not None and now > usage.last_time:
                cpu = max(cpu_seconds - usage.last_cpu_seconds, 0.0) / \
                    (now - usage.last_time) * 100
                usage.cpu_sum += cpu
                usage.cpu_samples += 1
                usage.peak_cpu = max(usage.peak_cpu, cpu)
            usage.last_cpu_seconds, usage.last_time = cpu_seconds, now
            usage.samples += 1
            usage.memory_sum += rss
            usage.peak_memory = max(usage.peak_memory, rss)
            if self.keep_series:
                usage.series.append((now, rss, round(cpu, 1), alive))
            memory[job_id] = rss
        return memory


# kcmp(2): the number on x86-64 and AArch64; KCMP_VM compares address spaces.
_KCMP = {"x86_64": 312, "aarch64": 272}.get(platform.machine())
_KCMP_VM = 1
_libc = ctypes.CDLL(None, use_errno=True) if _KCMP is not None else None


def shares_my_memory(pid: int) -> bool:
    """Whether process ``pid`` still runs in this process's memory: a job's process started
    by ``torc.worker._spawn`` (CLONE_VM) before it has exec'd. Its RSS is then the worker's,
    which must not count as the job's (inflated peaks, or a memory-limit kill it never
    earned). False where it cannot be told (no kcmp)."""
    if _libc is None:
        return False
    return _libc.syscall(_KCMP, os.getpid(), pid, _KCMP_VM, 0, 0) == 0


def _process_table(figures: bool = False) -> dict[int, tuple[int, int, int, int, float]]:
    """pid -> (parent pid, session, process group, RSS bytes, CPU seconds) of every process,
    each read once (one ``psutil`` pass; the figures only when asked for)."""
    attrs = ["ppid", "memory_info", "cpu_times"] if figures else ["ppid"]
    table: dict[int, tuple[int, int, int, int, float]] = {}
    for p in psutil.process_iter(attrs):
        try:
            info = p.info
            rss = info["memory_info"].rss if figures and info["memory_info"] else 0
            t = info.get("cpu_times") if figures else None
            # Reaped children's times are in the parent's children_* fields: nothing is lost
            # when a short-lived child exits between two samples.
            cpu = t.user + t.system + t.children_user + t.children_system if t else 0.0
            table[p.pid] = (info["ppid"] or 0, os.getsid(p.pid), os.getpgid(p.pid), rss, cpu)
        except (OSError, psutil.Error):
            continue
    return table


class _Index:
    """One look at every process, indexed for finding each job's processes."""

    def __init__(self, table: dict[int, tuple[int, int, int, int, float]]) -> None:
        self.children: dict[int, list[int]] = {}
        self.grouped: dict[int, set[int]] = {}  # session or process group -> its pids
        for pid, (ppid, sid, pgid, _, _) in table.items():
            self.children.setdefault(ppid, []).append(pid)
            self.grouped.setdefault(sid, set()).add(pid)
            self.grouped.setdefault(pgid, set()).add(pid)

    def pids(self, leader: int) -> set[int]:
        """The job led by ``leader``: its descendants and what is in its session or group."""
        seen = {leader}
        stack = [leader]
        while stack:
            for c in self.children.get(stack.pop(), ()):
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
        return seen | self.grouped.get(leader, set())


def _processes(pids: set[int]) -> list[psutil.Process]:
    out = []
    for pid in pids:
        try:
            out.append(psutil.Process(pid))
        except psutil.Error:
            continue
    return out
