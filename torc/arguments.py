"""Argument types that refuse what a flag cannot mean: NaN and infinities, zero or less where a
positive number is needed, ports beyond 0-65535. Shared by the three programs as argparse types,
and checked again after parsing (:func:`check_parsed`) for values a configuration file set,
which argparse does not convert or check."""

from __future__ import annotations

import argparse
import math
import shlex
from typing import Any

from torc.errors import TorcError


class Number:
    """An argparse type: an int or a finite float within bounds."""

    def __init__(self, kind: type = float, low: float | None = None, high: float | None = None,
                 above: bool = False, what: str = "") -> None:
        self.kind, self.low, self.high, self.above = kind, low, high, above
        self.what = what or self._describe()
        self.__name__ = self.what  # argparse names the type in its messages

    def _describe(self) -> str:
        noun = "an integer" if self.kind is int else "a number"
        if self.low is not None and self.high is not None:
            return f"{noun} from {self.low:g} to {self.high:g}"
        if self.low is not None:
            return f"{noun} {'above' if self.above else 'of at least'} {self.low:g}"
        return f"a finite {noun[2:] if noun.startswith('a ') else noun[3:]}"

    def __call__(self, text: Any) -> Any:
        try:
            value = self.kind(text)
        except (TypeError, ValueError):
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.what}") from None
        if self.kind is float and not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.what}")
        if self.low is not None and (value < self.low or (self.above and value == self.low)):
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.what}")
        if self.high is not None and value > self.high:
            raise argparse.ArgumentTypeError(f"{text!r} is not {self.what}")
        return value


PORT = Number(int, 0, 65535, what="a port from 0 to 65535")
POSITIVE = Number(float, 0, above=True)
NON_NEGATIVE = Number(float, 0)
POSITIVE_INT = Number(int, 1)
NON_NEGATIVE_INT = Number(int, 0)


def check_parsed(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Check every value a :class:`Number` option holds (a configuration file's value reaches
    ``args`` unchecked); ``parser.error`` names the option and the value."""
    for action in parser._actions:  # noqa: SLF001 - argparse offers no public walk
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001
            chosen = action.choices.get(getattr(args, action.dest, None) or "")
            if chosen is not None:
                check_parsed(chosen, args)
            continue
        if not isinstance(action.type, Number):
            continue
        value = getattr(args, action.dest, None)
        if value is None:
            continue
        try:
            action.type(value)
        except argparse.ArgumentTypeError as e:
            flag = action.option_strings[-1] if action.option_strings else action.dest
            parser.error(f"{flag} (or its configuration file setting): {e}")


def split_command(text: str, flag: str) -> list[str]:
    """A command given as one string (``--recovery-hook``, ``--ai-agent``,
    ``--worker-command``) split as a shell would, without running a shell; a TorcError
    naming ``flag`` when it is empty or its quoting is broken."""
    try:
        parts = shlex.split(text)
    except ValueError as e:
        raise TorcError(f"{flag} {text!r}: {e}") from None
    if not parts:
        raise TorcError(f"{flag} is empty")
    return parts
