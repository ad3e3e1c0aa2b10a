"""The DAG tab's text graph, level by level (each job after everything it depends on), with
states: one line a job for small workflows; past GROUP_PAST jobs, one line a group of jobs
of one name pattern at one level (the digits of a parameter sweep become ``*``), as the
coordinator groups them (``GetJobGraph``: the whole workflow, whatever its size).
Pure: jobs or groups in, lines out."""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from torc.proto import torc_pb2 as pb

GROUP_PAST = 60  # jobs; beyond this, one line a name pattern and level


@dataclass(frozen=True, slots=True)
class Node:
    """A job as the DAG needs it."""

    id: int
    name: str
    status: str
    depends_on: tuple[int, ...]


def levels(nodes: Sequence[Node]) -> dict[int, int]:
    """Each job's level: 0 without dependencies, else one past its deepest dependency."""
    by_id = {n.id: n for n in nodes}
    level: dict[int, int] = {}
    for start in nodes:
        stack = [start]
        while stack:  # depth first, without recursion
            node = stack[-1]
            todo = [by_id[d] for d in node.depends_on if d in by_id and d not in level]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            level[node.id] = 1 + max((level[d] for d in node.depends_on if d in level),
                                     default=-1)
    return level


def _rule(first: int, width: int, last: int | None = None) -> tuple[str, str]:
    head = f"── level {first} " if last in (None, first) else f"── levels {first}–{last} "
    return (head + "─" * max(0, width - len(head)), "")


def _counts(states: Mapping[str, int]) -> str:
    return ", ".join(f"{n} {s}" for s, n in sorted(states.items(), key=lambda x: -x[1]))


def render(nodes: Sequence[Node], width: int = 100) -> list[tuple[str, str]]:
    """One line a job, as (text, status for its colour; "" for none), level by level."""
    if not nodes:
        return [("(no jobs)", "")]
    level = levels(nodes)
    names = {n.id: n.name for n in nodes}
    out: list[tuple[str, str]] = []
    for lv in range(max(level.values()) + 1):
        out.append(_rule(lv, width))
        for n in (n for n in nodes if level[n.id] == lv):
            after = ", ".join(names.get(d, str(d)) for d in n.depends_on)
            text = f"  {n.name} [{n.status}]" + (f"  ← {after}" if after else "")
            out.append((text[:width], n.status))
    return out


def render_groups(g: pb.JobGraph, width: int = 100) -> list[tuple[str, str]]:
    """One line a group (``work_* ×1000  (990 completed, 10 failed)  ← prep``), level by
    level, coloured by its state when all its jobs share one. Consecutive levels holding
    the same patterns (a chain of sweeps, 100 layers of ``step_*``) share one heading and
    one line a pattern, summed: the tab stays short, however deep the graph."""
    if not g.groups:
        return [("(no jobs)", "")]
    upstream: dict[int, set[str]] = {}
    for a, b in zip(g.edge_from, g.edge_to, strict=True):
        upstream.setdefault(b, set()).add(g.groups[a].pattern)
    by_level: dict[int, list[int]] = {}
    for i, grp in enumerate(g.groups):
        by_level.setdefault(grp.level, []).append(i)
    runs: list[tuple[int, int, list[list[int]]]] = []  # first level, last, groups a level
    for lv, members in by_level.items():
        pats = [g.groups[i].pattern for i in members]
        if runs and runs[-1][1] == lv - 1 and \
                [g.groups[i].pattern for i in runs[-1][2][-1]] == pats:
            runs[-1] = (runs[-1][0], lv, [*runs[-1][2], members])
        else:
            runs.append((lv, lv, [members]))
    out: list[tuple[str, str]] = []
    for first, last, levels_ in runs:
        out.append(_rule(first, width, last))
        for column in zip(*levels_, strict=True):  # one pattern across the run's levels
            states: Counter[str] = Counter()
            after: set[str] = set()
            for i in column:
                states.update(dict(g.groups[i].states))
                after |= upstream.get(i, set())
            text = f"  {g.groups[column[0]].pattern} ×{states.total()}  ({_counts(states)})"
            if after:
                text += "  ← " + ", ".join(sorted(after))
            out.append((text[:width], next(iter(states)) if len(states) == 1 else ""))
    return out
