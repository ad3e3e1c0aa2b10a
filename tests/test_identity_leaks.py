"""On a shared coordinator nothing leaks between users: a removed user's open event stream
ends, a worker registration cannot borrow another user's worker, refusals do not name the
owner of a workflow the caller cannot see, and access groups are visible to their members
and admins only."""

from __future__ import annotations

import subprocess
import sys
import threading
from typing import Any

import grpc
import pytest

from tests.conftest import Coordinator, wait_for
from tests.test_identity import add_user, as_user
from torc.client.stub import ClientError
from torc.proto import torc_pb2 as pb

SPEC = {"name": "mine", "jobs": [{"name": "a", "command": "true"}]}


def test_a_removed_user_s_open_event_stream_ends(coordinator: Coordinator,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    alice = as_user(monkeypatch, coordinator, add_user(coordinator, "alice"))
    alice.create_workflow(SPEC)
    stream = alice.watch_events(0, history=True)
    ended: list[Any] = []
    first = threading.Event()

    def follow() -> None:
        try:
            for _ in stream:
                first.set()
        except grpc.RpcError as e:
            ended.append(e.code())

    threading.Thread(target=follow, daemon=True).start()
    assert first.wait(60)  # the stream is open
    subprocess.run([sys.executable, "-m", "torc.server.main", "users", "remove", "alice",
                    "--data-dir", str(coordinator.data_dir)], check=True)
    wait_for(lambda: ended)
    assert ended == [grpc.StatusCode.UNAUTHENTICATED]


def test_a_registration_retry_cannot_borrow_another_user_s_worker(
        coordinator: Coordinator, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = as_user(monkeypatch, coordinator, add_user(coordinator, "alice"))
    bob = as_user(monkeypatch, coordinator, add_user(coordinator, "bob"))
    wf = alice.create_workflow(SPEC)
    alice.initialize(wf)
    reg = alice.call("RegisterWorker", pb.RegisterWorkerRequest(
        workflow_id=wf, hostname="h", instance_id="alice-worker-1", pid=1))
    with pytest.raises(ClientError) as e:
        bob.call("RegisterWorker", pb.RegisterWorkerRequest(
            workflow_id=wf, hostname="h", instance_id="alice-worker-1", pid=1))
    assert e.value.code == "PERMISSION_DENIED"
    assert reg.worker_id  # alice's own registration stands


def test_a_refusal_does_not_name_the_owner_of_a_workflow_one_cannot_see(
        coordinator: Coordinator, monkeypatch: pytest.MonkeyPatch) -> None:
    alice = as_user(monkeypatch, coordinator, add_user(coordinator, "alice-the-owner"))
    bob = as_user(monkeypatch, coordinator, add_user(coordinator, "bob"))
    wf = alice.create_workflow(SPEC)
    for call in (lambda: bob.get_workflow(wf), lambda: bob.cancel(wf),
                 lambda: bob.status(wf)):
        with pytest.raises(ClientError) as e:
            call()
        assert e.value.code == "PERMISSION_DENIED"
        assert "alice" not in e.value.message, e.value.message


def test_groups_are_visible_to_their_members_and_admins_only(
        coordinator: Coordinator, monkeypatch: pytest.MonkeyPatch) -> None:
    owner = coordinator.client  # the coordinator's owner: an admin
    alice_token = add_user(coordinator, "alice")
    bob = as_user(monkeypatch, coordinator, add_user(coordinator, "bob"))
    alice = as_user(monkeypatch, coordinator, alice_token)
    wf = alice.create_workflow(SPEC)
    g = owner.call("CreateAccessGroup", pb.CreateAccessGroupRequest(name="lab"))
    owner.call("AddUserToGroup", pb.GroupMembershipRequest(group_id=g.id, user="alice"))
    owner.call("AddWorkflowToGroup", pb.GroupWorkflowRequest(group_id=g.id, workflow_id=wf))
    listed = bob.call("ListAccessGroups", pb.ListAccessGroupsRequest()).groups
    assert list(listed) == [], listed
    with pytest.raises(ClientError) as e:
        bob.call("GetAccessGroup", pb.AccessGroupRef(group_id=g.id))
    assert e.value.code in ("PERMISSION_DENIED", "NOT_FOUND")
    mine = alice.call("ListAccessGroups", pb.ListAccessGroupsRequest()).groups
    assert [x.name for x in mine] == ["lab"]
    assert [x.name for x in owner.call("ListAccessGroups",
                                       pb.ListAccessGroupsRequest()).groups] == ["lab"]
