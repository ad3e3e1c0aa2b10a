"""Torc's paging and sorting flags on every listing (``-l/--limit``, ``--offset``,
``--sort-by``, ``--reverse-sort``): added to each ``list`` verb that has none of its own and
applied to the rows :func:`torc.client.output.rows` prints."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from torc.arguments import NON_NEGATIVE_INT
from torc.errors import TorcError

FLAGS = (("-l", "--limit"), ("--offset",), ("--sort-by",), ("--reverse-sort",))


@dataclass
class Listing:
    """How the rows of this command's listing are sorted and cut."""

    offset: int = 0
    limit: int | None = None
    sort_by: str | None = None
    reverse: bool = False

    def apply(self, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
        """The rows sorted (missing values last) and cut to the page."""
        out = list(rows)
        if self.sort_by:
            field = self.sort_by
            if out and field not in out[0]:
                raise TorcError(f"--sort-by: no field {field!r}; one of " + ", ".join(out[0]))
            out.sort(key=lambda r: (r[field] is None, _key(r[field])), reverse=self.reverse)
        elif self.reverse:
            out.reverse()
        end = None if self.limit is None else self.offset + self.limit
        return out[self.offset:end]


def _key(value: Any) -> Any:
    return (0, value) if isinstance(value, int | float) else (1, str(value))


def add_flags(parser: argparse.ArgumentParser) -> None:
    """Give a listing verb the flags it lacks (dests ``listing_*``: a verb's own win)."""
    known = parser._option_string_actions  # noqa: SLF001
    specs = {"--limit": dict(type=NON_NEGATIVE_INT, help="at most this many rows"),
             "--offset": dict(type=NON_NEGATIVE_INT, help="skip this many rows first"),
             "--sort-by": dict(help="a field to sort by"),
             "--reverse-sort": dict(action="store_true", help="sort the other way")}
    for flags in FLAGS:
        free = [f for f in flags if f not in known]
        if flags[-1] in free:
            dest = "listing_" + flags[-1][2:].replace("-", "_")
            parser.add_argument(*free, dest=dest, default=argparse.SUPPRESS,
                                **specs[flags[-1]])


def from_args(args: argparse.Namespace) -> Listing:
    """The listing options a command line gave (defaults where it gave none)."""
    return Listing(offset=getattr(args, "listing_offset", 0),
                   limit=getattr(args, "listing_limit", None),
                   sort_by=getattr(args, "listing_sort_by", None),
                   reverse=getattr(args, "listing_reverse_sort", False))
