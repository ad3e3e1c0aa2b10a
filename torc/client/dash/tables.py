"""The workflow page's data tabs (torc-dash's): files, user data, results with their resource
figures, compute nodes, resource requirements and Slurm schedulers. Each is a table of
columns and rows, filtered by ``column:value`` (or a bare word anywhere), sorted by a column
and paged. Results, files, user data and compute nodes are paged by the coordinator when
neither filtered nor sorted; the spec's sections (requirements, schedulers) are short."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from torc.client import output
from torc.client.stub import TorcClient
from torc.errors import InvalidArgument
from torc.proto import torc_pb2 as pb

TABLES = ("files", "user_data", "results", "compute_nodes", "resource_requirements",
          "schedulers")
MAX_ROWS = 500  # a page at most


@dataclass(frozen=True)
class Query:
    """What a tab asks: a filter (``column:value`` or a bare word), a sort, a page."""

    filter: str = ""
    sort: str = ""
    descending: bool = False
    offset: int = 0
    limit: int = 50

    def plain(self) -> bool:
        """Neither filtered nor sorted: the coordinator can page it."""
        return not self.filter and not self.sort


def _results(c: TorcClient, wf_id: int, q: Query) -> tuple[list[dict[str, Any]], int | None]:
    if q.plain():  # the coordinator pages: a 1,000,000-result run is never read whole
        resp = c.call("ListResults", pb.ListResultsRequest(
            workflow_id=wf_id, all_runs=True, offset=q.offset, limit=q.limit))
        return [_result(r) for r in resp.results], resp.total
    return [_result(r) for r in c.list_results(wf_id, all_runs=True)], None


def _result(r: pb.JobResult) -> dict[str, Any]:
    d = output.result_dict(r)
    return {k: d[k] for k in ("id", "job_id", "job_name", "run_id", "attempt_id", "status",
                              "return_code", "exec_seconds", "peak_memory", "avg_memory",
                              "peak_cpu_percent", "avg_cpu_percent", "end_time", "worker_id",
                              "message")}


def _spec_section(c: TorcClient, wf_id: int, key: str) -> list[dict[str, Any]]:
    return c.workflow_spec(wf_id).get(key) or []  # without its jobs


def rows_of(c: TorcClient, name: str, wf_id: int, q: Query
            ) -> tuple[list[dict[str, Any]], int | None]:
    """The table's rows (all of them, or the page when the coordinator paged: then with the
    total)."""
    if name == "results":
        return _results(c, wf_id, q)
    # Neither filtered nor sorted: the coordinator pages (and counts) files, user data and
    # compute nodes as it pages results; else every row is read and the page made here.
    offset, limit = (q.offset, q.limit) if q.plain() else (0, 0)
    if name == "files":
        resp = c.page("ListFiles", wf_id, offset, limit)
        return [{"id": f.id, "name": f.name, "path": f.path, "required": f.required,
                 "modified": output.ts(f.mtime) if f.HasField("mtime") else None}
                for f in resp.files], resp.total if q.plain() else None
    if name == "user_data":
        resp = c.page("ListUserData", wf_id, offset, limit)
        return [{"id": u.id, "name": u.name, "ephemeral": u.is_ephemeral,
                 "data": u.data_json} for u in resp.user_data], resp.total if q.plain() else None
    if name == "compute_nodes":
        resp = c.page("ListWorkers", wf_id, offset, limit)
        return [{k: v for k, v in output.worker_dict(w, wf_id).items()
                 if not isinstance(v, (dict, list))} for w in resp.workers], \
            resp.total if q.plain() else None
    if name == "resource_requirements":
        return [{k: v for k, v in r.items()}
                for r in _spec_section(c, wf_id, "resource_requirements")], None
    if name == "schedulers":
        return [{k: (json.dumps(v) if isinstance(v, (dict, list)) else v)
                 for k, v in s.items()}
                for s in _spec_section(c, wf_id, "slurm_schedulers")], None
    raise InvalidArgument(f"no table {name!r}: one of {', '.join(TABLES)}")


def _matches(row: dict[str, Any], flt: str) -> bool:
    column, sep, value = flt.partition(":")
    if sep and column.strip() in row:
        return value.strip().lower() in str(row[column.strip()]).lower()
    return any(flt.lower() in str(v).lower() for v in row.values())


def _key(value: Any) -> tuple[int, Any]:
    if value is None:
        return (2, "")
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return (0, value)
    return (1, str(value).lower())


def table(c: TorcClient, name: str, wf_id: int, q: Query) -> dict[str, Any]:
    """``{"columns", "rows" (a page, as lists), "total"}``."""
    rows, total = rows_of(c, name, wf_id, q)
    columns = list(rows[0]) if rows else []
    if total is None:
        if q.filter:
            rows = [r for r in rows if _matches(r, q.filter)]
        if q.sort:
            if rows and q.sort not in rows[0]:
                raise InvalidArgument(f"no column {q.sort!r} to sort by: {', '.join(columns)}")
            rows.sort(key=lambda r: _key(r.get(q.sort)), reverse=q.descending)
        total = len(rows)
        rows = rows[q.offset:q.offset + q.limit]
    return {"columns": columns, "rows": [[r.get(k) for k in columns] for r in rows],
            "total": total}
