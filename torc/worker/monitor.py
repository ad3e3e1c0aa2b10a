"""Per-job resource sampling with ``psutil``: memory (RSS) and CPU of each job's whole process
tree, for the result's figures (Torc's ``peak_memory_bytes``, ``avg_memory_bytes``,
``peak_cpu_percent``, ``avg_cpu_percent``), the optional time series, and memory limits.

A job's processes are its leader's descendants plus every process still in its session or
process group (a child that daemonized inside the job keeps its session). One sampling pass
looks at each process once, whatever the number of jobs; it runs off the event loop
(``sample`` blocks on /proc), so a thousand sampled jobs never delay claims and reports.
"""

from __future__ import annotations

import os
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
    last_memory: int = 0
    # (unix time, rss bytes, cpu percent, processes), kept for time_series granularity.
    series: list[tuple[float, int, float, int]] = field(default_factory=list)

    def figures(self) -> tuple[int, int, float, float] | None:
        """(peak memory, average memory, peak CPU %, average CPU %), None without samples."""
        if not self.samples:
            return None
        avg_cpu = self.cpu_sum / self.cpu_samples if self.cpu_samples else 0.0
        return (self.peak_memory, self.memory_sum // self.samples, round(self.peak_cpu, 1),
                round(avg_cpu, 1))


def _cpu_seconds(p: psutil.Process) -> float:
    t = p.cpu_times()
    # Reaped children's times are in the parent's children_* fields: nothing is lost when a
    # short-lived child exits between two samples.
    return t.user + t.system + t.children_user + t.children_system


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

    def tree(self, leader: int, by_session: dict[int, list[int]]) -> list[psutil.Process]:
        """The live processes of the job led by ``leader``."""
        pids = set(by_session.get(leader, ()))
        try:
            root = psutil.Process(leader)
            pids.add(leader)
            pids.update(c.pid for c in root.children(recursive=True))
        except psutil.Error:
            pass
        out = []
        for pid in pids:
            try:
                out.append(psutil.Process(pid))
            except psutil.Error:
                continue
        return out

    def sample(self) -> dict[int, int]:
        """One pass over every sampled job (blocking); returns each job's memory now."""
        leaders = dict(self.leaders)
        if not leaders:
            return {}
        wanted = set(leaders.values())
        by_session: dict[int, list[int]] = {}
        for pid in psutil.pids():
            try:
                sid, pgid = os.getsid(pid), os.getpgid(pid)
            except OSError:
                continue
            for key in {sid, pgid} & wanted:
                by_session.setdefault(key, []).append(pid)
        now = time.time()
        memory: dict[int, int] = {}
        for job_id, leader in leaders.items():
            rss, cpu_seconds, alive = 0, 0.0, 0
            for p in self.tree(leader, by_session):
                try:
                    with p.oneshot():
                        rss += p.memory_info().rss
                        cpu_seconds += _cpu_seconds(p)
                    alive += 1
                except psutil.Error:
                    continue
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
            usage.last_memory = rss
            if self.keep_series:
                usage.series.append((now, rss, round(cpu, 1), alive))
            memory[job_id] = rss
        return memory
