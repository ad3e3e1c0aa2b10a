"""Parameter expansion: one job (or file) entry with ``parameters`` becomes many.

Values are ``"1:100"`` (inclusive range), ``"0:100:10"`` (with step), ``"[a,b,c]"`` (list) or a
YAML list; templates use ``{i}``, ``{i:03d}``, ``{lr:.4f}``.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

_PLACEHOLDER = re.compile(r"\{(\w+)(?::([^{}]*))?\}")


def scalar(text: str) -> Any:
    text = text.strip()
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    if len(text) >= 2 and text[0] == text[-1] and text[0] in "'\"":
        return text[1:-1]
    return text


def _parse_values(name: str, value: Any) -> list[Any]:
    """Return the list of values a parameter takes; ValueError names the parameter."""
    if isinstance(value, list):
        if not value:
            raise ValueError(f"parameter {name!r} has no values")
        return list(value)
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValueError(f"parameter {name!r}: expected a range 'a:b[:step]' or a list '[x,y]'")
    if isinstance(value, (int, float)):
        return [value]
    text = value.strip()
    if text.startswith("[") and text.endswith("]"):
        items = [scalar(p) for p in text[1:-1].split(",") if p.strip()]
        if not items:
            raise ValueError(f"parameter {name!r} has no values")
        return items
    parts = text.split(":")
    if len(parts) in (2, 3):
        nums = [scalar(p) for p in parts]
        if all(isinstance(n, int) for n in nums):
            start, stop = nums[0], nums[1]
            step = nums[2] if len(nums) == 3 else 1
            if step == 0:
                raise ValueError(f"parameter {name!r}: step must not be 0 in {text!r}")
            # Inclusive at both ends, counting down with a negative step ("10:0:-5").
            values = list(range(start, stop + (1 if step > 0 else -1), step))
        elif all(isinstance(n, (int, float)) for n in nums):
            start, stop = float(nums[0]), float(nums[1])
            step = float(nums[2]) if len(nums) == 3 else 1.0
            if step == 0:
                raise ValueError(f"parameter {name!r}: step must not be 0 in {text!r}")
            count = int((stop - start) / step + 1e-9) + 1
            values = [round(start + k * step, 12) for k in range(max(count, 0))]
        else:
            raise ValueError(f"parameter {name!r}: invalid range {text!r}")
        if not values:
            raise ValueError(f"parameter {name!r}: range {text!r} is empty")
        return values
    return [scalar(text)]


# A format width or precision above this is a typo or an attack ({i:>1000000000} would
# allocate a gigabyte per job), never a useful job name.
MAX_FORMAT_WIDTH = 1000
_WIDTHS = re.compile(r"\d+")


def _format(value: Any, fmt: str, name: str) -> str:
    if any(int(w) > MAX_FORMAT_WIDTH for w in _WIDTHS.findall(fmt)):
        raise ValueError(f"placeholder {{{name}:{fmt}}}: width or precision above "
                         f"{MAX_FORMAT_WIDTH}")
    try:
        return format(value, fmt)
    except (ValueError, TypeError) as e:
        raise ValueError(f"placeholder {{{name}:{fmt}}} cannot format {value!r}: {e}") from None


def substitute(template: str, values: dict[str, Any]) -> str:
    """Replace ``{name}`` / ``{name:fmt}`` for known parameter names; leave other braces alone.

    ValueError names the placeholder when a value cannot be formatted as asked.
    """

    def repl(m: re.Match[str]) -> str:
        name, fmt = m.group(1), m.group(2)
        if name not in values:
            return m.group(0)
        return _format(values[name], fmt or "", name)

    return _PLACEHOLDER.sub(repl, template)


def referenced(template: str, names: set[str]) -> set[str]:
    """Which of ``names`` appear as placeholders in ``template``."""
    return {m.group(1) for m in _PLACEHOLDER.finditer(template) if m.group(1) in names}


def _apply(value: Any, values: dict[str, Any]) -> Any:
    if isinstance(value, str):
        return substitute(value, values)
    if isinstance(value, list):
        return [_apply(v, values) for v in value]
    if isinstance(value, dict):  # user data
        return {k: _apply(v, values) for k, v in value.items()}
    return value


# A spec may expand to at most this many entries (a typo like "1:1000000000" must fail fast).
MAX_EXPANSION = 10_000_000


def parse_values(name: str, value: Any) -> list[Any]:
    """Values of one parameter, refusing ranges longer than MAX_EXPANSION."""
    if isinstance(value, str) and value.count(":") in (1, 2) and not value.strip().startswith("["):
        parts = value.split(":")
        try:
            nums = [float(p) for p in parts]
        except ValueError:
            nums = []
        if len(nums) >= 2:
            step = nums[2] if len(nums) == 3 else 1.0
            if step != 0 and (nums[1] - nums[0]) / step > MAX_EXPANSION:
                raise ValueError(f"parameter {name!r}: range {value!r} has more than "
                                 f"{MAX_EXPANSION:,} values")
    return _parse_values(name, value)


def combinations(params: dict[str, Any], mode: str, where: str,
                 limit: int = MAX_EXPANSION) -> Iterator[dict[str, Any]]:
    """All value assignments of ``params`` under ``mode`` (``product`` or ``zip``), lazily."""
    names = list(params)
    lists = []
    for n in names:
        try:
            lists.append(parse_values(n, params[n]))
        except ValueError as e:
            raise ValueError(f"{where}: {e}") from None
    total = 1
    for values in lists:
        total *= len(values)
    if mode == "zip":
        total = min((len(v) for v in lists), default=1)
    if total > limit:
        raise ValueError(f"{where}: parameters expand to {total:,} entries; at most "
                         f"{MAX_EXPANSION:,} are allowed in a whole spec")
    if mode == "zip":
        lengths = {len(v) for v in lists}
        if len(lengths) > 1:
            raise ValueError(f"{where}: parameter_mode 'zip' needs lists of equal length")
        rows = zip(*lists, strict=True)
    elif mode == "product":
        rows = itertools.product(*lists)
    else:
        raise ValueError(f"{where}: parameter_mode must be 'product' or 'zip', got {mode!r}")
    return (dict(zip(names, row, strict=True)) for row in rows)


_PARAM_KEYS = frozenset(("parameters", "parameter_mode", "use_parameters"))


def expands(entry: dict[str, Any], shared: dict[str, Any]) -> bool:
    """Whether :func:`expand_entry` can make anything but ``entry`` itself: not without
    parameters of its own or shared ones (most jobs of a big spec)."""
    return bool(shared) or not _PARAM_KEYS.isdisjoint(entry)


def expand_entry(
    entry: dict[str, Any], shared: dict[str, Any], where: str, limit: int = MAX_EXPANSION
) -> Iterator[dict[str, Any]]:
    """Expand one job/file entry into concrete entries (without ``parameters`` keys), lazily.

    ``shared`` are the workflow-level parameters. As in Torc, an entry takes those it names in
    ``use_parameters``; its own ``parameters`` override shared ones of the same name. Without
    ``use_parameters``, it takes those whose placeholder appears in its name.
    """
    if not expands(entry, shared):
        return iter((entry,))
    own = entry.get("parameters") or {}
    if not isinstance(own, dict):
        raise ValueError(f"{where}.parameters: expected a mapping of name to values")
    use = entry.get("use_parameters")
    if use is not None:
        if not isinstance(use, list) or not all(isinstance(u, str) for u in use):
            raise ValueError(f"{where}.use_parameters: expected a list of parameter names")
        unknown = [u for u in use if u not in shared and u not in own]
        if unknown:
            raise ValueError(f"{where}.use_parameters: {unknown[0]!r} is not a workflow "
                             "parameter")
        used_shared = set(use)
    else:
        name = entry.get("name")
        used_shared = referenced(name, set(shared)) if isinstance(name, str) else set()
    params = {k: shared[k] for k in used_shared if k not in own}
    params.update(own)
    base = {k: v for k, v in entry.items()
            if k not in ("parameters", "parameter_mode", "use_parameters")}
    if not params:
        return iter([base])
    mode = entry.get("parameter_mode", "product")
    name = base.get("name")
    in_name = referenced(name, set(params)) if isinstance(name, str) else set(params)
    if in_name != set(params):
        return iter(_gathered(base, params, in_name, mode, where, limit))
    return ({k: _apply(v, values) for k, v in base.items()}
            for values in combinations(params, mode, where, limit))


def _gathered(base: dict[str, Any], params: dict[str, Any], in_name: set[str], mode: str,
              where: str, limit: int) -> list[dict[str, Any]]:
    """Parameters an entry's name does not use do not make more entries: each name's entry
    gathers their values into its lists. ``report_{d}`` with ``depends_on: [analyze_{d}_{a}]``
    over d and a is one report per d waiting for every analysis of it, which is what Torc's
    examples mean (Torc itself makes same-named copies, which its own validation refuses). A
    non-list field that would differ between the gathered values is an error."""
    groups: dict[tuple, list[dict[str, Any]]] = {}
    for values in combinations(params, mode, where, limit):
        groups.setdefault(tuple(repr(values[n]) for n in sorted(in_name)), []).append(values)
    out = []
    for rows in groups.values():
        entry: dict[str, Any] = {}
        for k, v in base.items():
            if isinstance(v, list) and all(isinstance(x, str) for x in v):
                seen: dict[str, None] = {}
                for values in rows:
                    for item in _apply(v, values):
                        seen.setdefault(item, None)
                entry[k] = list(seen)
                continue
            expanded = {repr(_apply(v, values)) for values in rows}
            if len(expanded) > 1:
                raise ValueError(f"{where}: {k!r} changes with parameter(s) "
                                 f"{', '.join(sorted(set(params) - in_name))} but the name "
                                 f"{base['name']!r} does not: put them in the name to make "
                                 "one entry per value")
            entry[k] = _apply(v, rows[0])
        out.append(entry)
    return out
