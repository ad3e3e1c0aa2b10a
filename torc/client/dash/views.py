"""What the dashboard shows, shaped from the client's listings: the dependency graph (one node
per job, or the coordinator's groups beyond a few thousand jobs), the timeline of job runs per
worker, and the tail of a job's output. Pure functions, no I/O but the log tails."""

from __future__ import annotations

from collections import Counter, defaultdict
from pathlib import Path
from typing import Any

from torc import states as S
from torc.client.reports import stdio_base
from torc.client.tails import Unreadable, read_tail
from torc.errors import TorcError
from torc.naming import name_pattern
from torc.proto import torc_pb2 as pb

GRAPH_JOB_LIMIT = 2_000  # beyond this, jobs are drawn as parameter groups
FOLD_PAST = 20  # below it, a fan-out wider than this is one node (see graph)
TIMELINE_LIMIT = 5_000


MAX_ID = (1 << 63) - 1  # ids, offsets and limits travel as int64


def bounded(name: str, text: str, low: int, high: int) -> int:
    """A query or path value as an integer from ``low`` to ``high``; a TorcError naming it
    (the API answers 400) otherwise."""
    try:
        value = int(text)
    except ValueError:
        raise TorcError(f"{name}: expected an integer, got {text[:40]!r}") from None
    if not low <= value <= high:
        raise TorcError(f"{name}: {value} is out of range ({low} to {high})")
    return value


def _group_node(node_id: str, name: str, c: Counter[str]) -> dict[str, Any]:
    total = sum(c.values())
    return {"data": {"id": node_id, "group": name, "count": total,
                     "state": c.most_common(1)[0][0], "counts": dict(c),
                     "label": f"{name} × {total:,}"}}


def graph(jobs: list[pb.Job]) -> dict[str, Any]:
    """Cytoscape elements: jobs and their dependencies (up to GRAPH_JOB_LIMIT jobs; past it,
    ``grouped`` draws the coordinator's groups). A fan-out wider than FOLD_PAST (jobs of one
    name pattern with the same dependencies) is one node with counts: 51 jobs side by side
    drew as a hairline column of unreadable dots."""
    if len(jobs) > GRAPH_JOB_LIMIT:
        raise ValueError(f"{len(jobs)} jobs: past {GRAPH_JOB_LIMIT}, draw them grouped")
    key = {j.id: (name_pattern(j.name), tuple(sorted(j.depends_on))) for j in jobs}
    sizes = Counter(key.values())
    folded = {k: f"f{i}" for i, k in enumerate(sorted(k for k, n in sizes.items()
                                                      if n > FOLD_PAST))}
    node_of = {j.id: folded.get(key[j.id], f"j{j.id}") for j in jobs}
    nodes = [{"data": {"id": f"j{j.id}", "label": j.name, "state": S.name(j.status),
                       "job_id": j.id}} for j in jobs if node_of[j.id] == f"j{j.id}"]
    folded_counts: dict[tuple[str, tuple[int, ...]], Counter[str]] = defaultdict(Counter)
    for j in jobs:
        if key[j.id] in folded:
            folded_counts[key[j.id]][S.name(j.status)] += 1
    nodes += [_group_node(folded[k], k[0], c) for k, c in folded_counts.items()]
    links = dict.fromkeys((node_of[d], node_of[j.id]) for j in jobs for d in j.depends_on
                          if d in node_of)
    edges = [{"data": {"id": f"e_{a}_{b}", "source": a, "target": b}} for a, b in links]
    return {"grouped": bool(folded), "elements": nodes + edges}


def grouped(g: pb.JobGraph) -> dict[str, Any]:
    """Cytoscape elements for the coordinator's grouped graph (``GetJobGraph``): a node for
    each name pattern at each level, with its counts by state, and the links between them."""
    nodes = [_group_node(f"g{i}", grp.pattern, Counter(dict(grp.states)))
             for i, grp in enumerate(g.groups)]
    edges = [{"data": {"id": f"ge{k}", "source": f"g{a}", "target": f"g{b}"}}
             for k, (a, b) in enumerate(zip(g.edge_from, g.edge_to, strict=True))]
    return {"grouped": True, "elements": nodes + edges}


def timeline(results: list[pb.JobResult], workers: list[pb.Worker]) -> dict[str, Any]:
    """Job runs per worker (node), for a Gantt chart: the latest TIMELINE_LIMIT results."""
    where = {w.id: w.node_name or w.hostname or f"worker {w.id}" for w in workers}
    rows = []
    for r in results[-TIMELINE_LIMIT:]:
        node = f"{where.get(r.worker_id, 'worker')} #{r.worker_id}"
        attempt = f" (attempt {r.attempt_id})" if r.attempt_id > 1 else ""
        rows.append({"job": r.job_name, "job_id": r.job_id, "attempt": r.attempt_id,
                     "worker": node, "lane": f"{r.job_name}{attempt} @ {node}",
                     "start": r.start_time * 1000, "end": max(r.end_time, r.start_time) * 1000,
                     "state": S.NAMES.get(r.status, "unknown"), "return_code": r.return_code})
    # One row per run, grouped by worker and in start order: runs that overlap on a worker
    # (its slots) each get their own row.
    rows.sort(key=lambda x: (x["worker"], x["start"]))
    return {"runs": rows, "lanes": [x["lane"] for x in rows]}


def _nothing(path: Path, why: str) -> dict[str, Any]:
    return {"path": str(path), "text": None, "why": why}


def tail(path: Path, root: Path, limit: int = 16_384) -> dict[str, Any]:
    """The end of an output file under ``root``, or why there is none to show: a job owns
    its log files and can replace them, so a link is not followed (tails.read_tail)."""
    try:
        if not path.parent.resolve().is_relative_to(root.resolve()):
            return _nothing(path, "not under the output directory: not shown")
        got = read_tail(path, limit, follow_links=False)
    except Unreadable as e:
        return _nothing(path, (
            "not found here: the dashboard reads the output directory it was given "
            "(--output-dir); run it where that directory is mounted") if str(e) == "not found"
            else f"{e}: not shown" if str(e).startswith("not a regular") else str(e))
    except OSError as e:
        return _nothing(path, f"cannot read: {e.strerror}")
    return {"path": str(path), "text": got.data.decode(errors="replace"),
            "truncated": got.truncated, "why": ""}


def job_files(output_dir: Path, wf_id: int, r: pb.JobResult) -> dict[str, Path]:
    """Where a result's stdout and stderr are (Torc's naming)."""
    base = stdio_base(output_dir, wf_id, r)
    return {"stdout": base.with_suffix(".o"), "stderr": base.with_suffix(".e")}
