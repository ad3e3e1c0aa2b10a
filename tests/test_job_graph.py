"""The coordinator's grouped job graph (``GetJobGraph``): one group a name pattern and level,
with counts by state and the links between groups, for drawings of workflows of any size."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import Coordinator, start_worker
from torc.server.state import graph


def test_jobs_group_by_level_and_name_pattern() -> None:
    names = ["prep", "work_1", "work_2", "work_10", "sum", "report_1"]
    deps = [(), (1,), (1,), (1,), (2, 3, 4), (5,)]
    shape = graph.shape_of(names, deps)
    assert shape.groups == [(0, "prep"), (1, "work_*"), (2, "sum"), (3, "report_*")]
    assert list(shape.group_of) == [0, 1, 1, 1, 2, 3]
    assert shape.edges == [(0, 1), (1, 2), (2, 3)]


def test_levels_need_no_order_and_no_recursion() -> None:
    """Dependencies may come after their dependents in the spec; a chain of 200,000 jobs
    (deeper than Python's recursion) still gets its levels."""
    assert graph.levels([(3,), (), (2,)]) == [2, 0, 1]
    n = 200_000
    chain = [(i + 2,) if i + 1 < n else () for i in range(n)]  # job i waits for job i + 1
    lv = graph.levels(chain)
    assert lv[0] == n - 1 and lv[-1] == 0


def test_one_pattern_at_two_levels_is_two_groups() -> None:
    shape = graph.shape_of(["step_1", "step_2", "step_3"], [(), (1,), (2,)])
    assert shape.groups == [(0, "step_*"), (1, "step_*"), (2, "step_*")]
    assert shape.edges == [(0, 1), (1, 2)]


def _sweep(n: int) -> dict:
    return {"name": "sweep", "jobs": [
        {"name": "prep", "command": "true"},
        {"name": "work_{i}", "command": "exit $(( {i} % 2 ))", "depends_on": ["prep"],
         "parameters": {"i": f"1:{n}"}},
        {"name": "sum", "command": "true", "depends_on_regexes": ["work_.*"],
         "cancel_on_blocking_job_failure": False}]}


def test_the_graph_counts_states_as_the_run_goes(coordinator: Coordinator,
                                                 tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow(_sweep(6))
    g = c.job_graph(wf_id)
    assert g.total_jobs == 8
    assert [(x.level, x.pattern, x.jobs, dict(x.states)) for x in g.groups] == [
        (0, "prep", 1, {"uninitialized": 1}), (1, "work_*", 6, {"uninitialized": 6}),
        (2, "sum", 1, {"uninitialized": 1})]
    assert list(zip(g.edge_from, g.edge_to, strict=True)) == [(0, 1), (1, 2)]
    c.initialize(wf_id)
    assert [dict(x.states) for x in c.job_graph(wf_id).groups] == [
        {"ready": 1}, {"blocked": 6}, {"blocked": 1}]
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=120) == 0
    assert [dict(x.states) for x in c.job_graph(wf_id).groups] == [
        {"completed": 1}, {"completed": 3, "failed": 3}, {"completed": 1}]


def test_an_unknown_workflow_is_refused_by_name(coordinator: Coordinator) -> None:
    from torc.client import ClientError
    try:
        coordinator.client.job_graph(999)
    except ClientError as e:
        assert "999" in str(e)
    else:
        raise AssertionError("no error for workflow 999")


def test_counting_by_slices_adds_up_to_counting_at_once() -> None:
    """The service counts a large workflow's states a slice at a time (claims get in
    between): slices must land on the same groups as one pass would."""
    from collections import Counter
    names = [f"a_{i}" if i % 3 else f"b_{i}" for i in range(1000)]
    shape = graph.shape_of(names, [() for _ in names])
    statuses = [i % 5 for i in range(1000)]
    whole: list[Counter[int]] = [Counter() for _ in shape.groups]
    graph.count(shape, 0, statuses, whole)
    sliced: list[Counter[int]] = [Counter() for _ in shape.groups]
    for start in range(0, 1000, 137):
        graph.count(shape, start, statuses[start:start + 137], sliced)
    assert sliced == whole and sum(sum(c.values()) for c in whole) == 1000


def test_the_tui_draws_repeated_levels_once() -> None:
    """100 layers of the same pattern (each layer waiting for the one before) read as one
    heading and one line, summed; a level that differs gets its own heading."""
    from torc.client.tui.dag import render_groups
    from torc.proto import torc_pb2 as pb
    g = pb.JobGraph(total_jobs=10_001)
    g.groups.add(level=0, pattern="prep", jobs=1, states={"completed": 1})
    for lv in range(1, 101):
        g.groups.add(level=lv, pattern="step_*", jobs=100,
                     states={"completed": 100} if lv < 100 else {"failed": 100})
    g.groups.add(level=101, pattern="sum", jobs=1, states={"blocked": 1})
    g.edge_from.extend([0, *range(1, 101)])
    g.edge_to.extend(range(1, 102))
    lines = [text.rstrip("─ ") for text, _ in render_groups(g, 80)]
    assert lines == ["── level 0", "  prep ×1  (1 completed)",
                     "── levels 1–100", "  step_* ×10000  (9900 completed, 100 failed)  "
                     "← prep, step_*", "── level 101", "  sum ×1  (1 blocked)  ← step_*"]
