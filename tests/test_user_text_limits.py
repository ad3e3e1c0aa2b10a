"""User text is bounded: names, descriptions and group names have length limits (the error
names the field), and the event feed every create writes to has a byte cap as well as a count
and forgets a deleted workflow, so create+delete cycles cannot grow the coordinator."""

from __future__ import annotations

import json

import grpc
import pytest

from tests.conftest import Coordinator
from torc.client.stub import ClientError, raw_stub
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb
from torc.server.state.records import FEED_BYTES, FEED_LIMIT, FeedItem
from torc.server.state.store import Store
from torc.spec.checks import MAX_NAME


@pytest.mark.parametrize("field,spec", [
    ("name", {"name": "w" * (8 << 20), "jobs": [{"name": "a", "command": "true"}]}),
    ("name", {"name": "w", "jobs": [{"name": "j" * (MAX_NAME + 1), "command": "true"}]}),
    ("description", {"name": "w", "description": "d" * (1 << 20),
                     "jobs": [{"name": "a", "command": "true"}]}),
    ("project", {"name": "w", "project": "p" * (1 << 20),
                 "jobs": [{"name": "a", "command": "true"}]}),
    ("name", {"name": "w", "files": [{"name": "f" * (MAX_NAME + 1), "path": "x"}],
              "jobs": [{"name": "a", "command": "true"}]}),
])
def test_over_long_user_text_is_refused_naming_the_field(coordinator: Coordinator, field: str,
                                                         spec: dict) -> None:
    with pytest.raises(TorcError) as e:  # the client checks first
        coordinator.client.create_workflow(spec)
    assert repr(field) in e.value.message and "at most" in e.value.message, e.value.message
    # and the coordinator checks again whatever it receives
    with pytest.raises(grpc.RpcError) as raw:
        raw_stub(coordinator.url).CreateWorkflow(
            pb.CreateWorkflowRequest(spec_json=json.dumps(spec)), timeout=60)
    assert raw.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert repr(field) in raw.value.details() and "at most" in raw.value.details()
    assert coordinator.client.list_workflows() == []


def test_an_over_long_group_name_is_refused(coordinator: Coordinator) -> None:
    c = coordinator.client
    with pytest.raises(ClientError) as e:
        c.call("CreateAccessGroup", pb.CreateAccessGroupRequest(name="g" * (5 << 20)))
    assert "name" in e.value.message and "at most" in e.value.message
    with pytest.raises(ClientError) as e:
        c.call("CreateAccessGroup", pb.CreateAccessGroupRequest(
            name="g", description="d" * (1 << 20)))
    assert "description" in e.value.message
    assert list(c.call("ListAccessGroups", pb.ListAccessGroupsRequest()).groups) == []


def test_a_deleted_workflow_leaves_the_event_feed(coordinator: Coordinator) -> None:
    c = coordinator.client
    kept = c.create_workflow({"name": "kept", "jobs": [{"name": "a", "command": "true"}]})
    for _ in range(3):
        gone = c.create_workflow({"name": "gone", "jobs": [{"name": "a", "command": "true"}]})
        c.delete_workflow(gone)
    history = []
    for ev in c.watch_events(0, history=True, mark_history_end=True):
        if ev.history_end:
            break
        history.append(ev)
    assert {ev.workflow_id for ev in history} == {kept}, history
    coordinator.restart(kill=False)  # and in the snapshot
    history = []
    for ev in coordinator.client.watch_events(0, history=True, mark_history_end=True):
        if ev.history_end:
            break
        history.append(ev)
    assert {ev.workflow_id for ev in history} == {kept}


def test_the_feed_is_capped_in_bytes_as_well_as_in_items() -> None:
    feed = Store().feed  # the store's own feed, fed directly (a store would take minutes)
    message = "m" * 4096
    count = 3 * FEED_BYTES // len(message)
    for i in range(count):
        feed.append(FeedItem(i, 0.0, "created", message))
    size = sum(len(f.message) + len(f.kind) for f in feed)
    assert 0 < size <= FEED_BYTES and len(feed) < count
    assert max(f.workflow_id for f in feed) == count - 1  # the oldest went, not the newest
    small = Store().feed
    for i in range(FEED_LIMIT + 5):
        small.append(FeedItem(i, 0.0, "k", "m"))
    assert len(small) == FEED_LIMIT
