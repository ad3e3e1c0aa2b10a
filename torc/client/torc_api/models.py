"""The models of Torc's OpenAPI client that its Python API and tutorials use, as dataclasses
with Torc's field names. Ids are Torc's: jobs, files and user data have global ids; resource
requirements and Slurm schedulers are numbered from 1 within their workflow (as
``torc resource-requirements list`` shows them)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


class _Model:
    def to_dict(self) -> dict[str, Any]:
        """The fields that are set (Torc's models' ``to_dict``)."""
        return {k: v for k, v in asdict(self).items()  # type: ignore[call-overload]
                if v is not None}

    def model_dump(self) -> dict[str, Any]:
        """Every field (pydantic's name, which Torc's models have)."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass
class WorkflowModel(_Model):
    name: str
    user: str | None = None
    description: str | None = None
    id: int | None = None
    project: str | None = None
    metadata: Any = None


@dataclass
class ResourceRequirementsModel(_Model):
    workflow_id: int
    name: str
    num_cpus: int = 1
    num_gpus: int = 0
    num_nodes: int = 1
    memory: str = "1m"
    runtime: str = "P0DT1M"
    id: int | None = None


@dataclass
class SlurmSchedulerModel(_Model):
    workflow_id: int
    name: str
    account: str
    walltime: str = "01:00:00"
    nodes: int = 1
    mem: str | None = None
    gres: str | None = None
    partition: str | None = None
    qos: str | None = None
    tmp: str | None = None
    ntasks_per_node: int | None = None
    extra: str | None = None
    id: int | None = None


@dataclass
class UserDataModel(_Model):
    workflow_id: int
    name: str
    data: Any = None
    is_ephemeral: bool = False
    id: int | None = None


@dataclass
class FileModel(_Model):
    workflow_id: int
    name: str
    path: str
    id: int | None = None
    st_mtime: float | None = None


@dataclass
class JobModel(_Model):
    workflow_id: int
    name: str
    command: str
    id: int | None = None
    status: str | None = None
    invocation_script: str | None = None
    depends_on_job_ids: list[int] | None = None
    input_file_ids: list[int] | None = None
    output_file_ids: list[int] | None = None
    input_user_data_ids: list[int] | None = None
    output_user_data_ids: list[int] | None = None
    resource_requirements_id: int | None = None
    scheduler_id: int | None = None
    cancel_on_blocking_job_failure: bool | None = None
    supports_termination: bool | None = None
    priority: int | None = None


@dataclass
class JobsModel(_Model):
    jobs: list[JobModel] = field(default_factory=list)


@dataclass
class ListResponse(_Model):
    """Torc's paged listing: ``items`` with ``offset``, ``count``, ``total_count``,
    ``has_more`` (what ``iter_documents`` walks)."""

    items: list[Any]
    offset: int
    max_limit: int
    count: int
    total_count: int
    has_more: bool
