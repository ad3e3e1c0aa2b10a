"""The dashboard's graph stays readable: a wide fan-out (jobs of one name pattern with the
same dependencies) is one node with its counts by state, while narrow parts keep a node a
job (pure: job messages in, Cytoscape elements out); past GRAPH_JOB_LIMIT jobs, the
coordinator's groups."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Coordinator
from tests.test_dash_security import Dash, request, session_of
from torc import states as S
from torc.client.dash.views import FOLD_PAST, GRAPH_JOB_LIMIT, graph
from torc.proto import torc_pb2 as pb


def _sweep(width: int) -> list[pb.Job]:
    jobs = [pb.Job(id=1, name="prepare", status=S.COMPLETED)]
    jobs += [pb.Job(id=i, name=f"case_{i}", depends_on=[1],
                    status=S.COMPLETED if i % 3 else S.FAILED) for i in range(2, width + 2)]
    jobs.append(pb.Job(id=width + 2, name="summarize", status=S.BLOCKED,
                       depends_on=list(range(2, width + 2))))
    return jobs


def test_a_wide_fan_out_is_one_node_with_counts() -> None:
    g = graph(_sweep(51))
    nodes = [e["data"] for e in g["elements"] if "source" not in e["data"]]
    edges = {(e["data"]["source"], e["data"]["target"]) for e in g["elements"]
             if "source" in e["data"]}
    assert g["grouped"]
    (fan,) = [n for n in nodes if n.get("group")]
    assert fan["label"] == "case_* × 51"
    assert fan["counts"] == {"completed": 34, "failed": 17} and fan["state"] == "completed"
    assert {n.get("job_id") for n in nodes if not n.get("group")} == {1, 53}
    assert edges == {("j1", fan["id"]), (fan["id"], "j53")}


def test_a_narrow_fan_out_keeps_a_node_a_job() -> None:
    g = graph(_sweep(FOLD_PAST))
    assert not g["grouped"]
    assert len([e for e in g["elements"] if "source" not in e["data"]]) == FOLD_PAST + 2


def test_a_large_workflow_draws_the_coordinators_groups(coordinator: Coordinator,
                                                        tmp_path: Path) -> None:
    """Past GRAPH_JOB_LIMIT jobs the graph is the coordinator's groups: every job counted
    (none read by the dashboard), one node a name pattern and level, linked in order."""
    n = GRAPH_JOB_LIMIT + 500
    wf_id = coordinator.client.create_workflow({"name": "wide", "jobs": [
        {"name": "prep", "command": "true"},
        {"name": "case_{i}", "command": "true", "depends_on": ["prep"],
         "parameters": {"i": f"1:{n}"}},
        {"name": "sum", "command": "true", "depends_on_regexes": ["case_.*"]}]})
    coordinator.client.initialize(wf_id)
    dash = Dash(coordinator.url, tmp_path / "out")
    try:
        status, body, _ = request(f"{dash.base}/api/workflows/{wf_id}/graph",
                                  headers=session_of(dash))
    finally:
        dash.stop()
    assert status == 200
    g = json.loads(body)
    nodes = {e["data"]["id"]: e["data"] for e in g["elements"] if "source" not in e["data"]}
    links = {(e["data"]["source"], e["data"]["target"]) for e in g["elements"]
             if "source" in e["data"]}
    assert g["grouped"]
    assert {(d["label"], json.dumps(d["counts"])) for d in nodes.values()} == {
        ("prep × 1", '{"ready": 1}'), (f"case_* × {n:,}", f'{{"blocked": {n}}}'),
        ("sum × 1", '{"blocked": 1}')}
    by_label = {d["group"]: i for i, d in nodes.items()}
    assert links == {(by_label["prep"], by_label["case_*"]), (by_label["case_*"],
                                                                by_label["sum"])}


def test_files_and_user_data_tabs_are_paged_by_the_coordinator(coordinator: Coordinator,
                                                               tmp_path: Path) -> None:
    """A tab neither filtered nor sorted asks the coordinator for its page (ListFiles and
    ListUserData take offset and limit and say the total); filtered, every row is read."""
    c = coordinator.client
    spec = {"name": "many", "files": [{"name": f"f{i}", "path": f"/data/f{i}"}
                                      for i in range(120)],
            "user_data": [{"name": f"u{i}", "data": i} for i in range(70)],
            "jobs": [{"name": "j", "command": "true"}]}
    wf_id = c.create_workflow(spec)
    page = c.page("ListFiles", wf_id, 50, 20)
    assert page.total == 120 and [f.name for f in page.files] == [f"f{i}" for i in
                                                                  range(50, 70)]
    assert c.page("ListUserData", wf_id, 60, 50).total == 70
    assert len(c.page("ListUserData", wf_id, 60, 50).user_data) == 10
    dash = Dash(coordinator.url, tmp_path / "out")
    try:
        def get(query: str) -> dict:
            status, body, _ = request(f"{dash.base}/api/workflows/{wf_id}/tables/{query}",
                                      headers=session_of(dash))
            assert status == 200, body
            return json.loads(body)
        t = get("files?offset=100&limit=50")
        assert t["total"] == 120 and [r[1] for r in t["rows"]] == [f"f{i}" for i in
                                                                    range(100, 120)]
        t = get("files?filter=name:f11&limit=50")  # f11, f110..f119
        assert t["total"] == 11
        t = get("user_data?offset=0&limit=5")
        assert t["total"] == 70 and [r[1] for r in t["rows"]] == ["u0", "u1", "u2", "u3", "u4"]
    finally:
        dash.stop()
