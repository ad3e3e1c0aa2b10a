"""The DAG tab's text graph: jobs by level (each job after everything it depends on), with
their states; past a size where one line a job stops being readable, jobs are grouped by
name pattern (the digits of a parameter sweep become ``*``), as the dashboard groups them.
Pure: job tuples in, lines out."""

from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass

GROUP_PAST = 60  # jobs; beyond this, one line a name pattern
_DIGITS = re.compile(r"\d+")


@dataclass(frozen=True, slots=True)
class Node:
    """A job as the DAG needs it."""

    id: int
    name: str
    status: str
    depends_on: tuple[int, ...]


def pattern(name: str) -> str:
    """The name with each run of digits as ``*``: ``work_17`` and ``work_203`` group."""
    return _DIGITS.sub("*", name)


def levels(nodes: Sequence[Node]) -> dict[int, int]:
    """Each job's level: 0 without dependencies, else one past its deepest dependency."""
    by_id = {n.id: n for n in nodes}
    level: dict[int, int] = {}
    for start in nodes:
        if start.id in level:
            continue
        stack = [(start, False)]
        while stack:  # depth first, without recursion (chains of 10,000)
            node, expanded = stack.pop()
            if node.id in level:
                continue
            deps = [by_id[d] for d in node.depends_on if d in by_id]
            if expanded or all(d.id in level for d in deps):
                level[node.id] = 1 + max((level.get(d.id, 0) for d in deps), default=-1)
                continue
            stack.append((node, True))
            stack.extend((d, False) for d in deps if d.id not in level)
    return level


def _counts(statuses: Counter[str]) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(statuses.items(), key=lambda x: -x[1]))


def render(nodes: Sequence[Node], width: int = 100) -> list[tuple[str, str]]:
    """Lines of the graph as (text, status for its colour; "" for none), level by level."""
    if not nodes:
        return [("(no jobs)", "")]
    level = levels(nodes)
    names = {n.id: n.name for n in nodes}
    out: list[tuple[str, str]] = []
    depth = max(level.values()) + 1
    if len(nodes) <= GROUP_PAST:
        for lv in range(depth):
            out.append((f"── level {lv} " + "─" * max(0, width - 12 - len(str(lv))), ""))
            for n in (n for n in nodes if level[n.id] == lv):
                after = ", ".join(names.get(d, str(d)) for d in n.depends_on)
                text = f"  {n.name} [{n.status}]" + (f"  ← {after}" if after else "")
                out.append((text[:width], n.status))
        return out
    groups: dict[tuple[int, str], list[Node]] = defaultdict(list)
    for n in nodes:
        groups[(level[n.id], pattern(n.name))].append(n)
    group_of = {n.id: pattern(n.name) for n in nodes}
    for lv in range(depth):
        out.append((f"── level {lv} " + "─" * max(0, width - 12 - len(str(lv))), ""))
        for (glv, pat), members in sorted(groups.items()):
            if glv != lv:
                continue
            statuses = Counter(m.status for m in members)
            upstream = sorted({group_of[d] for m in members for d in m.depends_on
                               if d in group_of})
            status = statuses.most_common(1)[0][0] if len(statuses) == 1 else ""
            text = f"  {pat} ×{len(members)}  ({_counts(statuses)})"
            if upstream:
                text += "  ← " + ", ".join(upstream)
            out.append((text[:width], status))
    return out
