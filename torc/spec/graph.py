"""The dependency graph of a spec's jobs: every cycle is an error naming its jobs."""

from __future__ import annotations

from torc.spec.checks import Ctx


def _find_cycle(n: int, deps: list[list[int]], remaining: set[int]) -> list[int]:
    """Return one cycle (as job indices) among ``remaining``, which contains at least one."""
    color: dict[int, int] = {}
    for root in sorted(remaining):
        if root in color:
            continue
        stack: list[tuple[int, int]] = [(root, 0)]
        path: list[int] = []
        on_path: dict[int, int] = {}
        while stack:
            node, k = stack.pop()
            if k == 0:
                color[node] = 1
                on_path[node] = len(path)
                path.append(node)
            ups = [u for u in deps[node] if u in remaining]
            if k < len(ups):
                stack.append((node, k + 1))
                nxt = ups[k]
                if nxt in on_path:
                    return path[on_path[nxt]:]
                if nxt not in color:
                    stack.append((nxt, 0))
            else:
                color[node] = 2
                path.pop()
                del on_path[node]
    return sorted(remaining)[:10]


def check_acyclic(ctx: Ctx, names: list[str], deps: list[list[int]]) -> None:
    n = len(names)
    indegree = [len(d) for d in deps]
    dependents: list[list[int]] = [[] for _ in range(n)]
    for j, ups in enumerate(deps):
        for u in ups:
            dependents[u].append(j)
    queue = [j for j in range(n) if indegree[j] == 0]
    seen = 0
    while queue:
        j = queue.pop()
        seen += 1
        for d in dependents[j]:
            indegree[d] -= 1
            if indegree[d] == 0:
                queue.append(d)
    if seen < n:
        remaining = {j for j in range(n) if indegree[j] > 0}
        cycle = _find_cycle(n, deps, remaining)
        chain = " -> ".join(names[j] for j in [*cycle, cycle[0]])
        raise ctx.fail("jobs", f"dependency cycle: {chain}")


