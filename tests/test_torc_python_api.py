"""Torc's Python API (``make_api``, ``map_function_to_jobs``, the ``DefaultApi`` models)
against a real coordinator and worker: the scenario of Torc's map-function tutorial, written
here as a user would write it for Torc, with the coordinator's URL."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Coordinator, job_states, start_worker

SIMULATION = '''
def run(job_name, input_params):
    if input_params.get("fail"):
        raise ValueError(f"bad input for {job_name}")
    return {"inputs": input_params, "result": 5, "output_data_path": f"/data/{job_name}"}


def postprocess(results):
    return {"total": sum(r["result"] for r in results),
            "output_data_paths": [r["output_data_path"] for r in results]}
'''

BUILD = '''
import getpass, os
from torc import make_api, map_function_to_jobs, setup_logging
from torc.openapi_client import (DefaultApi, ResourceRequirementsModel, SlurmSchedulerModel,
                                 WorkflowModel)

api = make_api(os.environ["TORC_API_URL"])
setup_logging()
workflow = api.create_workflow(WorkflowModel(user=getpass.getuser(), name="mapped",
                                             description="a function across workers"))
rr = api.create_resource_requirements(ResourceRequirementsModel(
    workflow_id=workflow.id, name="medium", num_cpus=1, memory="1g", runtime="P0DT1H"))
api.create_slurm_scheduler(SlurmSchedulerModel(
    workflow_id=workflow.id, name="short", account="my_account", mem="180224",
    walltime="04:00:00", nodes=1))
params = [{"input1": 1}, {"input1": 4}, {"input1": 7}]
jobs = map_function_to_jobs(api, workflow.id, "simulation", "run", params,
                            resource_requirements_id=rr.id, postprocess_func="postprocess")
print(workflow.id, len(jobs))
'''


def _build(tmp_path: Path, url: str) -> tuple[int, int]:
    (tmp_path / "simulation.py").write_text(SIMULATION)
    (tmp_path / "build.py").write_text(BUILD)
    out = subprocess.run([sys.executable, "build.py"], cwd=tmp_path, capture_output=True,
                         text=True, env={**os.environ, "TORC_API_URL": f"http://{url}/v1"},
                         timeout=120)
    assert out.returncode == 0, out.stderr
    wf_id, n = out.stdout.split()
    return int(wf_id), int(n)


def test_torcs_map_function_tutorial_runs(coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf_id, n = _build(tmp_path, coordinator.url)
    assert n == 4  # three calls and the postprocess
    jobs = {j.name: j for j in c.list_jobs(wf_id)}
    assert jobs["1"].command == "pytorc run-function"
    assert jobs["1"].resource_requirements == "medium"
    assert set(jobs["postprocess"].depends_on) == {jobs[k].id for k in ("1", "2", "3")}
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=180) == 0
    assert set(job_states(c, wf_id).values()) == {"completed"}
    data = {u.name: json.loads(u.data_json) for u in c.page("ListUserData", wf_id).user_data}
    assert data["output_2"] == {"inputs": {"input1": 4}, "result": 5,
                                "output_data_path": "/data/2"}
    assert data["postprocess_result"] == {"total": 15, "output_data_paths": [
        "/data/1", "/data/2", "/data/3"]}


def test_a_function_that_raises_fails_its_job_with_the_traceback(
        coordinator: Coordinator, tmp_path: Path) -> None:
    from torc import make_api, map_function_to_jobs
    (tmp_path / "sim_fail.py").write_text(SIMULATION)
    c = coordinator.client
    wf_id = c.create_workflow({"name": "failing"})
    api = make_api(coordinator.url)
    map_function_to_jobs(api, wf_id, "sim_fail", "run", [{"fail": True}],
                         module_directory=str(tmp_path))
    c.initialize(wf_id)
    start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=120)
    assert job_states(c, wf_id) == {"1": "failed"}
    (result,) = c.list_results(wf_id)
    assert result.return_code == 1
    stderr = b"".join(p.read_bytes() for p in (tmp_path / "out").rglob("*.e"))
    assert b"ValueError: bad input for 1" in stderr and b"Traceback" in stderr


def test_a_function_that_cannot_be_imported_is_refused_at_creation(
        coordinator: Coordinator, tmp_path: Path) -> None:
    from torc import make_api, map_function_to_jobs
    from torc.errors import TorcError
    c = coordinator.client
    wf_id = c.create_workflow({"name": "refused"})
    api = make_api(coordinator.url)
    with pytest.raises(TorcError, match="no_such_module"):
        map_function_to_jobs(api, wf_id, "no_such_module", "run", [{}])
    (tmp_path / "sim_ok.py").write_text(SIMULATION)
    with pytest.raises(TorcError, match="no function 'nope'"):
        map_function_to_jobs(api, wf_id, "sim_ok", "nope", [{}],
                             module_directory=str(tmp_path))
    assert c.list_jobs(wf_id) == []


def test_iter_documents_walks_every_page(coordinator: Coordinator) -> None:
    from torc import create_jobs, iter_documents, make_api
    from torc.openapi_client import JobModel
    c = coordinator.client
    wf_id = c.create_workflow({"name": "paged"})
    api = make_api(coordinator.url)
    made = create_jobs(api, [JobModel(workflow_id=wf_id, name=f"j{i}", command="true")
                             for i in range(25)], max_transfer_size=10)
    assert [j.id for j in made] == [j.id for j in c.list_jobs(wf_id)]
    names = [j.name for j in iter_documents(api.list_jobs, wf_id, limit=7)]
    assert names == [f"j{i}" for i in range(7)]
    assert len(list(iter_documents(api.list_jobs, wf_id))) == 25
    dep = api.create_job(JobModel(workflow_id=wf_id, name="after", command="true",
                                  depends_on_job_ids=[made[3].id]))
    assert api.get_job(dep.id).depends_on_job_ids == [made[3].id]
