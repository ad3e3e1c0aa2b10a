"""Configuration files, layered as Torc's: ``/etc/torc/config.toml``, then
``~/.config/torc/config.toml`` (``$XDG_CONFIG_HOME``), then ``./torc.toml``, then ``TORC_*``
variables (Torc's ``TORC_CLIENT__RUN__OUTPUT_DIR`` form and our short ones), then
command-line flags. Read with the standard library's ``tomllib``; an unknown section or key,
or a value of the wrong type, is an error naming the file and the key.

Every key of Torc's configuration reference is known. Each setting lands as the default of the
command-line option with the same destination, so every command that has the option honours
it and a flag still wins (:func:`apply_defaults`); a Torc key that cannot mean anything here
(a REST URL, an SQLite path, a thread count) is read and its note says why and what to use.
"""

from __future__ import annotations

import argparse
import os
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from torc.errors import TorcError


@dataclass(frozen=True)
class Key:
    """One key: its TOML type, the option whose default it sets, a sample for ``config
    init``, and, for Torc keys without an effect here, the note saying why."""

    kind: type
    dest: str | None = None
    example: str = ""
    help: str = ""
    note: str = ""
    convert: Callable[[Any], Any] | None = None


_REST = ("is Torc's REST address; torc-py's coordinator speaks gRPC: set url = \"HOST:PORT\" "
         "in [client] (or TORC_URL, or --url) to the torc-coord serve address")
_TOKENS = "torc-py authenticates with per-user tokens (torc-coord users add NAME)"
_LOOP = "one event loop serves every request; nothing to tune"
_STATE = "torc-py keeps its state in a write-ahead log and snapshots: set data_dir"
_DASH = "torc dash talks to the coordinator itself (torc --url HOST:PORT dash)"

KEYS: dict[str, dict[str, Key]] = {
    "client": {
        "url": Key(str, "url", '"127.0.0.1:50051"', "the coordinator, HOST:PORT"),
        "api_url": Key(str, note=_REST),
        "format": Key(str, "format", '"table"', "or json"),
        "log_level": Key(str, "log_level", '"info"', "error, warn, info, debug, trace"),
        "username": Key(str, "username", '"alice"',
                        "whose workflows `workflows list` shows (authentication is by token)"),
    },
    "client.run": {
        "poll_interval": Key(float, "poll_interval", "5.0", "seconds between progress updates"),
        "output_dir": Key(str, "output_dir", '"output"', "logs; jobs run where you start them"),
        "max_parallel_jobs": Key(int, "max_parallel_jobs", "8"),
        "num_cpus": Key(int, "num_cpus", "8"),
        "memory": Key(str, "memory", '"16g"'),
        "memory_gb": Key(float, "memory", "16.0", "as Torc writes it (memory wins if both)",
                         convert=lambda gb: f"{gb:g}g"),
        "num_gpus": Key(int, "num_gpus", "0"),
    },
    "client.slurm": {
        "account": Key(str, "account", '"myproject"'),
        "profile": Key(str, "profile", '"kestrel"'),
        "walltime_multiplier": Key(float, "walltime_multiplier", "1.5"),
    },
    "server": {
        "host": Key(str, "host", '"127.0.0.1"', "address to listen on"),
        "url": Key(str, "host", help="Torc's name for host"),
        "port": Key(int, "port", "50051"),
        "data_dir": Key(str, "data_dir", '"~/.local/share/torc/coord"', "WAL and snapshots"),
        "log_level": Key(str, "log_level", '"info"'),
        "snapshot_every": Key(int, "snapshot_every", "200000"),
        "snapshot_cpu": Key(float, "snapshot_cpu", "0.25"),
        "heartbeat_interval": Key(float, "heartbeat_interval", "5.0"),
        "slurm_poll_interval": Key(float, "slurm_poll_interval", "10.0"),
        "token_file": Key(str, "token_file", '"~/.torc/token"'),
        "tls_cert": Key(str, "tls_cert", '"/etc/torc/cert.pem"'),
        "tls_key": Key(str, "tls_key", '"/etc/torc/key.pem"'),
        "admin_users": Key(list, "admin_users", '["alice"]', "users who are admins"),
        "threads": Key(int, note=_LOOP),
        "https": Key(bool, note="set tls_cert and tls_key to serve TLS"),
        "database": Key(str, note=_STATE),
        "auth_file": Key(str, note=_TOKENS),
        "require_auth": Key(bool, note="always on: every call needs a token; " + _TOKENS),
        "enforce_access_control": Key(bool, note="always on: users see their own workflows "
                                      "and their groups'"),
        "completion_check_interval_secs": Key(float, note="completions are processed as "
                                              "they are reported; nothing to poll"),
    },
    "server.logging": {
        "log_dir": Key(str, "log_dir", '"/var/log/torc"', "also log to torc-coord.log there"),
        "json_logs": Key(bool, "json_logs", "false", "that file as JSON lines"),
    },
    "dash": {
        "host": Key(str, "dash_host", '"127.0.0.1"'),
        "port": Key(int, "dash_port", "8090"),
        "api_url": Key(str, note=_REST),
        "torc_bin": Key(str, note=_DASH),
        "torc_server_bin": Key(str, note=_DASH),
        "standalone": Key(bool, note="torc run SPEC --dash serves the dashboard of its own "
                          "embedded coordinator"),
        "server_port": Key(int, note=_DASH),
        "database": Key(str, note=_STATE),
        "completion_check_interval_secs": Key(float, note="no background polling here"),
    },
}
# Our short variables, and Torc's legacy ones (Torc's TORC_SECTION__KEY form is read too).
ENV = {"TORC_URL": ("client", "url"), "TORC_FORMAT": ("client", "format"),
       "TORC_OUTPUT_DIR": ("client.run", "output_dir"),
       "TORC_NUM_CPUS": ("client.run", "num_cpus"), "TORC_MEMORY": ("client.run", "memory"),
       "TORC_MAX_PARALLEL_JOBS": ("client.run", "max_parallel_jobs"),
       "TORC_ACCOUNT": ("client.slurm", "account"),
       "TORC_HPC_PROFILE": ("client.slurm", "profile"),
       "TORC_DATA_DIR": ("server", "data_dir"), "TORC_API_URL": ("client", "api_url"),
       "TORC_LOG_DIR": ("server.logging", "log_dir"),
       "TORC_ADMIN_USERS": ("server", "admin_users")}
# Tables whose contents hpc_profiles() reads.
_PROFILE_TABLES = ("hpc", "client.hpc")


@dataclass
class Setting:
    """One merged value and where it came from."""

    section: str
    key: str
    value: Any
    source: str

    @property
    def note(self) -> str:
        """Why this Torc key has no effect here, or empty."""
        return KEYS[self.section][self.key].note


def files() -> list[Path]:
    """The configuration files, lowest precedence first."""
    home = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return [Path("/etc/torc/config.toml"), home / "torc" / "config.toml",
            Path.cwd() / "torc.toml"]


def _flatten(data: dict[str, Any], source: str, prefix: str = "") -> list[Setting]:
    out = []
    for name, value in data.items():
        section = f"{prefix}.{name}" if prefix else name
        if section in _PROFILE_TABLES:
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


def _from_text(kind: type, text: str) -> Any:
    """A variable's text as the key's type (left as text when it is not one)."""
    if kind is bool and text.lower() in ("true", "false", "1", "0"):
        return text.lower() in ("true", "1")
    if kind is list:
        return [x.strip() for x in text.split(",") if x.strip()]
    if kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            return text
    return text


def _typed(section: str, key: str, value: Any, source: str) -> Any:
    kind = KEYS[section][key].kind
    if source.startswith("$") and isinstance(value, str):
        value = _from_text(kind, value)
    if kind is float and isinstance(value, int) and not isinstance(value, bool):
        value = float(value)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise TorcError(f"{source}: [{section}] {key} must be a {kind.__name__}, got "
                        f"{value!r}")
    if isinstance(value, list) and not all(isinstance(x, str) for x in value):
        raise TorcError(f"{source}: [{section}] {key} must be a list of strings")
    if key.endswith(("_dir", "_file", "tls_cert", "tls_key")) and isinstance(value, str):
        value = os.path.expanduser(value)  # "~/torc-data" means what a shell makes of it
    if (section, key) == ("client", "format") and value not in ("table", "json"):
        raise TorcError(f"{source}: [client] format must be table or json, got {value!r}")
    if key == "log_level":
        from torc.logs import level
        try:
            level(str(value))
        except ValueError as e:
            raise TorcError(f"{source}: [{section}] log_level: {e}") from None
    return value


def _environment() -> list[Setting]:
    out = []
    for var, text in sorted(os.environ.items()):
        if not text or not var.startswith("TORC_"):
            continue
        if var in ENV:
            section, key = ENV[var]
        elif "__" in var:  # Torc's TORC_CLIENT__RUN__OUTPUT_DIR
            *parts, key = var[5:].lower().split("__")
            section = ".".join(parts)
            if section not in KEYS or key not in KEYS[section]:
                raise TorcError(f"${var}: no such setting [{section}] {key}")
        else:
            continue
        out.append(Setting(section, key, _typed(section, key, text, f"${var}"), f"${var}"))
    return out


def _read(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text())
    except (OSError, UnicodeDecodeError) as e:
        raise TorcError(f"{path}: cannot read: {e}") from None
    except tomllib.TOMLDecodeError as e:
        raise TorcError(f"{path}: invalid TOML: {e}") from None


def load() -> dict[tuple[str, str], Setting]:
    """Every setting, merged (later layers win), each with its source."""
    merged: dict[tuple[str, str], Setting] = {}
    for path in files():
        if path.is_file():
            for s in _flatten(_read(path), str(path)):
                merged[(s.section, s.key)] = s
    for s in _environment():
        merged[(s.section, s.key)] = s
    return merged


def hpc_profiles() -> list[tuple[dict[str, Any], str]]:
    """User HPC profiles from the config files, each with where it is: ours
    (``[hpc.profiles.NAME]``) and Torc's (``[client.hpc.custom_profiles.NAME]``, with
    ``detect_env_var = "NAME=value"``, ``detect_hostname`` and ``default_account``)."""
    out = []
    for path in files():
        if not path.is_file():
            continue
        data = _read(path)
        torc_hpc = (data.get("client") or {}).get("hpc") or {}
        unknown = set(torc_hpc) - {"custom_profiles", "profile_overrides"}
        if unknown:
            raise TorcError(f"{path}: unknown key [client.hpc] {sorted(unknown)[0]} (known: "
                            "custom_profiles, profile_overrides)")
        for table, where in (((data.get("hpc") or {}).get("profiles"), "hpc.profiles"),
                             (torc_hpc.get("custom_profiles"), "client.hpc.custom_profiles")):
            if table is None:
                continue
            if not isinstance(table, dict):
                raise TorcError(f"{path}: [{where}] must be tables, one per profile")
            for name, profile in table.items():
                if not isinstance(profile, dict):
                    raise TorcError(f"{path}: [{where}.{name}] must be a table")
                out.append(({"name": name, **profile}, f"{path} [{where}.{name}]"))
    return out


def profile_overrides() -> dict[str, dict[str, Any]]:
    """``[client.hpc.profile_overrides.NAME]``: profile name -> {"default_account": ...}."""
    merged: dict[str, dict[str, Any]] = {}
    for path in files():
        if not path.is_file():
            continue
        table = ((_read(path).get("client") or {}).get("hpc") or {}).get("profile_overrides")
        for name, values in (table or {}).items():
            where = f"{path}: [client.hpc.profile_overrides.{name}]"
            if not isinstance(values, dict) or set(values) - {"default_account"}:
                raise TorcError(f"{where} takes only default_account")
            if not isinstance(values.get("default_account", ""), str):
                raise TorcError(f"{where} default_account must be a string")
            merged.setdefault(name, {}).update(values)
    return merged


def apply_defaults(parser: argparse.ArgumentParser,
                   sections: tuple[str, ...]) -> dict[tuple[str, str], Setting]:
    """Make the settings of ``sections`` the defaults of every (sub)command option with the
    same destination (a flag on the command line still wins); returns every setting."""
    settings = load()
    values: dict[str, Any] = {}
    # A key that converts (memory_gb) yields to the key it stands for (memory) when both are set.
    for s in sorted((s for s in settings.values() if s.section in sections),
                    key=lambda s: KEYS[s.section][s.key].convert is None):
        key = KEYS[s.section][s.key]
        if key.dest:
            values[key.dest] = key.convert(s.value) if key.convert else s.value
    if values:
        stack = [parser]
        while stack:
            p = stack.pop()
            # (not a SUPPRESS option: it repeats a global one, which the setting defaults)
            dests = {a.dest for a in p._actions if a.default is not argparse.SUPPRESS}
            wanted = {d: v for d, v in values.items() if d in dests}
            if wanted:
                p.set_defaults(**wanted)
            for a in p._actions:
                if isinstance(a, argparse._SubParsersAction):
                    stack.extend(a.choices.values())
    return settings


def rest_url_note(settings: dict[tuple[str, str], Setting], section: str = "client") -> str:
    """When a Torc ``api_url`` is set and no ``url``: what to do instead (else empty)."""
    s = settings.get((section, "api_url"))
    if s is None or ("client", "url") in settings:
        return ""
    return f"note: {s.source}: [{section}] api_url {s.value!r} {_REST}"


def template(layer: str) -> str:
    """A configuration file with every key that has an effect here, commented out."""
    lines = [f"# torc configuration ({layer}). Every key is optional; a flag on the command "
             "line wins.", "# Layers: /etc/torc/config.toml, ~/.config/torc/config.toml, "
             "./torc.toml, TORC_* variables", "# (TORC_CLIENT__RUN__OUTPUT_DIR=... sets "
             "[client.run] output_dir)."]
    for section, keys in KEYS.items():
        shown = [(k, v) for k, v in keys.items() if v.dest and v.example]
        if not shown:
            continue
        lines += ["", f"[{section}]"]
        for name, key in shown:
            entry = f"# {name} = {key.example}"
            lines.append(f"{entry:<40} # {key.help}" if key.help else entry)
    return "\n".join(lines) + "\n"
