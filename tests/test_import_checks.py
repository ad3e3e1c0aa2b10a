"""An import that keeps its state is checked as strictly as replay would be: action executions
hold only their known fields (anything else once made ListActions fail with UNKNOWN), and job
states must be reachable (no job completed under a parent that is still blocked)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from tests.conftest import Coordinator, start_worker
from torc import states as S
from torc.client.stub import ClientError

SPEC = {"name": "w", "jobs": [{"name": "a", "command": "true"},
                              {"name": "b", "command": "true", "depends_on": ["a"]}],
        "actions": [{"trigger_type": "on_workflow_start", "action_type": "run_commands",
                     "commands": ["true"]}]}


@pytest.fixture
def exported(coordinator: Coordinator, tmp_path: Path) -> dict:
    c = coordinator.client
    wf = c.create_workflow(SPEC)
    c.initialize(wf)
    assert start_worker(coordinator.url, wf, tmp_path / "out").wait(timeout=120) == 0
    return c.export_workflow(wf)


def _refused(coordinator: Coordinator, doc: dict, words: str) -> None:
    before = len(coordinator.client.list_workflows())
    with pytest.raises(ClientError) as e:
        coordinator.client.import_workflow(doc, keep_state=True)
    assert e.value.code == "INVALID_ARGUMENT" and words in e.value.message, e.value.message
    assert len(coordinator.client.list_workflows()) == before


def test_a_kept_state_imports_and_lists(coordinator: Coordinator, exported: dict) -> None:
    wf = coordinator.client.import_workflow(exported, keep_state=True)
    assert [S.name(j.status) for j in coordinator.client.list_jobs(wf.id)] == [
        "completed", "completed"]
    assert coordinator.client.list_actions(wf.id)[0].executions


def test_arbitrary_action_executions_are_refused(coordinator: Coordinator,
                                                 exported: dict) -> None:
    doc = copy.deepcopy(exported)
    doc["state"]["actions"][0]["executions"] = [{"worker_id": "not a number", "evil": [1]}]
    _refused(coordinator, doc, "execution")
    doc["state"]["actions"][0]["executions"] = [{"success": "yes"}]
    _refused(coordinator, doc, "success")


def test_a_completed_job_under_a_blocked_parent_is_refused(coordinator: Coordinator,
                                                           exported: dict) -> None:
    doc = copy.deepcopy(exported)
    doc["state"]["jobs"]["status"] = [S.BLOCKED, S.COMPLETED]
    _refused(coordinator, doc, "'b' is completed while 'a'")
    doc["state"]["initialized"] = False
    _refused(coordinator, doc, "never initialized")
