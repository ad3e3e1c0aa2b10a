"""``torc config show|paths|validate|init``: the layered configuration files (see
:mod:`torc.config_files`), as Torc's ``torc config`` verbs have them."""

from __future__ import annotations

import argparse
from typing import Any

from torc import config_files
from torc.client import output
from torc.errors import TorcError


def cmd_show(c: Any, a: argparse.Namespace) -> None:
    rows = [{"setting": f"[{s.section}] {s.key}", "value": s.value, "source": s.source,
             "note": s.note or None} for s in config_files.load().values()]
    if a.format == "json":
        output.emit_json(rows)
        return
    output.table("torc configuration (files, then TORC_* variables; flags win over both): "
                 + ", ".join(str(f) for f in config_files.files()), rows,
                 ["setting", "value", "source", "note"])


def cmd_paths(c: Any, a: argparse.Namespace) -> None:
    layers = ("system", "user", "local")
    rows = [{"layer": layer, "path": str(path), "exists": path.is_file()}
            for layer, path in zip(layers, config_files.files(), strict=True)]
    output.rows(a.format, "configuration files, lowest precedence first (then TORC_* "
                "variables, then flags)", rows, ["layer", "path", "exists"])


def cmd_validate(c: Any, a: argparse.Namespace) -> None:
    settings = config_files.load()  # a TorcError names the file and the key
    config_files.hpc_profiles()
    config_files.profile_overrides()
    read = [str(p) for p in config_files.files() if p.is_file()]
    notes = [f"[{s.section}] {s.key} ({s.source}): no effect in torc-py: {s.note}"
             for s in settings.values() if s.note]
    if a.format == "json":
        output.emit_json({"valid": True, "files": read, "settings": len(settings),
                          "notes": notes})
        return
    print(f"configuration is valid: {len(settings)} setting(s) from "
          + (", ".join(read) if read else "no file") + " and TORC_* variables")
    for note in notes:
        print(f"  note: {note}")


def cmd_init(c: Any, a: argparse.Namespace) -> None:
    system, user, local = config_files.files()
    layer, path = (("system", system) if a.in_system else ("local", local) if a.in_local
                   else ("user", user))
    if path.exists() and not a.force:
        raise TorcError(f"{path} exists; --force replaces it")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(config_files.template(layer))
    except OSError as e:
        raise TorcError(f"cannot write {path}: {e.strerror}") from None
    print(f"wrote {path}")


def add_commands(sub: Any) -> None:
    """Add ``config`` to the CLI."""
    s = sub.add_parser("config", help="configuration files and TORC_* variables")
    csub = s.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, func, text in (
            ("show", cmd_show, "the merged settings and where each came from"),
            ("paths", cmd_paths, "the configuration files, and which exist"),
            ("validate", cmd_validate, "read every file; an error names the file and key")):
        csub.add_parser(verb, help=text).set_defaults(func=func, local=True)
    s = csub.add_parser("init", help="write a configuration file with every key (commented)")
    where = s.add_mutually_exclusive_group()
    # (not dest "local": that says a command needs no coordinator)
    where.add_argument("--system", action="store_true", dest="in_system",
                       help="/etc/torc/config.toml")
    where.add_argument("--user", action="store_true", dest="in_user",
                       help="~/.config/torc/config.toml (the default)")
    where.add_argument("--local", action="store_true", dest="in_local", help="./torc.toml")
    s.add_argument("-f", "--force", action="store_true", help="replace an existing file")
    s.set_defaults(func=cmd_init, local=True)


def needs_no_config(argv: list[str]) -> bool:
    """Whether the command line runs ``torc config paths`` or ``init``, which must work when
    a configuration file is broken (to find it, or write a fresh one)."""
    words = [w for w in argv if not w.startswith("-")]
    return words[:1] == ["config"] and words[1:2] in (["paths"], ["init"])
