"""Torc's python_client tests, their scenarios in our code: a workflow made by mapping a
function (5 inputs and a postprocess, the module found through ``module_directory``), then
``create_jobs`` adding 50 jobs in small batches with the workflow's resource requirements
(Torc's ``test_add_bulk_jobs``); and the mapped workflow run to its postprocess result."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import Coordinator, job_states, start_worker

MAPPED = '''
def run(job_name, params):
    return {"job": job_name, "val": params["val"], "double": params["val"] * 2}


def postprocess(results):
    return {"total": sum(r["double"] for r in results), "jobs": sorted(r["job"] for r in results)}
'''


@pytest.fixture
def mapped_function_workflow(coordinator: Coordinator, tmp_path: Path
                             ) -> Iterator[tuple[Any, Any, Path]]:
    from torc import make_api, map_function_to_jobs
    from torc.openapi_client import WorkflowModel
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "mapped_function.py").write_text(MAPPED)
    api = make_api(coordinator.url)
    workflow = api.create_workflow(WorkflowModel(user="test", name="test_workflow"))
    map_function_to_jobs(api, workflow.id, "mapped_function", "run",
                         [{"val": i} for i in range(5)], module_directory=str(scripts),
                         postprocess_func="postprocess")
    yield api, workflow, tmp_path / "output"
    api.delete_workflow(workflow.id)


def test_add_bulk_jobs(mapped_function_workflow: tuple[Any, Any, Path]) -> None:
    from torc import create_jobs
    from torc.openapi_client import JobModel
    api, workflow, _ = mapped_function_workflow
    initial = len(api.list_jobs(workflow.id).items)
    requirements = api.list_resource_requirements(workflow.id).items[0]
    jobs = [JobModel(workflow_id=workflow.id, name=f"added_job{i}",
                     command="python my_script.py", resource_requirements_id=requirements.id)
            for i in range(1, 51)]
    added = create_jobs(api, jobs, max_transfer_size=11)
    assert len(added) == 50 and all(j.id for j in added)
    final = api.list_jobs(workflow.id).items
    assert len(final) == initial + 50
    assert {j.name for j in final if j.name.startswith("added_job")} == {
        f"added_job{i}" for i in range(1, 51)}


def test_the_mapped_workflow_runs_to_its_postprocess(
        mapped_function_workflow: tuple[Any, Any, Path], coordinator: Coordinator) -> None:
    api, workflow, output = mapped_function_workflow
    c = coordinator.client
    assert len(api.list_jobs(workflow.id).items) == 6
    c.initialize(workflow.id)
    assert start_worker(coordinator.url, workflow.id, output).wait(timeout=180) == 0
    assert set(job_states(c, workflow.id).values()) == {"completed"}
    (result,) = [u for u in api.list_user_data(workflow.id).items
                 if u.name == "postprocess_result"]
    assert result.data == {"total": 20, "jobs": ["1", "2", "3", "4", "5"]}  # start_index 1
    post = next(j for j in api.list_jobs(workflow.id).items if j.name == "postprocess")
    consumed = api.list_user_data(workflow.id, consumer_job_id=post.id).items
    assert sorted(u.name for u in consumed) == ["input_postprocess"] + [
        f"output_{i}" for i in range(1, 6)]
