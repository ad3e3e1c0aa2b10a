"""Field-level checks of a spec, shared by its sections: types, ranges, text that processes
and protobuf can carry, regexes (RE2), and where an error points (file, line, key)."""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

import re2

from torc.errors import SpecError

RE2_OPTIONS = re2.Options()
RE2_OPTIONS.log_errors = False  # errors are raised, not printed to stderr by the library

# Characters a name may not hold: C0 controls (NUL, newline...) and DEL. Names end up in file
# names, batch scripts, tables and environment variables.
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
# Text fields (commands, paths, descriptions) may hold newlines and tabs, but never NUL: no
# process can be given an argument or environment value that contains one.
_NUL = "\x00"
MAX_METADATA_DEPTH = 64
# All text that parameter expansion may produce, summed over entries: a small spec must not
# make the coordinator build gigabytes.
MAX_EXPANDED_BYTES = 512 << 20
INT64 = (-(2**63), 2**63 - 1)
# The longest text a spec's fields may hold, by key: names end up in file names, tables,
# feed items and every snapshot, so a client must not make them megabytes.
MAX_NAME = 1024
LIMITS = {"name": MAX_NAME, "user": 256, "project": MAX_NAME, "description": 16 << 10}


class Ctx:
    """Where errors point: the spec's source; :meth:`fail` adds the line, if known, and the
    place (key, entry or job) to the message."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str, line: int | None = None) -> SpecError:
        loc = f"{self.source}:{line}" if line else self.source
        return SpecError(f"{loc}: {where}: {message}")


def plain(value: str) -> bool:
    """ASCII text without control characters: the common case, which :func:`text` and
    ``text(..., name=True)`` accept at once (a million jobs are checked without a line
    lookup each)."""
    return value.isascii() and value.isprintable()


def text(ctx: Ctx, value: str, where: str, line: int | None, name: bool = False) -> str:
    """Refuse text no process or protobuf can carry: lone surrogates (not UTF-8), NUL, and
    in names any control character."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise ctx.fail(where, f"{value!r} is not valid UTF-8 text", line) from None
    if name and _CONTROL.search(value):
        raise ctx.fail(where, f"name {value!r} must not contain control characters", line)
    if _NUL in value:
        raise ctx.fail(where, f"{value!r} must not contain a NUL character", line)
    return value


def check_data(ctx: Ctx, value: Any, where: str, line: int | None, depth: int = 0) -> None:
    """Free-form data (metadata, user_data): bounded nesting, valid text."""
    if depth > MAX_METADATA_DEPTH:
        raise ctx.fail(where, f"nested more than {MAX_METADATA_DEPTH} levels deep", line)
    if isinstance(value, str):
        text(ctx, value, where, line)
    elif isinstance(value, dict):
        for k, v in value.items():
            text(ctx, str(k), where, line)
            check_data(ctx, v, where, line, depth + 1)
    elif isinstance(value, list):
        for v in value:
            check_data(ctx, v, where, line, depth + 1)
    elif isinstance(value, int) and not isinstance(value, bool) and not (
            INT64[0] <= value <= INT64[1]):
        raise ctx.fail(where, f"integer {value} is out of range", line)
    elif isinstance(value, float) and not math.isfinite(value):
        raise ctx.fail(where, f"{value} is not a finite number (JSON has no NaN or infinity)",
                       line)


def line_of(obj: Any, key: str | None = None) -> int | None:
    lines = getattr(obj, "lines", None)
    if key is not None and lines:
        return lines.get(key)
    return getattr(obj, "line", None)




def check_keys(ctx: Ctx, obj: Any, allowed: Iterable[str], where: str) -> None:
    """Every key of ``obj`` is one of ``allowed``; the error names the first that is not."""
    if not isinstance(obj, dict):
        raise ctx.fail(where, f"expected a mapping, got {type(obj).__name__}")
    allowed = allowed if isinstance(allowed, (set, frozenset)) else set(allowed)
    if obj.keys() <= allowed:
        return
    for key in obj:
        if key not in allowed:
            raise ctx.fail(where, f"unknown key {key!r}", line_of(obj, key))


def str_field(ctx: Ctx, obj: dict, key: str, where: str, required: bool = False,
         default: str = "") -> str:
    value = obj.get(key)
    if value is None:
        if required:
            raise ctx.fail(where, f"missing required key {key!r}", line_of(obj))
        return default
    if not isinstance(value, str):
        raise ctx.fail(where, f"{key!r} must be a string, got {value!r}", line_of(obj, key))
    if required and not value.strip():
        raise ctx.fail(where, f"{key!r} must not be empty", line_of(obj, key))
    too_long = over_limit(key, value)
    if too_long:
        raise ctx.fail(where, too_long, line_of(obj, key))
    if plain(value):
        return value
    return text(ctx, value, f"{where}.{key}", line_of(obj, key), name=key == "name")


def int_field(ctx: Ctx, obj: dict, key: str, where: str, default: int, minimum: int = 0) -> int:
    value = obj.get(key, default)
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int):
        raise ctx.fail(where, f"{key!r} must be an integer, got {value!r}", line_of(obj, key))
    if value < minimum:
        raise ctx.fail(where, f"{key!r} must be >= {minimum}, got {value}", line_of(obj, key))
    if value > 2**62:
        raise ctx.fail(where, f"{key!r} is too large: {value}", line_of(obj, key))
    return value


def bool_field(ctx: Ctx, obj: dict, key: str, where: str, default: bool) -> bool:
    value = obj.get(key, default)
    if value is None:
        return default
    if not isinstance(value, bool):
        raise ctx.fail(where, f"{key!r} must be true or false, got {value!r}", line_of(obj, key))
    return value


def str_list(ctx: Ctx, obj: dict, key: str, where: str) -> list[str]:
    value = obj.get(key)
    if value is None:
        return []
    if isinstance(value, list):
        try:
            # The common case at C speed: only strings join, and the joined text is plain
            # when every one of them is (a million jobs' depends_on).
            if plain("".join(value)):
                return value
        except TypeError:
            pass
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ctx.fail(where, f"{key!r} must be a list of strings", line_of(obj, key))
    for v in value:
        if not plain(v):
            text(ctx, v, f"{where}.{key}", line_of(obj, key))
    return value


def list_field(ctx: Ctx, spec: dict, key: str) -> list:
    value = spec.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise ctx.fail(key, "expected a list", line_of(spec, key))
    return value


def compile_regex(ctx: Ctx, pattern: Any, where: str, line: int | None) -> Any:
    """A linear-time RE2 regex (the syntax of the Rust regex crate Torc uses): no pattern,
    however hostile, can make matching job names take exponential time."""
    if not isinstance(pattern, str):
        raise ctx.fail(where, f"regex must be a string, got {pattern!r}", line)
    text(ctx, pattern, where, line)
    try:
        return re2.compile(pattern, options=RE2_OPTIONS)
    except re2.error as e:
        detail = e.args[0].decode(errors="replace") if e.args and isinstance(
            e.args[0], bytes) else str(e)
        raise ctx.fail(where, f"invalid regex {pattern!r}: {detail}", line) from None


def sbatch_value(ctx: Ctx, value: str, where: str, line: int | None) -> str:
    """A value written into an ``#SBATCH`` line: one line, no control characters (a newline
    would end the directive and run the rest as a shell command on the node)."""
    if _CONTROL.search(value):
        raise ctx.fail(where, f"{value!r} must be one line without control characters", line)
    return text(ctx, value, where, line)




def no_match(pattern: str, rx: Any, names: list[str], what: str = "job") -> str:
    """Why a regex selects nothing, for the error. Names are matched as a whole (the actions
    reference reads ``.*_stage1`` as "all jobs ending with _stage1"); Torc itself searches
    anywhere in the name, so a pattern written for that is shown what it would match."""
    inside = [n for n in names if rx.search(n)]
    if not inside:
        return f"{pattern!r} matches no {what}"
    suggestion = ("" if pattern.startswith("^") else ".*") + pattern + \
        ("" if pattern.endswith("$") else ".*")
    return (f"{pattern!r} matches no {what} name as a whole (names are matched whole); it "
            f"matches inside {len(inside):,} name(s), e.g. {inside[0]!r}: did you mean "
            f"{suggestion!r}?")


def over_limit(field: str, value: str) -> str:
    """Why ``value`` is too long for ``field`` (its entry in LIMITS), or "" when it is not."""
    limit = LIMITS.get(field)
    if limit is None or len(value) <= limit:
        return ""
    return f"{field!r} is {len(value):,} characters long; at most {limit:,} are allowed"


def limited(field: str, value: str) -> str:
    """``value`` when it fits ``field``'s limit (LIMITS); a SpecError naming the field."""
    too_long = over_limit(field, value)
    if too_long:
        raise SpecError(too_long)
    return value
