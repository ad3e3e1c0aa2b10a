"""A workflow's dependency graph grouped by level and name pattern, for drawings of any size
(the TUI's DAG tab, the dashboard's graph past a few thousand jobs).

Names and dependencies never change once a job exists, so the grouping (``Shape``) is worked
out once per job count, off the event loop; what a drawing asks each time is only how many
jobs of each group are in each state (``count``). Pure: lists in, lists out."""

from __future__ import annotations

from array import array
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from torc.naming import name_pattern


@dataclass(frozen=True, slots=True)
class Shape:
    """Groups of jobs of one name pattern at one level, and the links between groups."""

    group_of: array  # job index (id - 1) -> its group's index
    groups: list[tuple[int, str]]  # (level, pattern), by level then pattern
    edges: list[tuple[int, int]]  # (upstream group, downstream group), distinct


def levels(deps: Sequence[Sequence[int]]) -> list[int]:
    """Each job's level (0 without dependencies, else one past its deepest dependency);
    ``deps`` holds 1-based job ids. Jobs usually come after what they depend on: those take
    one step; the others a depth-first walk, iterative (chains of millions do not recurse)."""
    level = [-1] * len(deps)
    for start, ds in enumerate(deps):
        if not ds:
            level[start] = 0
            continue
        known = [level[d - 1] for d in ds]
        if min(known) >= 0:
            level[start] = 1 + max(known)
            continue
        stack = [start]
        while stack:
            i = stack[-1]
            todo = [d - 1 for d in deps[i] if level[d - 1] < 0]
            if todo:
                stack.extend(todo)
                continue
            stack.pop()
            if level[i] < 0:
                level[i] = 1 + max((level[d - 1] for d in deps[i]), default=-1)
    return level


def shape_of(names: Sequence[str], deps: Sequence[Sequence[int]]) -> Shape:
    """Group jobs (given by name and 1-based dependency ids, in id order) by level and
    name pattern."""
    level = levels(deps)
    keys = [(lv, name_pattern(n)) for lv, n in zip(level, names, strict=True)]
    groups = sorted(set(keys))
    index = {k: i for i, k in enumerate(groups)}
    group_of = array("i", (index[k] for k in keys))
    edges = sorted({(group_of[d - 1], g) for g, ds in zip(group_of, deps, strict=True)
                    for d in ds})
    return Shape(group_of, groups, edges)


def count(shape: Shape, start: int, statuses: Sequence[int],
          into: list[Counter[int]]) -> None:
    """Add the states of jobs ``start``, ``start + 1``, ... (``statuses``) to their groups'
    counters; a slice at a time, so a large workflow's count can let other work in."""
    pairs = Counter(zip(shape.group_of[start:start + len(statuses)], statuses, strict=True))
    for (g, status), n in pairs.items():
        into[g][status] += n
