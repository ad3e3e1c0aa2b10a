"""What this worker has: CPUs, memory, GPUs, and the end of its Slurm allocation."""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from torc.proto import torc_pb2 as pb


@dataclass(slots=True)
class Resources:
    """Consumable resources of a worker (or a job's needs)."""

    num_cpus: int
    memory: int
    num_gpus: int = 0

    @classmethod
    def of(cls, cj: pb.ClaimedJob) -> Resources:
        """What a claimed job needs."""
        return cls(cj.num_cpus, cj.memory_bytes, cj.num_gpus)

    def fits(self, other: Resources) -> bool:
        """True when ``other`` fits in what is left here."""
        return (other.num_cpus <= self.num_cpus and other.memory <= self.memory
                and other.num_gpus <= self.num_gpus)

    def __sub__(self, other: Resources) -> Resources:
        return Resources(self.num_cpus - other.num_cpus, self.memory - other.memory,
                         self.num_gpus - other.num_gpus)

    def __add__(self, other: Resources) -> Resources:
        return Resources(self.num_cpus + other.num_cpus, self.memory + other.memory,
                         self.num_gpus + other.num_gpus)


@dataclass(slots=True)
class Placement:
    """Where the worker runs: host, and the Slurm job and node when inside an allocation."""

    hostname: str
    slurm_job_id: str
    node_name: str
    num_nodes: int
    end_time: float | None  # epoch seconds the allocation ends, if known


def _machine_memory() -> int:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def detect_resources(env: Mapping[str, str] | None = None) -> Resources:
    """Resources of the Slurm allocation on this node, else of the machine."""
    env = os.environ if env is None else env
    cpus = env.get("SLURM_CPUS_ON_NODE")
    num_cpus = int(cpus) if cpus and cpus.isdigit() else len(os.sched_getaffinity(0))
    mem = env.get("SLURM_MEM_PER_NODE")  # MiB
    memory = int(mem) << 20 if mem and mem.isdigit() else _machine_memory()
    gpus = env.get("SLURM_GPUS_ON_NODE")
    num_gpus = int(gpus) if gpus and gpus.isdigit() else 0
    return Resources(num_cpus, memory, num_gpus)


def detect_placement(env: Mapping[str, str] | None = None) -> Placement:
    """Host and Slurm identity; ``SLURMD_NODENAME`` wins over the hostname (nodes may share
    a host)."""
    env = os.environ if env is None else env
    end = env.get("SLURM_JOB_END_TIME")
    nodes = env.get("SLURM_JOB_NUM_NODES") or env.get("SLURM_NNODES") or "1"
    return Placement(
        hostname=socket.gethostname(),
        slurm_job_id=env.get("SLURM_JOB_ID", ""),
        node_name=env.get("SLURMD_NODENAME", ""),
        num_nodes=int(nodes) if nodes.isdigit() else 1,
        end_time=float(end) if end and end.replace(".", "", 1).isdigit() else None,
    )


def time_left(end_time: float | None, buffer: float) -> float:
    """Seconds left before the worker must stop (0 = unlimited, tiny positive when over)."""
    if end_time is None:
        return 0.0
    return max(end_time - buffer - time.time(), 0.001)
