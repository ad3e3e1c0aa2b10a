"""Configuration files, layered as Torc's: ``/etc/torc/config.toml``, then
``~/.config/torc/config.toml`` (``$XDG_CONFIG_HOME``), then ``./torc.toml``, then ``TORC_*``
variables, then command-line flags. Read with the standard library's ``tomllib``; an unknown
section or key, or a value of the wrong type, is an error naming the file and the key.

Each setting lands as the default of the command-line option with the same destination, so
every command that has the option honours it and a flag still wins (:func:`apply_defaults`).
"""

from __future__ import annotations

import argparse
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torc.errors import TorcError

# section -> key -> (type, argparse destination)
KEYS: dict[str, dict[str, tuple[type, str]]] = {
    "client": {"url": (str, "url"), "format": (str, "format")},
    "client.run": {"output_dir": (str, "output_dir"), "num_cpus": (int, "num_cpus"),
                   "memory": (str, "memory"), "num_gpus": (int, "num_gpus"),
                   "max_parallel_jobs": (int, "max_parallel_jobs")},
    "client.slurm": {"account": (str, "account"), "profile": (str, "profile"),
                     "walltime_multiplier": (float, "walltime_multiplier")},
    "server": {"host": (str, "host"), "port": (int, "port"), "data_dir": (str, "data_dir"),
               "snapshot_every": (int, "snapshot_every"),
               "snapshot_cpu": (float, "snapshot_cpu"),
               "heartbeat_interval": (float, "heartbeat_interval"),
               "slurm_poll_interval": (float, "slurm_poll_interval")},
    "dash": {"host": (str, "dash_host"), "port": (int, "dash_port")},
}
ENV = {"TORC_URL": ("client", "url"), "TORC_FORMAT": ("client", "format"),
       "TORC_OUTPUT_DIR": ("client.run", "output_dir"),
       "TORC_NUM_CPUS": ("client.run", "num_cpus"), "TORC_MEMORY": ("client.run", "memory"),
       "TORC_MAX_PARALLEL_JOBS": ("client.run", "max_parallel_jobs"),
       "TORC_ACCOUNT": ("client.slurm", "account"),
       "TORC_HPC_PROFILE": ("client.slurm", "profile"),
       "TORC_DATA_DIR": ("server", "data_dir")}


@dataclass
class Setting:
    """One merged value and where it came from."""

    section: str
    key: str
    value: Any
    source: str


def files() -> list[Path]:
    """The configuration files, lowest precedence first."""
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [Path("/etc/torc/config.toml"), home / "torc" / "config.toml",
            Path.cwd() / "torc.toml"]


def _flatten(data: dict[str, Any], source: str, prefix: str = "") -> list[Setting]:
    out = []
    for name, value in data.items():
        section = f"{prefix}.{name}" if prefix else name
        if section == "hpc":
            continue  # HPC profiles: read by hpc_profiles()
        if isinstance(value, dict):
            if section not in KEYS and not any(k.startswith(section + ".") for k in KEYS):
                raise TorcError(f"{source}: unknown section [{section}]; known: "
                                + ", ".join(f"[{k}]" for k in KEYS))
            out += _flatten(value, source, section)
            continue
        if not prefix or prefix not in KEYS or name not in KEYS[prefix]:
            where = f"[{prefix}] {name}" if prefix else name
            known = ", ".join(KEYS.get(prefix, {})) or "none"
            raise TorcError(f"{source}: unknown key {where} (known in [{prefix}]: {known})")
        out.append(Setting(prefix, name, _typed(prefix, name, value, source), source))
    return out


def _typed(section: str, key: str, value: Any, source: str) -> Any:
    kind = KEYS[section][key][0]
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if kind is int and isinstance(value, str) and source.startswith("$") and value.isdigit():
        value = int(value)
    if kind is float and isinstance(value, str) and source.startswith("$"):
        try:
            value = float(value)
        except ValueError:
            pass
    if not isinstance(value, kind) or isinstance(value, bool):
        raise TorcError(f"{source}: [{section}] {key} must be a {kind.__name__}, got "
                        f"{value!r}")
    if (section, key) == ("client", "format") and value not in ("table", "json"):
        raise TorcError(f"{source}: [client] format must be table or json, got {value!r}")
    return value


def hpc_profiles() -> list[tuple[dict[str, Any], str]]:
    """User HPC profiles from the config files (``[hpc.profiles.NAME]`` with
    ``[[hpc.profiles.NAME.partitions]]``), each with its file."""
    out = []
    for path in files():
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
            continue  # load() reports a broken file
        profiles = (data.get("hpc") or {}).get("profiles") or {}
        if not isinstance(profiles, dict):
            raise TorcError(f"{path}: [hpc.profiles] must be tables, one per profile")
        for name, profile in profiles.items():
            if not isinstance(profile, dict):
                raise TorcError(f"{path}: [hpc.profiles.{name}] must be a table")
            out.append(({"name": name, **profile}, f"{path} [hpc.profiles.{name}]"))
    return out


def load() -> dict[tuple[str, str], Setting]:
    """Every setting, merged (later layers win), each with its source."""
    merged: dict[tuple[str, str], Setting] = {}
    for path in files():
        if not path.is_file():
            continue
        try:
            data = tomllib.loads(path.read_text())
        except (OSError, UnicodeDecodeError) as e:
            raise TorcError(f"{path}: cannot read: {e}") from None
        except tomllib.TOMLDecodeError as e:
            raise TorcError(f"{path}: invalid TOML: {e}") from None
        for s in _flatten(data, str(path)):
            merged[(s.section, s.key)] = s
    for var, (section, key) in ENV.items():
        if os.environ.get(var):
            merged[(section, key)] = Setting(section, key, _typed(
                section, key, os.environ[var], f"${var}"), f"${var}")
    return merged


def apply_defaults(parser: argparse.ArgumentParser, sections: tuple[str, ...]) -> None:
    """Make the settings of ``sections`` the defaults of every (sub)command option with the
    same destination (a flag on the command line still wins)."""
    values = {KEYS[s.section][s.key][1]: s.value for s in load().values()
              if s.section in sections}
    if not values:
        return
    stack = [parser]
    while stack:
        p = stack.pop()
        dests = {a.dest for a in p._actions}
        wanted = {d: v for d, v in values.items() if d in dests}
        if wanted:
            p.set_defaults(**wanted)
        for a in p._actions:
            if isinstance(a, argparse._SubParsersAction):
                stack.extend(a.choices.values())
