"""Workflows built in Python: ``Workflow(name).job(...)`` gives the same spec a YAML file
would (``to_spec``), checked by the coordinator as a spec is when it is created.

    wf = Workflow("sweep")
    wf.resources("small", num_cpus=1, memory="1g", runtime="PT10M")
    prep = wf.job("prep", "python prep.py", resources="small")
    wf.job("work_{i}", "python work.py {i}", depends_on=[prep], parameters={"i": "1:100"})
    wf.job("summary", "python sum.py", depends_on_regexes=["work_.*"])
    wf_id = wf.create("localhost:50051")
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from torc.client.stub import TorcClient


@dataclass(frozen=True)
class JobRef:
    """A job added to a builder: pass it in another job's ``depends_on``."""

    name: str


def _names(items: Any) -> list[str]:
    return [i.name if isinstance(i, JobRef) else str(i) for i in items or []]


class Workflow:
    """A workflow spec under construction; every method returns what it added (``job``) or
    the builder itself, so calls chain."""

    def __init__(self, name: str, description: str = "", **settings: Any) -> None:
        """``settings``: any other top-level spec key (``project``, ``metadata``,
        ``resource_monitor``, ``execution_config``, Torc's settings...)."""
        self._spec: dict[str, Any] = {"name": name, **settings}
        if description:
            self._spec["description"] = description

    def _entry(self, section: str, entry: dict[str, Any]) -> None:
        self._spec.setdefault(section, []).append(
            {k: v for k, v in entry.items() if v is not None})

    def job(self, name: str, command: str, *, depends_on: Any = None,
            depends_on_regexes: list[str] | None = None, resources: str | None = None,
            scheduler: str | None = None, parameters: dict[str, Any] | None = None,
            input_files: list[str] | None = None, output_files: list[str] | None = None,
            input_user_data: list[str] | None = None,
            output_user_data: list[str] | None = None, priority: int | None = None,
            **more: Any) -> JobRef:
        """Add a job (or a parameter sweep of jobs: ``parameters``, with ``{name}`` in its
        name and command); ``more``: any other job key of a spec."""
        self._entry("jobs", {
            "name": name, "command": command, "depends_on": _names(depends_on) or None,
            "depends_on_regexes": depends_on_regexes, "resource_requirements": resources,
            "scheduler": scheduler, "parameters": parameters, "input_files": input_files,
            "output_files": output_files, "input_user_data": input_user_data,
            "output_user_data": output_user_data, "priority": priority, **more})
        return JobRef(name)

    def resources(self, name: str, *, num_cpus: int = 1, memory: str = "1m",
                  runtime: str = "PT1M", num_gpus: int = 0, num_nodes: int = 1) -> Workflow:
        """Add resource requirements (Torc's units: ``memory`` like ``1g``, ``runtime`` an
        ISO 8601 duration like ``PT30M``)."""
        self._entry("resource_requirements", {
            "name": name, "num_cpus": num_cpus, "memory": memory, "runtime": runtime,
            "num_gpus": num_gpus, "num_nodes": num_nodes})
        return self

    def file(self, name: str, path: str, **more: Any) -> Workflow:
        """Add a file (jobs name it in ``input_files``/``output_files``)."""
        self._entry("files", {"name": name, "path": path, **more})
        return self

    def user_data(self, name: str, data: Any = None, is_ephemeral: bool = False) -> Workflow:
        """Add a user data entry (JSON)."""
        self._entry("user_data", {"name": name, "data": data,
                                  "is_ephemeral": is_ephemeral or None})
        return self

    def scheduler(self, name: str, *, account: str, walltime: str = "01:00:00",
                  nodes: int = 1, **more: Any) -> Workflow:
        """Add a Slurm scheduler (``partition``, ``mem``, ``gres``, ``qos``...)."""
        self._entry("slurm_schedulers", {"name": name, "account": account,
                                         "walltime": walltime, "nodes": nodes, **more})
        return self

    def action(self, trigger_type: str, action_type: str, **more: Any) -> Workflow:
        """Add a workflow action (``on_workflow_start``, ``schedule_nodes``...)."""
        self._entry("actions", {"trigger_type": trigger_type, "action_type": action_type,
                                **more})
        return self

    def parameters(self, **values: Any) -> Workflow:
        """Parameters every sweep may use (a spec's top-level ``parameters``)."""
        self._spec.setdefault("parameters", {}).update(values)
        return self

    def to_spec(self) -> dict[str, Any]:
        """The spec as a dict: what ``yaml.safe_load`` of the same workflow gives."""
        return copy.deepcopy(self._spec)

    def create(self, client: TorcClient | str | None = None) -> int:
        """Create the workflow on a coordinator (a client, its URL, or None: the configured
        one); returns its id. Mistakes come back as a spec's do, naming job and field."""
        if isinstance(client, TorcClient):
            return client.create_workflow(self.to_spec())
        with TorcClient(client) as c:
            return c.create_workflow(self.to_spec())
