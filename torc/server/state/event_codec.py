"""Events to and from the JSON their log records hold: ``to_json`` writes version 2;
``from_json`` reads versions 1 and 2 and refuses anything else (an unknown kind, version or
field is damage, not something to guess at)."""

from __future__ import annotations

import dataclasses
from typing import Any

from torc.server.state.events import KINDS, VERSION, Event, ReportRow

# Version 1 spelled some fields tersely.
_V1_NAMES = {"wf": "workflow_id", "worker": "worker_id", "r": "rows", "cid": "claim_id",
             "res": "resources", "exec": "execution", "host": "hostname", "node": "node_name",
             "action": "action_id", "actions": "action_ids", "group": "group_id",
             "nodes": "num_nodes"}
_V1_JOBS = {"claim": "job_ids"}  # "jobs" meant the claimed job ids


def to_json(event: Event) -> dict[str, Any]:
    """The event as JSON-able data (version 2)."""
    data: dict[str, Any] = {"v": VERSION, "t": event.KIND}
    for f in dataclasses.fields(event):
        data[f.name] = getattr(event, f.name)
    if "rows" in data:
        data["rows"] = [_trimmed(r) for r in data["rows"]]
    return data


_ROW_DEFAULTS = tuple(ReportRow._field_defaults.values())
_ROW_BASE = len(ReportRow._fields) - len(_ROW_DEFAULTS)


def _trimmed(row: ReportRow) -> tuple:
    """A row without its trailing default fields: the common report stays eight numbers."""
    n = len(row)
    while n > _ROW_BASE and row[n - 1] == _ROW_DEFAULTS[n - 1 - _ROW_BASE]:
        n -= 1
    return tuple(row[:n])


def _row(r: list) -> ReportRow:
    row = ReportRow(*r)
    if len(r) > _ROW_BASE:
        row = row._replace(metrics=None if row.metrics is None else tuple(row.metrics),
                           output_mtimes=tuple(tuple(p) for p in row.output_mtimes))
    return row


def from_json(data: dict[str, Any]) -> Event:
    """Rebuild an event; ValueError for an unknown kind, version or field."""
    version = data.get("v", 1)
    kind = data.get("t")
    cls = KINDS.get(kind) if isinstance(kind, str) else None
    if cls is None or version not in (1, VERSION):
        raise ValueError(f"unknown event kind {kind!r} or version {version!r}")
    values = {k: v for k, v in data.items() if k not in ("v", "t")}
    if version == 1:
        assert isinstance(kind, str)  # cls was found by it
        values = {(_V1_JOBS.get(kind, "jobs") if k == "jobs" else _V1_NAMES.get(k, k)): v
                  for k, v in values.items()}
    if "rows" in values:
        values["rows"] = tuple(_row(r) for r in values["rows"])
    if values.get("mtimes") is not None:
        values["mtimes"] = tuple(tuple(p) for p in values["mtimes"])
    if "events" in values:
        values["events"] = tuple(tuple(e) for e in values["events"])
    for name in ("job_ids", "action_ids", "add", "remove"):
        if name in values:
            values[name] = tuple(values[name])
    try:
        return cls(**values)
    except TypeError as e:
        raise ValueError(f"event {kind!r}: {e}") from None
