"""HPC profiles: what a cluster's partitions offer (CPUs, memory, GPUs, walltime, nodes), so
that ``torc slurm generate`` can pick a partition and size allocations.

Built in: the clusters Torc ships profiles for (NREL Kestrel, LLNL Dane), their partition
tables as Torc records them. A profile generated from the cluster it runs on
(``torc hpc generate``, see :mod:`torc.slurm.discover`) is saved as JSON under
``$XDG_CONFIG_HOME/torc/hpc_profiles/`` and found again by name and by detection.
"""

from __future__ import annotations

import json
import os
import re
import socket
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from torc.errors import TorcError

DAY = 24 * 3600


@dataclass
class Partition:
    """One Slurm partition of a profile (memory in MB, as Torc's profiles hold it)."""

    name: str
    cpus_per_node: int
    memory_mb: int
    max_walltime_secs: int
    description: str = ""
    max_nodes: int | None = None
    max_nodes_per_user: int | None = None
    min_nodes: int | None = None
    gpus_per_node: int | None = None
    gpu_type: str | None = None
    shared: bool = False
    requires_explicit_request: bool = False
    default_qos: str | None = None

    def can_satisfy(self, cpus: int, memory_mb: int, walltime_secs: float,
                    gpus: int = 0) -> bool:
        """A job with these needs fits one node of this partition, within its walltime."""
        if cpus > self.cpus_per_node or memory_mb > self.memory_mb:
            return False
        if walltime_secs > self.max_walltime_secs:
            return False
        return not gpus or (self.gpus_per_node or 0) >= gpus

    @property
    def max_walltime(self) -> str:
        """``D-HH:MM:SS`` or ``HH:MM:SS``, as Slurm writes it."""
        return walltime_str(self.max_walltime_secs)


@dataclass
class Profile:
    """A cluster: how to recognize it and its partitions."""

    name: str
    display_name: str
    partitions: list[Partition]
    description: str = ""
    # Any one matching detects the cluster: {"env": NAME, "value": V} or {"hostname": REGEX}.
    detection: list[dict[str, str]] = field(default_factory=list)
    source: str = "built-in"
    default_account: str = ""  # the Slurm account when none is given (Torc's key)

    def detect(self) -> bool:
        """Whether this process runs on the cluster."""
        for d in self.detection:
            if "env" in d and os.environ.get(d["env"]) == d.get("value"):
                return True
            if "hostname" in d and re.search(d["hostname"], socket.gethostname()):
                return True
        return False

    def partition(self, name: str) -> Partition | None:
        """A partition by name."""
        return next((p for p in self.partitions if p.name == name), None)

    def matching(self, cpus: int, memory_mb: int, walltime_secs: float,
                 gpus: int = 0) -> list[Partition]:
        """Partitions that can run such a job."""
        return [p for p in self.partitions if p.can_satisfy(cpus, memory_mb, walltime_secs,
                                                             gpus)]

    def best_partition(self, cpus: int, memory_mb: int, walltime_secs: float,
                       gpus: int = 0) -> Partition | None:
        """The partition Torc would pick: never a debug one when another fits; a GPU one for
        GPU jobs; a shared one for small jobs; else one Slurm routes to by itself."""
        candidates = self.matching(cpus, memory_mb, walltime_secs, gpus)
        if not candidates:
            return None
        candidates = [p for p in candidates if "debug" not in p.name.lower()] or candidates
        auto = [p for p in candidates if not p.requires_explicit_request]
        if gpus:
            gpu = [p for p in candidates if p.gpus_per_node]
            return next((p for p in gpu if not p.requires_explicit_request), None) or \
                (gpu[0] if gpu else candidates[0])
        if cpus <= 26 and memory_mb <= 60_000:  # about a quarter of a standard node
            shared = [p for p in auto if p.shared and not p.gpus_per_node]
            if shared:
                return shared[0]
        cpu_only = [p for p in auto if not p.gpus_per_node]
        return (cpu_only or auto or candidates)[0]

    def to_json(self) -> dict[str, Any]:
        """As saved under hpc_profiles/."""
        d = asdict(self)
        d.pop("source")
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any], source: str) -> Profile:
        """A saved profile (ValueError when it is not one)."""
        try:
            parts = [Partition(**p) for p in d["partitions"]]
            detection = list(d.get("detection", []))
            # Torc's custom_profiles keys: detect_env_var = "NAME=value", detect_hostname.
            if d.get("detect_env_var"):
                name, sep, value = str(d["detect_env_var"]).partition("=")
                if not sep:
                    raise ValueError(f"{source}: detect_env_var must be NAME=value")
                detection.append({"env": name, "value": value})
            if d.get("detect_hostname"):
                detection.append({"hostname": str(d["detect_hostname"])})
            return cls(name=d["name"], display_name=d.get("display_name", d["name"]),
                       partitions=parts, description=d.get("description", ""),
                       detection=detection, source=source,
                       default_account=str(d.get("default_account", "")))
        except (KeyError, TypeError) as e:
            raise ValueError(f"{source}: not an HPC profile: {e}") from None


def walltime_str(secs: float) -> str:
    """Seconds as Slurm's ``[D-]HH:MM:SS``."""
    secs = int(secs)
    days, rest = divmod(secs, DAY)
    h, rest = divmod(rest, 3600)
    m, s = divmod(rest, 60)
    return f"{days}-{h:02d}:{m:02d}:{s:02d}" if days else f"{h:02d}:{m:02d}:{s:02d}"


def _p(name: str, cpus: int, mem: int, wall: int, desc: str, **kw: Any) -> Partition:
    return Partition(name=name, cpus_per_node=cpus, memory_mb=mem, max_walltime_secs=wall,
                     description=desc, **kw)


def _kestrel() -> Profile:
    gpu = {"gpus_per_node": 4, "gpu_type": "h100", "shared": True}
    return Profile("kestrel", "NREL Kestrel", [
        _p("debug", 104, 240_000, 3600, "developing and troubleshooting jobs", max_nodes=2,
           max_nodes_per_user=2, gpus_per_node=2, gpu_type="h100", shared=True,
           requires_explicit_request=True),
        _p("short", 104, 240_000, 4 * 3600, "walltimes up to 4 hours", max_nodes=2240),
        _p("standard", 104, 240_000, 2 * DAY, "walltimes up to 2 days", max_nodes=2240,
           max_nodes_per_user=1050),
        _p("long", 104, 240_000, 10 * DAY, "walltimes up to 10 days", max_nodes=430,
           max_nodes_per_user=215),
        _p("medmem", 104, 1_000_000, 10 * DAY, "1 TB of RAM", max_nodes=64,
           max_nodes_per_user=32),
        _p("bigmem", 104, 2_000_000, 2 * DAY, "2 TB RAM, 5.6 TB NVMe", max_nodes=10,
           max_nodes_per_user=4),
        _p("bigmeml", 104, 2_000_000, 10 * DAY, "bigmem beyond 2 days", max_nodes=4,
           max_nodes_per_user=2),
        _p("hbw", 104, 240_000, 2 * DAY, "dual NICs for multi-node jobs", max_nodes=512,
           max_nodes_per_user=256, min_nodes=2, requires_explicit_request=True),
        _p("hbwl", 104, 240_000, 10 * DAY, "hbw beyond 2 days", max_nodes=128,
           max_nodes_per_user=64, min_nodes=2, requires_explicit_request=True),
        _p("nvme", 104, 240_000, 2 * DAY, "1.7 TB NVMe local drives", max_nodes=256,
           max_nodes_per_user=128, requires_explicit_request=True),
        _p("shared", 104, 240_000, 2 * DAY, "nodes shared by several jobs", max_nodes=128,
           max_nodes_per_user=64, shared=True, requires_explicit_request=True),
        _p("sharedl", 104, 240_000, 10 * DAY, "shared beyond 2 days", max_nodes=32,
           max_nodes_per_user=16, shared=True, requires_explicit_request=True),
        _p("gpu-h100s", 128, 360_000, 4 * 3600, "GPU jobs up to 4 hours", max_nodes=156,
           **gpu),
        _p("gpu-h100", 128, 360_000, 2 * DAY, "4x H100 SXM 80 GB", max_nodes=156, **gpu),
        _p("gpu-h100l", 128, 360_000, 10 * DAY, "GPU jobs beyond 2 days", max_nodes=39,
           **gpu),
    ], "NREL's flagship HPC system with CPU and GPU nodes",
        [{"env": "NREL_CLUSTER", "value": "kestrel"}])


def _dane() -> Profile:
    mem = 257_054
    return Profile("dane", "LLNL Dane", [
        _p("pdebug", 112, mem, 3600, "debugging", requires_explicit_request=True),
        _p("pbatch", 112, mem, DAY, "production batch jobs (the default)"),
        _p("pci", 112, mem, DAY, "CI jobs", requires_explicit_request=True),
        _p("pserial", 112, mem, 7 * DAY, "serial jobs", requires_explicit_request=True),
        _p("pjupyter", 112, mem, DAY, "Jupyter sessions", shared=True,
           requires_explicit_request=True),
        _p("pall", 112, mem, 365 * DAY, "unlimited walltime (special access)",
           requires_explicit_request=True),
    ], "LLNL's CPU cluster", [{"env": "CLUSTER", "value": "dane"}])


BUILT_IN = {p.name: p for p in (_kestrel(), _dane())}


def profile_dir() -> Path:
    """Where generated and user profiles are saved."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "torc" / "hpc_profiles"


def all_profiles() -> dict[str, Profile]:
    """Built-in profiles, then those in the config files, then saved ones (a later one
    replaces an earlier one of its name)."""
    from torc import config_files
    profiles = dict(BUILT_IN)
    for data, source in config_files.hpc_profiles():
        try:
            p = Profile.from_json(data, source)
        except ValueError as e:
            raise TorcError(str(e)) from None
        profiles[p.name] = p
    d = profile_dir()
    if d.is_dir():
        for f in sorted(d.glob("*.json")):
            try:
                p = Profile.from_json(json.loads(f.read_text()), str(f))
            except (OSError, ValueError):
                continue
            profiles[p.name] = p
    for name, values in config_files.profile_overrides().items():
        if name in profiles and values.get("default_account"):
            profiles[name] = replace(profiles[name], default_account=values["default_account"])
    return profiles


def save_profile(profile: Profile) -> Path:
    """Save a profile where :func:`all_profiles` finds it."""
    d = profile_dir()
    d.mkdir(parents=True, exist_ok=True)
    path = d / f"{profile.name}.json"
    path.write_text(json.dumps(profile.to_json(), indent=2) + "\n")
    return path


def detect() -> Profile | None:
    """The profile of the cluster this runs on (saved profiles first: they are this site's)."""
    profiles = all_profiles()
    saved = [p for p in profiles.values() if p.source != "built-in"]
    return next((p for p in [*saved, *BUILT_IN.values()] if p.detect()), None)
