"""Building a workflow through the API (Torc's create_workflow, then create_jobs and
create_user_data): an empty workflow, jobs added in batches that depend on earlier batches
by name, files and user data; checked as a spec is, logged like every change (a restart
replays the additions), refused once the workflow is initialized."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import Coordinator, job_states, start_worker
from torc.client import ClientError


def test_an_empty_workflow_grows_batch_by_batch_and_runs(coordinator: Coordinator,
                                                        tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "built"})
    assert c.list_jobs(wf_id) == []
    added = c.add_to_workflow(wf_id, {
        "user_data": [{"name": "knob", "data": {"x": 1}}],
        "resource_requirements": [{"name": "small", "num_cpus": 1, "memory": "100m"}],
        "jobs": [{"name": "prep", "command": "echo prep",
                  "resource_requirements": "small"}]})
    assert len(added.job_ids) == 1 and len(added.user_data_ids) == 1
    ids = c.add_jobs(wf_id, [{"name": f"work_{i}", "command": f"echo {i}",
                              "depends_on": ["prep"]} for i in range(25)], batch=10)
    assert len(ids) == 25 and len(set(ids)) == 25
    c.add_jobs(wf_id, [{"name": "sum", "command": "echo sum",
                        "depends_on_regexes": ["work_.*"]}])
    jobs = {j.name: j for j in c.list_jobs(wf_id)}
    assert len(jobs) == 27 and jobs["work_3"].id == ids[3]
    assert set(jobs["sum"].depends_on) == set(ids)
    assert jobs["prep"].resource_requirements == "small"
    shape = {n: (j.id, tuple(j.depends_on)) for n, j in jobs.items()}
    coordinator.restart()  # every addition is in the log: the same workflow comes back
    assert {j.name: (j.id, tuple(j.depends_on))
            for j in coordinator.client.list_jobs(wf_id)} == shape
    coordinator.restart(kill=False)  # and from the final snapshot of a clean stop
    c = coordinator.client
    assert {j.name: (j.id, tuple(j.depends_on)) for j in c.list_jobs(wf_id)} == shape
    c.add_jobs(wf_id, [{"name": "late", "command": "true", "depends_on": ["sum"]}])
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=120) == 0
    assert set(job_states(c, wf_id).values()) == {"completed"} and "late" in job_states(c, wf_id)


def test_an_addition_is_checked_as_a_spec_is(coordinator: Coordinator) -> None:
    """Mistakes name the job and field, and change nothing."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "checked", "jobs": [{"name": "a", "command": "true"}]})
    for addition, said in [
        ({"jobs": [{"name": "b", "command": "true", "depends_on": ["nope"]}]}, "nope"),
        ({"jobs": [{"name": "a", "command": "true"}]}, "'a'"),  # a name already taken
        ({"jobs": [{"name": "c"}]}, "command"),
        ({"actions": []}, "cannot add 'actions'"),
    ]:
        with pytest.raises(ClientError) as e:
            c.add_to_workflow(wf_id, addition, source="batch.json")
        assert said in e.value.message and "batch.json" in e.value.message, e.value.message
    assert [j.name for j in c.list_jobs(wf_id)] == ["a"]


def test_an_addition_may_not_change_what_is_there(coordinator: Coordinator) -> None:
    """A new job that writes a file an existing job reads would give that job a dependency
    after the fact: refused, naming both."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "io", "files": [{"name": "f", "path": "f.txt"}],
                               "jobs": [{"name": "reader", "command": "cat f.txt",
                                         "input_files": ["f"]}]})
    with pytest.raises(ClientError) as e:
        c.add_to_workflow(wf_id, {"jobs": [{"name": "writer", "command": "touch f.txt",
                                            "output_files": ["f"]}]})
    assert "'reader'" in e.value.message and "'writer'" in e.value.message


def test_jobs_added_to_a_running_workflow_join_its_run(coordinator: Coordinator,
                                                        tmp_path: Path) -> None:
    """Added after initialize, jobs are ready or blocked as an initialize would make them
    (an executor adds calls while others run); a worker runs them; a canceled workflow
    takes nothing."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "running", "jobs": [
        {"name": "a", "command": "true"}, {"name": "bad", "command": "exit 1"}]})
    c.initialize(wf_id)
    c.add_jobs(wf_id, [{"name": "b", "command": "true", "depends_on": ["a"]},
                       {"name": "c", "command": "true"},
                       {"name": "after_bad", "command": "true", "depends_on": ["bad"]}])
    assert job_states(c, wf_id) == {"a": "ready", "bad": "ready", "b": "blocked",
                                    "c": "ready", "after_bad": "blocked"}
    start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=120)
    assert job_states(c, wf_id) == {"a": "completed", "bad": "failed", "b": "completed",
                                    "c": "completed", "after_bad": "canceled"}
    c.add_jobs(wf_id, [{"name": "late", "command": "true", "depends_on": ["b"]}])
    assert job_states(c, wf_id)["late"] == "ready"  # what it needs is done
    c.cancel(wf_id)
    with pytest.raises(ClientError) as e:
        c.add_jobs(wf_id, [{"name": "never", "command": "true"}])
    assert e.value.code == "FAILED_PRECONDITION" and "canceled" in e.value.message
