"""A loaded spec as the JSON the coordinator takes.

YAML gives some unquoted values types JSON has no room for: ``2024-01-01`` is a date,
``!!binary`` bytes, ``!!set`` a set; an alias can make a collection contain itself. Such a
value is named (file, line, where in the spec) instead of failing inside the JSON encoder.
"""

from __future__ import annotations

import datetime
import json
from typing import Any

from torc.errors import SpecError


def spec_json(raw: Any, source: str) -> str:
    """``raw`` as JSON; a SpecError naming the first value JSON cannot carry."""
    try:
        return json.dumps(raw)
    except (TypeError, ValueError, RecursionError):
        pass
    try:
        found = _unencodable(raw, "", None, set())
    except RecursionError:
        raise SpecError(f"{source}: the spec is nested too deeply") from None
    if found is None:  # json.dumps failed on something this walk does not name
        raise SpecError(f"{source}: the spec cannot be sent as JSON")
    where, line, value = found
    at = f"{source}:{line}" if line else source
    if isinstance(value, (list, dict)):
        raise SpecError(f"{at}: {where}: contains itself (a YAML alias of an enclosing "
                        "collection)")
    if isinstance(value, (datetime.date, datetime.datetime)):
        raise SpecError(f"{at}: {where}: {value} is read by YAML as a date, which a spec "
                        "cannot hold: quote it to keep it as text")
    raise SpecError(f"{at}: {where}: a YAML {type(value).__name__}, which a spec cannot "
                    "hold: write it as text (quoted), a number, a list or a mapping")


def _unencodable(value: Any, where: str, line: int | None,
                 open_ids: set[int]) -> tuple[str, int | None, Any] | None:
    """(where, line, value) of the first value JSON cannot encode, depth first."""
    if value is None or isinstance(value, (str, int, float)):
        return None
    if isinstance(value, (list, dict)):
        if id(value) in open_ids:
            return where or "the spec", line, value
        open_ids.add(id(value))
        if isinstance(value, dict):
            lines = getattr(value, "lines", {})
            items = [(f"{where}.{k}" if where else str(k), lines.get(k, line), v)
                     for k, v in value.items()]
        else:
            items = [(f"{where}[{i}]", line, v) for i, v in enumerate(value)]
        for item_where, item_line, item in items:
            found = _unencodable(item, item_where, item_line, open_ids)
            if found is not None:
                return found
        open_ids.discard(id(value))
        return None
    return where or "the spec", line, value
