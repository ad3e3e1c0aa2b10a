"""The command-line reference (``docs/reference/cli.md``), written from the parsers of
``torc``, ``torc-coord`` and ``torc-worker`` themselves, so it cannot drift from them:
``scripts/gen-docs`` writes it, and ``tests/test_docs.py`` fails when the committed page is
not what the parsers give. Pure: parsers in, Markdown out."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

HEADER = """# Command-line reference

Every verb and flag of `torc`, `torc-coord` and `torc-worker`, generated from their parsers
(`scripts/gen-docs`; a test checks this page is current). The guide's pages say how they fit
together: [the CLI](../cli.md), [when jobs fail](../failures.md), [Slurm](../slurm.md).
Global options (`--url`, `-f/--format`, `--log-level`, `--username`) go before the verb;
`-f json` may also follow it.
"""


def page(parsers: list[argparse.ArgumentParser]) -> str:
    """The whole reference page for these top-level parsers."""
    lines = [HEADER]
    for parser in parsers:
        for path, p, text in _walk(parser, [parser.prog], parser.description or ""):
            lines += _section(path, p, text)
    return "\n".join(lines).rstrip() + "\n"


def _subcommands(p: argparse.ArgumentParser) -> argparse._SubParsersAction | None:
    return next((a for a in p._actions  # noqa: SLF001 - argparse offers no public walk
                 if isinstance(a, argparse._SubParsersAction)), None)  # noqa: SLF001


def _walk(p: argparse.ArgumentParser, path: list[str],
          text: str) -> Iterator[tuple[list[str], argparse.ArgumentParser, str]]:
    """Every parser below ``p`` (itself first), in the order its verbs were added."""
    yield path, p, text
    sub = _subcommands(p)
    if sub is None:
        return
    helps = {a.dest: a.help or "" for a in sub._choices_actions}  # noqa: SLF001
    seen: set[int] = set()
    for name, child in sub.choices.items():
        if id(child) in seen:  # an alias (completion / completions) shares its parser
            continue
        seen.add(id(child))
        yield from _walk(child, [*path, name], helps.get(name, ""))


def _shown(p: argparse.ArgumentParser) -> list[argparse.Action]:
    return [a for a in p._actions  # noqa: SLF001
            if a.help != argparse.SUPPRESS and not isinstance(a, argparse._HelpAction)  # noqa: SLF001
            and not isinstance(a, argparse._SubParsersAction)]  # noqa: SLF001


def _metavar(a: argparse.Action) -> str:
    if a.metavar:
        return a.metavar if isinstance(a.metavar, str) else " ".join(a.metavar)
    if a.choices:
        return "{" + ",".join(map(str, a.choices)) + "}"
    return a.dest.upper()


def _usage(path: list[str], p: argparse.ArgumentParser) -> str:
    words = [" ".join(path)]
    if any(a.option_strings for a in _shown(p)):
        words.append("[OPTIONS]")
    for a in _shown(p):
        if a.option_strings:
            continue
        name = _metavar(a)
        words.append(f"[{name}]" if a.nargs in ("?", "*") else
                     f"{name}..." if a.nargs == "+" else name)
    if _subcommands(p) is not None:
        words.append("<COMMAND>")
    return " ".join(words)


def _help(a: argparse.Action) -> str:
    text = a.help or ""
    try:
        text = text % {**vars(a), "prog": "", "default": a.default}
    except (KeyError, TypeError, ValueError):
        pass
    return " ".join(text.split())


def _section(path: list[str], p: argparse.ArgumentParser, text: str) -> list[str]:
    out = [f"## `{' '.join(path)}`", ""]
    if text:
        out += [" ".join(text.split()), ""]
    out += [f"**Usage:** `{_usage(path, p)}`", ""]
    sub = _subcommands(p)
    if sub is not None:
        out += ["**Commands:**", ""]
        helps = {a.dest: a.help or "" for a in sub._choices_actions}  # noqa: SLF001
        out += [f"- `{name}`" + (f": {' '.join(h.split())}" if (h := helps.get(name)) else "")
                for name in sub.choices]
        out.append("")
    positionals = [a for a in _shown(p) if not a.option_strings]
    options = [a for a in _shown(p) if a.option_strings]
    if positionals:
        out += ["**Arguments:**", ""]
        out += [f"- `{_metavar(a)}`" + (f": {h}" if (h := _help(a)) else "")
                for a in positionals]
        out.append("")
    if options:
        out += ["**Options:**", ""]
        for a in options:
            flags = ", ".join(a.option_strings)
            if a.nargs != 0:
                flags += f" {_metavar(a)}"
            out.append(f"- `{flags}`" + (f": {h}" if (h := _help(a)) else ""))
        out.append("")
    return out
