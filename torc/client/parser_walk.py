"""Walks over the whole ``torc`` parser that give every verb a Torc habit at once: a
workflow id that may be left out (:mod:`torc.client.pick` finds it), and ``-f json`` after
the verb."""

from __future__ import annotations

import argparse
from typing import Any

from torc.client import listing

ID_HELP = "workflow id (default: your only workflow; on a terminal, a picker)"


def _parsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """``parser`` and every subcommand's parser below it."""
    out, stack = [], [parser]
    while stack:
        p = stack.pop()
        out.append(p)
        for a in p._actions:  # noqa: SLF001 - argparse offers no public walk
            if isinstance(a, argparse._SubParsersAction):  # noqa: SLF001
                stack.extend(a.choices.values())
    return out


def _has_subcommands(p: argparse.ArgumentParser) -> bool:
    return any(isinstance(a, argparse._SubParsersAction) for a in p._actions)  # noqa: SLF001


def verbs_of(sub: Any, group: str, text: str = "") -> Any:
    """The verbs (subparsers) of command ``group``, to add more to; the group is made, with
    help ``text``, when the CLI does not have it yet."""
    if group not in sub.choices:
        return sub.add_parser(group, help=text).add_subparsers(dest="verb", required=True,
                                                               metavar="VERB")
    return next(a for a in sub.choices[group]._actions  # noqa: SLF001
                if isinstance(a, argparse._SubParsersAction))  # noqa: SLF001


def make_ids_optional(parser: argparse.ArgumentParser) -> None:
    """Every verb whose one positional is a workflow ``id`` may leave it out."""
    for p in _parsers(parser):
        positionals = [a for a in p._actions if not a.option_strings  # noqa: SLF001
                       and not isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001
        if len(positionals) == 1 and positionals[0].dest == "id" \
                and positionals[0].nargs is None and positionals[0].type is int:
            positionals[0].nargs = "?"
            positionals[0].default = None
            positionals[0].help = ID_HELP


def listing_flags(parser: argparse.ArgumentParser) -> None:
    """Torc's paging and sorting flags on every ``list`` verb (and Torc's other listings)."""
    for p in _parsers(parser):
        if p.prog.split()[-1] in ("list", "list-missing", "list-required-existing",
                                  "list-resource-requirements") and not _has_subcommands(p):
            listing.add_flags(p)


def format_anywhere(parser: argparse.ArgumentParser) -> None:
    """``-f json`` after the verb too, as Torc's tutorials type it (``torc jobs list 1 -f
    json``); SUPPRESS keeps the global value when a verb's own is not given."""
    for p in _parsers(parser):
        if p is parser or _has_subcommands(p):
            continue
        flags = [f for f in ("-f", "--format")
                 if f not in p._option_string_actions]  # noqa: SLF001
        if "--format" in flags:
            p.add_argument(*flags, choices=["table", "json"], default=argparse.SUPPRESS,
                           help=argparse.SUPPRESS)
