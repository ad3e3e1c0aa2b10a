"""``torc workflows create SPEC --dry-run`` and ``torc workflows execution-plan SPEC|ID``:
what a spec will create and do, without storing anything."""

from __future__ import annotations

import argparse
from typing import Any

from torc.client import output, plans
from torc.client.stub import TorcClient
from torc.spec.load import load_file


def dry_run(a: argparse.Namespace) -> None:
    """What ``create`` would store: nothing is sent to a coordinator."""
    spec, jobs, actions = plans.from_spec(load_file(a.spec), a.spec)
    rrs = spec["resource_requirements"]
    rows = [{"name": n, "depends_on": deps, "resource_requirements": rrs[j["rr"]]["name"],
             "command": j["command"]} for (n, deps), j in zip(jobs, spec["jobs"], strict=True)]
    if a.format == "json":
        output.emit_json({"name": spec["name"], "num_jobs": len(rows),
                          "num_dependencies": sum(len(r["depends_on"]) for r in rows),
                          "jobs": rows, "actions": actions, "files": spec["files"],
                          "user_data": spec["user_data"], "stored": False})
        return
    output.table(f"{spec['name']}: {len(rows)} job(s), "
                 f"{sum(len(r['depends_on']) for r in rows)} dependencies (dry run: "
                 "nothing stored)", [{**r, "depends_on": ", ".join(r["depends_on"][:5])
                                      + (" ..." if len(r["depends_on"]) > 5 else "")}
                                     for r in rows[:200]],
                 ["name", "depends_on", "resource_requirements", "command"])
    if len(rows) > 200:
        print(f"... and {len(rows) - 200} more job(s) (-f json lists them all)")
    if actions:
        output.table("actions", [{"trigger_type": x["trigger_type"],
                                  "action_type": x["action_type"],
                                  "jobs": len(x.get("jobs", []))} for x in actions],
                     ["trigger_type", "action_type", "jobs"])


def cmd_execution_plan(c: TorcClient, a: argparse.Namespace) -> None:
    if a.target.isdigit():
        jobs, actions = plans.from_coordinator(c, int(a.target))
    else:
        _, jobs, actions = plans.from_spec(load_file(a.target), a.target)
    plan = plans.execution_plan(jobs, actions)
    if a.format == "json":
        output.emit_json(plan)
        return

    def said(items: list[dict[str, Any]]) -> str:
        return "; ".join(f"action {x['action']} {x['action_type']}"
                         + (f" ({x['allocations']})" if "allocations" in x else "")
                         for x in items)

    rows = [{"stage": "start", "jobs": "", "actions": said(plan["at_start"])}]
    for s in plan["stages"]:
        names = ", ".join(s["jobs"][:4]) + (f" ... ({s['num_jobs']})" if s["num_jobs"] > 4
                                            else "")
        rows.append({"stage": s["stage"], "jobs": names,
                     "actions": "; ".join(p for p in (
                         said(s["when_ready"]) and "when ready: " + said(s["when_ready"]),
                         said(s["when_complete"]) and "when complete: "
                         + said(s["when_complete"])) if p)})
    rows.append({"stage": "end", "jobs": "", "actions": said(plan["at_end"])})
    output.table(f"execution plan: {plan['num_jobs']} job(s) in {plan['num_stages']} "
                 "stage(s)", rows, ["stage", "jobs", "actions"])


def add_commands(workflow_verbs: Any) -> None:
    """``workflows execution-plan`` (``create --dry-run`` is an option of create)."""
    s = workflow_verbs.add_parser("execution-plan", help="stages, and the actions and "
                                  "allocations each triggers, of a spec or a workflow")
    s.add_argument("target", metavar="SPEC|ID")
    s.set_defaults(func=cmd_execution_plan)
