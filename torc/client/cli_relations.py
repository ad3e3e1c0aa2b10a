"""Torc's read verbs over a workflow's definition: ``job-dependencies job-job|job-file|
job-user-data``, ``resource-requirements``, ``failure-handlers``, ``slurm list|get``,
``scheduled-compute-nodes list``, ``events list``; and Torc's verbs that change a workflow
piece by piece, which torc-py does not offer (yet), each refused saying what to use."""

from __future__ import annotations

import argparse
from typing import Any

from torc.client import output, pick
from torc.client.parser_walk import verbs_of
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.spec.units import format_duration, format_memory, parse_memory

BUILD_FROM_SPEC = ("torc-py builds a workflow from its spec: add this to the spec and `torc "
                   "workflows create SPEC` (`torc jobs update` changes a job's command and "
                   "resources, `torc user-data update` a value)")
NOT_HERE = {
    ("jobs", "create"): BUILD_FROM_SPEC, ("jobs", "create-from-file"): BUILD_FROM_SPEC,
    ("jobs", "delete"): BUILD_FROM_SPEC, ("jobs", "delete-all"): BUILD_FROM_SPEC,
    ("files", "create"): BUILD_FROM_SPEC, ("files", "update"): BUILD_FROM_SPEC,
    ("files", "delete"): BUILD_FROM_SPEC, ("user-data", "create"): BUILD_FROM_SPEC,
    ("user-data", "delete"): BUILD_FROM_SPEC, ("user-data", "delete-all"): BUILD_FROM_SPEC,
    ("resource-requirements", "create"): BUILD_FROM_SPEC,
    ("resource-requirements", "update"): "torc jobs update ID JOB --num-cpus N --memory 8g "
                                         "--runtime PT2H changes what a job asks for",
    ("resource-requirements", "delete"): BUILD_FROM_SPEC,
    ("slurm", "create"): BUILD_FROM_SPEC + "; `torc slurm generate` writes schedulers into it",
    ("slurm", "update"): BUILD_FROM_SPEC, ("slurm", "delete"): BUILD_FROM_SPEC,
    ("results", "delete"): "results are the record of what ran; `torc workflows "
                           "reset-status` runs jobs again, `torc workflows delete` drops all",
    ("events", "create"): "events are recorded by the coordinator as things happen",
    ("events", "delete"): "events go with their workflow (`torc workflows delete`)",
    ("workflows", "new"): "write the spec (YAML, JSON, JSON5 or KDL) and `torc workflows "
                          "create SPEC --dry-run` to check it",
    ("workflows", "update"): BUILD_FROM_SPEC,
    ("workflows", "create-slurm"): "`torc submit-slurm --account A SPEC`, or `torc slurm "
                                   "generate --account A SPEC -o OUT` then `torc workflows "
                                   "create OUT`",
}


def _spec(c: TorcClient, wf_id: int) -> dict[str, Any]:
    return c.workflow_spec(wf_id)  # without its jobs: what these verbs show


def _page(a: argparse.Namespace, items: list[dict[str, Any]]) -> dict[str, Any]:
    """Torc's paged response: {"items": [...], "offset", "max_limit", "count", ...}."""
    page = items[a.offset:a.offset + a.limit]
    return {"items": page, "offset": a.offset, "max_limit": a.limit, "count": len(page),
            "total_count": len(items), "has_more": a.offset + len(page) < len(items)}


def cmd_job_job(c: TorcClient, a: argparse.Namespace) -> None:
    jobs = c.list_jobs(a.id)
    names = {j.id: j.name for j in jobs}
    rows = [{"job_id": j.id, "job_name": j.name, "depends_on_job_id": d,
             "depends_on_job_name": names.get(d, ""), "workflow_id": a.id}
            for j in jobs for d in j.depends_on]
    _relations(a, f"job dependencies of workflow {a.id}", rows,
               ["job_id", "job_name", "depends_on_job_id", "depends_on_job_name"])


def _producers_consumers(c: TorcClient, a: argparse.Namespace, kind: str,
                         items: list[tuple[int, str]]) -> list[dict[str, Any]]:
    jobs = c.list_jobs(a.id)
    ins = "input_files" if kind == "file" else "input_user_data"
    outs = "output_files" if kind == "file" else "output_user_data"
    rows = []
    for item_id, name in items:
        producers = [j for j in jobs if item_id in getattr(j, outs)] or [None]
        consumers = [j for j in jobs if item_id in getattr(j, ins)] or [None]
        for p in producers:
            for q in consumers:
                rows.append({f"{kind}_id": item_id, f"{kind}_name": name,
                             "producer_job_id": p.id if p else None,
                             "producer_job_name": p.name if p else None,
                             "consumer_job_id": q.id if q else None,
                             "consumer_job_name": q.name if q else None,
                             "workflow_id": a.id})
    return rows


def cmd_job_file(c: TorcClient, a: argparse.Namespace) -> None:
    rows = _producers_consumers(c, a, "file", [(f.id, f.name) for f in c.list_files(a.id)])
    _relations(a, f"job-file relationships of workflow {a.id}", rows,
               ["file_id", "file_name", "producer_job_id", "producer_job_name",
                "consumer_job_id", "consumer_job_name"])


def cmd_job_user_data(c: TorcClient, a: argparse.Namespace) -> None:
    data = c.page("ListUserData", a.id).user_data
    rows = _producers_consumers(c, a, "user_data", [(u.id, u.name) for u in data])
    _relations(a, f"job-user_data relationships of workflow {a.id}", rows,
               ["user_data_id", "user_data_name", "producer_job_id", "producer_job_name",
                "consumer_job_id", "consumer_job_name"])


def _relations(a: argparse.Namespace, title: str, rows: list[dict[str, Any]],
               columns: list[str]) -> None:
    if a.format == "json":
        output.emit_json(_page(a, rows))
    else:
        output.table(title, rows[a.offset:a.offset + a.limit], columns)


SECTIONS = {  # verb group -> (spec key, Torc's JSON key, table columns)
    "resource-requirements": ("resource_requirements", "resource_requirements",
                              ["id", "name", "num_cpus", "num_gpus", "num_nodes", "memory",
                               "runtime"]),
    "failure-handlers": ("failure_handlers", "failure_handlers", ["id", "name", "rules"]),
    "slurm": ("slurm_schedulers", "slurm_schedulers",
              ["id", "name", "account", "partition", "nodes", "walltime", "mem", "gres"]),
}


def _memory(text: Any) -> Any:
    """The stored ``1073741824b`` as a person writes it (``1g``)."""
    if not (isinstance(text, str) and text.endswith("b") and text[:-1].isdigit()):
        return text
    n = int(text[:-1])
    short = format_memory(n)  # kept only when it has a unit and is exact
    return short if short[-1].isalpha() and parse_memory(short) == n else text


def _runtime(text: Any) -> Any:
    """The stored ``PT3600S`` as ``PT1H`` (ISO 8601, largest units)."""
    if not (isinstance(text, str) and text.startswith("PT") and text.endswith("S")):
        return text
    try:
        return format_duration(float(text[2:-1]))
    except ValueError:
        return text


def _section(c: TorcClient, a: argparse.Namespace) -> list[dict[str, Any]]:
    key = SECTIONS[a.section][0]
    rows = [{"id": i, "workflow_id": a.id, **entry}
            for i, entry in enumerate(_spec(c, a.id).get(key) or [], 1)]
    for row in rows:
        if "memory" in row:
            row["memory"] = _memory(row["memory"])
        if "runtime" in row:
            row["runtime"] = _runtime(row["runtime"])
    return rows


def cmd_section_list(c: TorcClient, a: argparse.Namespace) -> None:
    _, wrap, columns = SECTIONS[a.section]
    rows = _section(c, a)
    if a.format != "json":
        rows = [_readable(r) for r in rows]
    output.rows(a.format, f"{a.section} of workflow {a.id}", rows, columns, wrap=wrap)


def _readable(row: dict[str, Any]) -> dict[str, Any]:
    """A spec entry for a table: memory in MiB/GiB, as every table shows it (JSON keeps the
    spec's ``1g``, as Torc's)."""
    if isinstance(row.get("memory"), str):
        try:
            return {**row, "memory": output.human_bytes(parse_memory(row["memory"]))}
        except ValueError:
            pass
    return row


def cmd_section_get(c: TorcClient, a: argparse.Namespace) -> None:
    if a.id is None:
        a.id = pick.workflow_id(c, a)  # $TORC_WORKFLOW_ID in a job
    found = [e for e in _section(c, a) if e["id"] == a.item_id]
    if not found:
        raise TorcError(f"workflow {a.id} has no {a.section} entry {a.item_id}")
    if a.format == "json":
        output.emit_json(found[0])
    else:
        output.table(f"{a.section} {a.item_id} of workflow {a.id}", [_readable(found[0])],
                     SECTIONS[a.section][2])


def cmd_scheduled_nodes(c: TorcClient, a: argparse.Namespace) -> None:
    rows = [output.allocation_dict(x) for x in c.list_allocations(a.id)]
    if a.scheduler_config_id is not None:  # the scheduler by its number in the spec
        names = [s["name"] for s in _spec(c, a.id).get("slurm_schedulers") or []]
        chosen = names[a.scheduler_config_id - 1] \
            if 1 <= a.scheduler_config_id <= len(names) else None
        rows = [r for r in rows if r["scheduler"] == chosen]
    if a.scheduler_id:
        rows = [r for r in rows if r["slurm_job_id"] == a.scheduler_id]
    if a.status:
        rows = [r for r in rows if r["state"].lower() == a.status.lower()]
    output.rows(a.format, f"scheduled compute nodes (Slurm allocations) of workflow {a.id}",
                rows, ["slurm_job_id", "scheduler", "num_nodes", "state", "submitted_at"],
                wrap="scheduled_compute_nodes")


def event_rows(c: TorcClient, wf_id: int) -> list[dict[str, Any]]:
    """The events the coordinator holds for a workflow (its feed, and job events from its
    recent results), oldest first, as Torc's EventModel (``data``) with our ``category`` and
    ``message`` beside."""
    c.get_workflow(wf_id)  # a missing workflow is NotFound, not an empty list
    rows: list[dict[str, Any]] = []
    for ev in c.event_history(wf_id):
        data: dict[str, Any] = {"category": ev.kind, "message": ev.message}
        if ev.job_id:
            data |= {"job_id": ev.job_id, "status": ev.job_status}
        rows.append({"id": len(rows) + 1, "workflow_id": wf_id,
                     "timestamp": output.ts(ev.timestamp), "category": ev.kind,
                     "message": ev.message, "data": data})
    return rows


def cmd_events_list(c: TorcClient, a: argparse.Namespace) -> None:
    events = event_rows(c, a.id)
    if a.category:
        events = [e for e in events if e["category"] == a.category]
    output.rows(a.format, f"events of workflow {a.id}", events[-a.limit:],
                ["id", "timestamp", "category", "message"], wrap="events")


def _refuse(group: str, verb: str) -> Any:
    def refuse(c: Any, a: argparse.Namespace) -> None:
        raise TorcError(f"torc {group} {verb}: {NOT_HERE[(group, verb)]}")
    return refuse


def add_commands(sub: Any) -> None:
    """Add the verbs above; called once every other group exists."""
    deps = verbs_of(sub, "job-dependencies", "job-job, job-file and job-user-data relations")
    for verb, func in (("job-job", cmd_job_job), ("job-file", cmd_job_file),
                       ("job-user-data", cmd_job_user_data)):
        s = deps.add_parser(verb, help=f"{verb} relationships of a workflow")
        s.add_argument("id", type=int)
        s.add_argument("-l", "--limit", type=int, default=10000)
        s.add_argument("--offset", type=int, default=0)
        s.set_defaults(func=func)
    for group, text in (("resource-requirements", "what jobs ask for (from the spec)"),
                        ("failure-handlers", "failure handlers (from the spec)"),
                        ("slurm", "")):
        verbs = verbs_of(sub, group, text)
        s = verbs.add_parser("list", help=f"the workflow's {SECTIONS[group][0]}")
        s.add_argument("id", type=int)
        s.set_defaults(func=cmd_section_list, section=group)
        s = verbs.add_parser("get", help="one of them, by its number in the spec")
        s.add_argument("item_id", type=int, metavar="ID")
        s.add_argument("-w", "--workflow-id", dest="id", type=int,
                       help="its workflow (default: $TORC_WORKFLOW_ID, or your only one)")
        s.set_defaults(func=cmd_section_get, section=group)
    nodes = verbs_of(sub, "scheduled-compute-nodes", "Slurm allocations of a workflow")
    s = nodes.add_parser("list", help="the workflow's Slurm allocations")
    s.add_argument("id", type=int)
    s.add_argument("--scheduler-id", help="only this allocation (its Slurm job id)")
    s.add_argument("--scheduler-config-id", type=int,
                   help="only allocations of this scheduler (its number in the spec)")
    s.add_argument("--status", help="only allocations in this Slurm state (e.g. RUNNING)")
    s.set_defaults(func=cmd_scheduled_nodes)
    events = verbs_of(sub, "events", "")
    s = events.add_parser("list", help="the events the coordinator recorded")
    s.add_argument("id", type=int)
    s.add_argument("-l", "--limit", type=int, default=10000)
    s.add_argument("-c", "--category", help="only events of this kind (e.g. complete)")
    s.set_defaults(func=cmd_events_list)
    for (group, verb), _ in NOT_HERE.items():
        verbs = verbs_of(sub, group, "")
        if verb not in verbs.choices:
            p = verbs.add_parser(verb, help="(not in torc-py: says what to use)")
            p.add_argument("args", nargs=argparse.REMAINDER)
            p.set_defaults(func=_refuse(group, verb), local=True)
