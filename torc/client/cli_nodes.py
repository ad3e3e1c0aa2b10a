"""``torc workers list`` (Torc's ``compute-nodes list``) and ``torc allocations list``: who ran
a workflow's jobs, and the Slurm allocations they ran in."""

from __future__ import annotations

import argparse
from typing import Any

from torc.client import output
from torc.client.stub import TorcClient


def cmd_workers(c: TorcClient, a: argparse.Namespace) -> None:
    rows = [output.worker_dict(w, a.id) for w in c.list_workers(a.id)
            if not a.scheduled_compute_node or w.slurm_job_id == a.scheduled_compute_node]
    if a.format != "json":
        rows = [output.for_table(r) for r in rows]
    output.rows(a.format, f"workers of workflow {a.id}", rows,
                ["id", "role", "node_name", "hostname", "slurm_job_id", "num_cpus", "memory",
                 "num_gpus", "state", "last_heartbeat", "running_jobs"], wrap="compute_nodes")


def cmd_allocations(c: TorcClient, a: argparse.Namespace) -> None:
    rows = [output.allocation_dict(x) for x in c.list_allocations(a.id)]
    output.rows(a.format, f"Slurm allocations of workflow {a.id}", rows,
                ["slurm_job_id", "scheduler", "num_nodes", "state", "submitted_at",
                 "updated_at"])


def add_commands(sub: Any) -> None:
    """``torc workers|compute-nodes|allocations list``."""
    for name in ("workers", "compute-nodes"):
        w = sub.add_parser(name, help="workers (compute nodes) of a workflow")
        wsub2 = w.add_subparsers(dest="verb", required=True, metavar="VERB")
        s = wsub2.add_parser("list", help="list workers")
        s.add_argument("id", type=int)
        s.add_argument("--scheduled-compute-node", metavar="SLURM_JOB_ID",
                       help="only the workers of this Slurm allocation")
        s.set_defaults(func=cmd_workers)

    al = sub.add_parser("allocations", help="Slurm allocations of a workflow")
    asub = al.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = asub.add_parser("list", help="list allocations with their Slurm state")
    s.add_argument("id", type=int)
    s.set_defaults(func=cmd_allocations)
