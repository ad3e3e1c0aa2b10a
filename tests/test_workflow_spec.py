"""``GetWorkflowSpec``: a workflow's spec as its export holds it, without its jobs unless
asked, so that a dashboard tab or ``resource-requirements list`` reads the sections it shows
and not a 100,000-job export."""

from __future__ import annotations

from tests.conftest import Coordinator, cli_rows

SPEC = {
    "name": "sections",
    "resource_requirements": [{"name": "big", "num_cpus": 4, "memory": "2g",
                               "runtime": "PT1H"}],
    "slurm_schedulers": [{"name": "short", "account": "proj", "walltime": "01:00:00"}],
    "actions": [{"trigger_type": "on_jobs_ready", "action_type": "run_commands",
                 "jobs": ["b"], "commands": ["echo ready"]}],
    "jobs": [{"name": "a", "command": "true", "resource_requirements": "big"},
             {"name": "b", "command": "true", "depends_on": ["a"]}],
}


def test_the_spec_without_its_jobs_is_the_export_s_spec_less_the_jobs(
        coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow(SPEC)
    exported = c.export_workflow(wf_id)["spec"]
    sections = c.workflow_spec(wf_id)
    assert "jobs" not in sections
    assert sections == {k: v for k, v in exported.items() if k != "jobs"}
    assert sections["actions"][0]["jobs"] == ["b"]  # action job names still resolved
    assert c.workflow_spec(wf_id, with_jobs=True) == exported


def test_section_verbs_read_the_spec_sections(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow(SPEC)
    rows = cli_rows("-f", "json", "resource-requirements", "list", str(wf_id),
                    url=coordinator.url)
    assert [(r["num_cpus"], r["memory"]) for r in rows if r["name"] == "big"] == [(4, "2g")]
    rows = cli_rows("-f", "json", "slurm", "list", str(wf_id), url=coordinator.url)
    assert [(r["name"], r["account"]) for r in rows] == [("short", "proj")]
