"""The dashboard's graph stays readable: a wide fan-out (jobs of one name pattern with the
same dependencies) is one node with its counts by state, while narrow parts keep a node a
job. Pure: job messages in, Cytoscape elements out."""

from __future__ import annotations

from torc import states as S
from torc.client.dash.views import FOLD_PAST, graph
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
    assert fan["label"] == "case_{n} × 51"
    assert fan["counts"] == {"completed": 34, "failed": 17} and fan["state"] == "completed"
    assert {n.get("job_id") for n in nodes if not n.get("group")} == {1, 53}
    assert edges == {("j1", fan["id"]), (fan["id"], "j53")}


def test_a_narrow_fan_out_keeps_a_node_a_job() -> None:
    g = graph(_sweep(FOLD_PAST))
    assert not g["grouped"]
    assert len([e for e in g["elements"] if "source" not in e["data"]]) == FOLD_PAST + 2
