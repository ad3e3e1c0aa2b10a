"""The Python builder: ``torc.Workflow(name).job(...)`` gives the spec a YAML file gives, and
creates the workflow as ``torc workflows create`` would, mistakes named the same way."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import Coordinator, job_states, start_worker
from torc import Workflow
from torc.errors import TorcError

SWEEP_YAML = """
name: sweep
description: prepare, work in parallel, sum up
parameters:
  i: "1:3"
resource_requirements:
  - {name: small, num_cpus: 1, memory: 1g, runtime: PT10M, num_gpus: 0, num_nodes: 1}
user_data:
  - {name: knob, data: {level: 2}}
jobs:
  - {name: prep, command: echo prep, resource_requirements: small}
  - {name: "work_{i}", command: "echo {i}", depends_on: [prep], use_parameters: [i]}
  - {name: sum, command: echo sum, depends_on_regexes: ["work_.*"], priority: 3}
"""


def _sweep() -> Workflow:
    wf = Workflow("sweep", description="prepare, work in parallel, sum up")
    wf.parameters(i="1:3")
    wf.resources("small", num_cpus=1, memory="1g", runtime="PT10M")
    wf.user_data("knob", {"level": 2})
    prep = wf.job("prep", "echo prep", resources="small")
    wf.job("work_{i}", "echo {i}", depends_on=[prep], use_parameters=["i"])
    wf.job("sum", "echo sum", depends_on_regexes=["work_.*"], priority=3)
    return wf


def test_the_builder_gives_the_yaml_spec() -> None:
    assert _sweep().to_spec() == yaml.safe_load(SWEEP_YAML)


def test_a_built_workflow_runs(coordinator: Coordinator, tmp_path: Path) -> None:
    wf_id = _sweep().create(coordinator.client)
    c = coordinator.client
    assert sorted(j.name for j in c.list_jobs(wf_id)) == [
        "prep", "sum", "work_1", "work_2", "work_3"]
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=120) == 0
    assert set(job_states(c, wf_id).values()) == {"completed"}


def test_a_mistake_is_named_as_in_a_spec(coordinator: Coordinator) -> None:
    wf = Workflow("broken")
    wf.job("a", "true", depends_on=["missing"])
    with pytest.raises(TorcError, match="'missing'") as e:
        wf.create(coordinator.url)
    assert "jobs['a']" in e.value.message


def test_a_job_reads_its_inputs_and_writes_its_output(coordinator: Coordinator,
                                                      tmp_path: Path) -> None:
    """``torc.job.context()`` inside a job: who it is, its input user data, its output."""
    script = ("from torc import job; ctx = job.context(); "
              "ctx.write_output({'seen': ctx.input_data()['knob'], 'name': ctx.job_name, "
              "'attempt': ctx.attempt_id, 'wf': ctx.workflow_id})")
    wf = Workflow("ctx")
    wf.user_data("knob", {"level": 7}).user_data("result")
    wf.job("reader", f'python -c "{script}"', input_user_data=["knob"],
           output_user_data=["result"])
    c = coordinator.client
    wf_id = wf.create(c)
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=120) == 0
    assert job_states(c, wf_id) == {"reader": "completed"}
    import json
    data = {u.name: json.loads(u.data_json) for u in c.page("ListUserData", wf_id).user_data}
    assert data["result"] == {"seen": {"level": 7}, "name": "reader", "attempt": 1,
                              "wf": wf_id}


def test_context_outside_a_job_says_so(monkeypatch: pytest.MonkeyPatch) -> None:
    from torc import job
    monkeypatch.delenv("TORC_JOB_ID", raising=False)
    with pytest.raises(TorcError, match="not inside a torc job"):
        job.context()
