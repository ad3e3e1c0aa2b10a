"""Parsing of the sizes and durations used in specs: memory, ISO 8601 runtimes, Slurm walltimes."""

from __future__ import annotations

import re

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.IGNORECASE)
_FACTORS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}

_ISO_DURATION = re.compile(
    r"^P(?:(?P<d>\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(?P<h>\d+(?:\.\d+)?)H)?(?:(?P<m>\d+(?:\.\d+)?)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_WALLTIME = re.compile(r"^(?:(\d+)-)?(?:(\d+):)?(\d+):(\d+)$")


def parse_memory(value: object) -> int:
    """Return a memory size in bytes: ``512k``, ``4g``, ``1.5GiB``, ``100`` (bytes)."""
    if isinstance(value, bool):
        raise ValueError(f"invalid memory size {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"invalid memory size {value!r}: negative")
        return value
    if not isinstance(value, str):
        raise ValueError(f"invalid memory size {value!r}: expected a string like '4g'")
    m = _MEMORY.match(value)
    if not m:
        raise ValueError(f"invalid memory size {value!r}: expected a number with k, m, g or t")
    return int(float(m.group(1)) * _FACTORS[m.group(2).lower()])


def parse_duration(value: object) -> float:
    """Return seconds from an ISO 8601 duration such as ``PT30M``, ``P0DT1H`` or ``P1D``."""
    if not isinstance(value, str):
        raise ValueError(f"invalid runtime {value!r}: expected an ISO 8601 duration like 'PT30M'")
    m = _ISO_DURATION.match(value.strip().upper())
    if not m or value.strip().upper() in ("P", "PT") or value.strip().upper().endswith("T"):
        raise ValueError(f"invalid runtime {value!r}: expected an ISO 8601 duration like 'PT30M'")
    parts = {k: float(v) if v else 0.0 for k, v in m.groupdict().items()}
    return parts["d"] * 86400 + parts["h"] * 3600 + parts["m"] * 60 + parts["s"]


def parse_walltime(value: object) -> float:
    """Return seconds from a Slurm walltime ``[D-]HH:MM:SS`` or ``MM:SS``."""
    if not isinstance(value, str):
        raise ValueError(f"invalid walltime {value!r}: expected 'HH:MM:SS'")
    m = _WALLTIME.match(value.strip())
    if not m:
        raise ValueError(f"invalid walltime {value!r}: expected 'HH:MM:SS' or 'D-HH:MM:SS'")
    days, hours, minutes, seconds = (int(g) if g else 0 for g in m.groups())
    return days * 86400 + hours * 3600 + minutes * 60 + seconds


def format_memory(num_bytes: int) -> str:
    """Render bytes compactly (``4g``, ``512m``), as specs write them."""
    for unit in ("t", "g", "m", "k"):
        f = _FACTORS[unit]
        if num_bytes >= f and num_bytes % f == 0:
            return f"{num_bytes // f}{unit}"
    for unit in ("t", "g", "m", "k"):
        if num_bytes >= _FACTORS[unit]:
            return f"{num_bytes / _FACTORS[unit]:.1f}{unit}"
    return str(num_bytes)


def format_duration(seconds: float) -> str:
    """Seconds as an ISO 8601 duration in its largest units (``PT1H30M``), as specs write
    runtimes."""
    h, rest = divmod(seconds, 3600)
    m, sec = divmod(rest, 60)
    parts = [f"{h:g}H" if h else "", f"{m:g}M" if m else "", f"{sec:g}S" if sec else ""]
    return "PT" + ("".join(parts) or "0S")
