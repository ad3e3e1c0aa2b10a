"""Identity comes from the token: on a coordinator shared by several users, a workflow belongs
to its creator, only the owner or an admin changes it, and others read it only through
Torc's access groups. A one-user coordinator records a spec's ``user`` as given."""

from __future__ import annotations

import getpass
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import Coordinator, wait_for, write_spec
from torc.client.stub import ClientError, TorcClient

SPEC = {"name": "mine", "jobs": [{"name": "a", "command": "true"}]}


def add_user(c: Coordinator, name: str, *extra: str) -> str:
    r = subprocess.run([sys.executable, "-m", "torc.server.main", "users", "add", name,
                        "--data-dir", str(c.data_dir), *extra], capture_output=True, text=True,
                       check=True)
    return r.stdout.strip()


def cli(c: Coordinator, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    # USER says "mallory": it must not matter, only the token does.
    env = {**os.environ, "TORC_TOKEN": token, "USER": "mallory", "LOGNAME": "mallory"}
    return subprocess.run([sys.executable, "-m", "torc.client.cli", "--url", c.url, *args],
                          env=env, capture_output=True, text=True, timeout=120)


def as_user(monkeypatch: pytest.MonkeyPatch, c: Coordinator, token: str) -> TorcClient:
    monkeypatch.setenv("TORC_TOKEN", token)
    return TorcClient(c.url, timeout=30)


@pytest.fixture
def shared(coordinator: Coordinator) -> Iterator[tuple[Coordinator, str, str]]:
    alice = add_user(coordinator, "alice")
    bob = add_user(coordinator, "bob")
    yield coordinator, alice, bob


def denied(fn, *args) -> str:  # type: ignore[no-untyped-def]
    with pytest.raises(ClientError) as e:
        fn(*args)
    assert e.value.code == "PERMISSION_DENIED", e.value
    return e.value.message


def test_owner_comes_from_the_token_and_only_the_owner_changes_it(
        shared: tuple[Coordinator, str, str], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    c, alice_token, bob_token = shared
    r = cli(c, alice_token, "-f", "json", "workflows", "create", str(write_spec(tmp_path, SPEC)))
    assert r.returncode == 0, r.stderr
    wf_id = json.loads(r.stdout)["id"]
    alice, bob = as_user(monkeypatch, c, alice_token), as_user(monkeypatch, c, bob_token)
    assert alice.get_workflow(wf_id).user == "alice"
    # bob can neither see nor touch it.
    assert bob.list_workflows() == []
    # Refused without naming the owner: bob may not know even that (issue 30, item 10).
    message = denied(bob.list_jobs, wf_id)
    assert "another user" in message and "alice" not in message
    r = cli(c, bob_token, "workflows", "delete", str(wf_id))
    assert r.returncode != 0 and "another user" in r.stderr and "alice" not in r.stderr
    denied(bob.cancel, wf_id)
    r = cli(c, bob_token, "run", str(wf_id), "--output-dir", str(tmp_path / "out"))
    assert r.returncode != 0  # bob's worker may not register with alice's workflow
    assert [w.id for w in alice.list_workflows()] == [wf_id]
    # alice runs it herself.
    r = cli(c, alice_token, "-f", "json", "run", str(wf_id), "--output-dir",
            str(tmp_path / "out"))
    assert r.returncode == 0, r.stderr


def test_a_spec_user_naming_someone_else_needs_an_admin(
        shared: tuple[Coordinator, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    c, alice_token, _ = shared
    alice = as_user(monkeypatch, c, alice_token)
    assert "admin" in denied(alice.create_workflow, {**SPEC, "user": "bob"})
    admin = as_user(monkeypatch, c, _owner_token())  # the coordinator owner
    wf_id = admin.create_workflow({**SPEC, "user": "bob"})
    assert admin.get_workflow(wf_id).user == "bob"
    assert alice.create_workflow({**SPEC, "user": "alice"})


def test_access_groups_share_reading_not_changing(
        shared: tuple[Coordinator, str, str], monkeypatch: pytest.MonkeyPatch) -> None:
    c, alice_token, bob_token = shared
    alice, bob = as_user(monkeypatch, c, alice_token), as_user(monkeypatch, c, bob_token)
    wf_id = alice.create_workflow(SPEC)
    # Only an admin manages groups.
    r = cli(c, bob_token, "access-groups", "create", "ml-team")
    assert r.returncode != 0 and "needs an admin" in r.stderr
    admin_token = _owner_token()
    r = cli(c, admin_token, "-f", "json", "access-groups", "create", "ml-team",
            "--description", "ML")
    assert r.returncode == 0, r.stderr
    group_id = json.loads(r.stdout)["id"]
    assert cli(c, admin_token, "access-groups", "add-user", str(group_id), "bob").returncode == 0
    # bob may not share alice's workflow; alice may.
    r = cli(c, bob_token, "access-groups", "add-workflow", str(wf_id), str(group_id))
    assert r.returncode != 0 and "belongs to another user" in r.stderr  # not yet shared
    r = cli(c, alice_token, "access-groups", "add-workflow", str(wf_id), str(group_id))
    assert r.returncode == 0, r.stderr
    assert [w.id for w in bob.list_workflows()] == [wf_id]
    assert [j.name for j in bob.list_jobs(wf_id)] == ["a"]
    assert "may not change it" in denied(bob.cancel, wf_id)
    groups = json.loads(cli(c, bob_token, "-f", "json", "access-groups", "list-workflow-groups",
                            str(wf_id)).stdout)
    assert [g["name"] for g in groups["groups"]] == ["ml-team"]  # Torc's shape
    # Groups are state like any other: they survive a SIGKILL.
    c.restart(kill=True)
    bob = as_user(monkeypatch, c, bob_token)
    assert [j.name for j in bob.list_jobs(wf_id)] == ["a"]
    assert cli(c, admin_token, "access-groups", "remove-user", str(group_id),
               "bob").returncode == 0
    denied(bob.list_jobs, wf_id)


def test_removed_users_lose_access_at_once(shared: tuple[Coordinator, str, str],
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    c, alice_token, _ = shared
    alice = as_user(monkeypatch, c, alice_token)
    assert alice.list_workflows() == []
    subprocess.run([sys.executable, "-m", "torc.server.main", "users", "remove", "alice",
                    "--data-dir", str(c.data_dir)], check=True)

    def refused() -> bool:  # the coordinator checks users.json at most once a second
        try:
            alice.list_workflows()
        except ClientError as e:
            assert e.code == "UNAUTHENTICATED", e
            return True
        return False

    wait_for(refused)


def test_a_one_user_coordinator_records_the_spec_user_as_given(
        coordinator: Coordinator, tmp_path: Path) -> None:
    wf_id = coordinator.client.create_workflow({**SPEC, "user": "someone"})
    assert coordinator.client.get_workflow(wf_id).user == "someone"
    r = cli(coordinator, _owner_token(), "-f", "json", "workflows", "create",
            str(write_spec(tmp_path, SPEC)))
    wf2 = json.loads(r.stdout)["id"]
    # Not $USER (mallory): the token's owner, the user running the coordinator.
    assert coordinator.client.get_workflow(wf2).user == getpass.getuser()
    me = json.loads(cli(coordinator, _owner_token(), "-f", "json", "whoami").stdout)[0]
    assert me == {"user": getpass.getuser(), "admin": True, "multi_user": False}


def _owner_token() -> str:
    from torc.auth import default_token_file
    return default_token_file().read_text().strip()
