"""``DefaultApi``: the calls of Torc's OpenAPI client that its Python API and tutorials make,
each a call of torc-py's gRPC client. Jobs name their dependencies, user data, files,
requirements and scheduler by id, as Torc's do; they are sent by name (AddToWorkflow)."""

from __future__ import annotations

import json
from typing import Any

from torc.client.stub import TorcClient
from torc.client.torc_api.models import (
    FileModel,
    JobModel,
    JobsModel,
    ListResponse,
    ResourceRequirementsModel,
    SlurmSchedulerModel,
    UserDataModel,
    WorkflowModel,
)
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb
from torc.states import NAMES as STATE_NAMES

PAGE = 10_000  # Torc's default listing limit


def _listing(items: list[Any], offset: int, limit: int | None) -> ListResponse:
    limit = PAGE if limit is None else limit
    page = items[offset:offset + limit]
    return ListResponse(page, offset, limit, len(page), len(items),
                        offset + len(page) < len(items))


class DefaultApi:
    """Torc's API object (what ``make_api`` returns), over one TorcClient."""

    def __init__(self, client: TorcClient) -> None:
        self.client = client

    # ----- workflows

    def create_workflow(self, body: WorkflowModel) -> WorkflowModel:
        spec: dict[str, Any] = {"name": body.name}
        for key in ("user", "description", "project", "metadata"):
            if getattr(body, key) is not None:
                spec[key] = getattr(body, key)
        return self.get_workflow(self.client.create_workflow(spec))

    def get_workflow(self, id: int) -> WorkflowModel:  # noqa: A002 - Torc's name
        w = self.client.get_workflow(id)
        return WorkflowModel(name=w.name, user=w.user, description=w.description, id=w.id)

    def delete_workflow(self, id: int) -> None:  # noqa: A002
        self.client.delete_workflow(id)

    # ----- spec sections numbered within the workflow

    def _add(self, wf_id: int, section: str, entry: dict[str, Any]) -> Any:
        return self.client.add_to_workflow(wf_id, {section: [entry]})

    def create_resource_requirements(self, body: ResourceRequirementsModel
                                     ) -> ResourceRequirementsModel:
        entry = {k: getattr(body, k) for k in ("name", "num_cpus", "num_gpus", "num_nodes",
                                               "memory", "runtime")}
        self._add(body.workflow_id, "resource_requirements", entry)
        names = [r["name"] for r in self._section(body.workflow_id, "resource_requirements")]
        body.id = names.index(body.name) + 1
        return body

    def create_slurm_scheduler(self, body: SlurmSchedulerModel) -> SlurmSchedulerModel:
        entry = {k: v for k, v in body.to_dict().items() if k not in ("workflow_id", "id")}
        self._add(body.workflow_id, "slurm_schedulers", entry)
        body.id = len(self._section(body.workflow_id, "slurm_schedulers"))
        return body

    def list_resource_requirements(self, workflow_id: int, offset: int = 0,
                                   limit: int | None = None, **_: Any) -> ListResponse:
        items = [ResourceRequirementsModel(
            workflow_id, r["name"], r.get("num_cpus", 1), r.get("num_gpus", 0),
            r.get("num_nodes", 1), str(r.get("memory", "")), str(r.get("runtime", "")), id=i)
            for i, r in enumerate(self._section(workflow_id, "resource_requirements"), 1)]
        return _listing(items, offset, limit)

    def list_slurm_schedulers(self, workflow_id: int, offset: int = 0,
                              limit: int | None = None, **_: Any) -> ListResponse:
        fields = set(SlurmSchedulerModel.__dataclass_fields__) - {"workflow_id", "id"}
        items = [SlurmSchedulerModel(workflow_id=workflow_id, id=i,
                                     **{k: v for k, v in s.items() if k in fields})
                 for i, s in enumerate(self._section(workflow_id, "slurm_schedulers"), 1)]
        return _listing(items, offset, limit)

    def list_workflows(self, offset: int = 0, limit: int | None = None,
                       **_: Any) -> ListResponse:
        items = [WorkflowModel(name=w.name, user=w.user, description=w.description, id=w.id)
                 for w in self.client.list_workflows()]
        return _listing(items, offset, limit)

    def _section(self, wf_id: int, key: str) -> list[dict[str, Any]]:
        return self.client.workflow_spec(wf_id).get(key) or []

    # ----- user data and files (global ids)

    def create_user_data(self, body: UserDataModel) -> UserDataModel:
        added = self._add(body.workflow_id, "user_data", {
            "name": body.name, "data": body.data, "is_ephemeral": body.is_ephemeral})
        body.id = added.user_data_ids[0]
        return body

    def get_user_data(self, id: int) -> UserDataModel:  # noqa: A002
        wf = self.client.locate("user_data", id)
        u = self.client.call("GetUserData", pb.UserDataRef(workflow_id=wf, user_data_id=id))
        return UserDataModel(wf, u.name, json.loads(u.data_json), u.is_ephemeral, u.id)

    def update_user_data(self, id: int, body: UserDataModel) -> UserDataModel:  # noqa: A002
        wf = body.workflow_id or self.client.locate("user_data", id)
        self.client.call("UpdateUserData", pb.UpdateUserDataRequest(
            workflow_id=wf, user_data_id=id, data_json=json.dumps(body.data)))
        return self.get_user_data(id)

    def list_user_data(self, workflow_id: int, consumer_job_id: int | None = None,
                       producer_job_id: int | None = None, offset: int = 0,
                       limit: int | None = None, **_: Any) -> ListResponse:
        """The workflow's user data; with ``consumer_job_id`` (or ``producer_job_id``) only
        what that job reads (writes), in the order the job names them."""
        entries = {u.id: UserDataModel(workflow_id, u.name, json.loads(u.data_json),
                                       u.is_ephemeral, u.id)
                   for u in self.client.page("ListUserData", workflow_id).user_data}
        items = list(entries.values())
        for job_id, field in ((consumer_job_id, "input_user_data"),
                              (producer_job_id, "output_user_data")):
            if job_id is not None:
                (job,) = self.client.list_jobs(workflow_id, job_ids=[job_id])
                items = [entries[i] for i in getattr(job, field)]
        return _listing(items, offset, limit)

    def list_files(self, workflow_id: int, offset: int = 0, limit: int | None = None,
                   **_: Any) -> ListResponse:
        items = [FileModel(workflow_id, f.name, f.path, f.id,
                           f.mtime if f.HasField("mtime") else None)
                 for f in self.client.list_files(workflow_id)]
        return _listing(items, offset, limit)

    def create_file(self, body: FileModel) -> FileModel:
        added = self._add(body.workflow_id, "files", {"name": body.name, "path": body.path})
        body.id = added.file_ids[0]
        return body

    # ----- jobs

    def create_job(self, body: JobModel) -> JobModel:
        return self.create_jobs(JobsModel(jobs=[body])).jobs[0]

    def create_jobs(self, body: JobsModel) -> JobsModel:
        """Jobs of one workflow, sent in one addition."""
        if not body.jobs:
            return body
        wf_id = body.jobs[0].workflow_id
        if any(j.workflow_id != wf_id for j in body.jobs):
            raise TorcError("create_jobs: every job must belong to the same workflow")
        names = _Names(self.client, wf_id)
        ids = self.client.add_to_workflow(wf_id, {"jobs": [names.entry(j) for j in body.jobs]}
                                          ).job_ids
        for job, job_id in zip(body.jobs, ids, strict=True):
            job.id, job.status = job_id, "uninitialized"
        return body

    def list_jobs(self, workflow_id: int, offset: int = 0, limit: int | None = None,
                  status: str | None = None, **_: Any) -> ListResponse:
        page = self.client.list_jobs_page(workflow_id, status, offset, limit or PAGE)
        items = [_job_model(workflow_id, j) for j in page.jobs]
        return ListResponse(items, offset, limit or PAGE, len(items), page.total,
                            offset + len(items) < page.total)

    def get_job(self, id: int) -> JobModel:  # noqa: A002
        wf = self.client.locate("job", id)
        return _job_model(wf, self.client.list_jobs(wf, job_ids=[id])[0])


def _job_model(wf_id: int, j: pb.Job) -> JobModel:
    return JobModel(wf_id, j.name, j.command, id=j.id, status=STATE_NAMES.get(j.status),
                    depends_on_job_ids=list(j.depends_on),
                    input_user_data_ids=list(j.input_user_data),
                    output_user_data_ids=list(j.output_user_data),
                    input_file_ids=list(j.input_files), output_file_ids=list(j.output_files),
                    priority=j.priority)


class _Names:
    """Ids a job model names, as the names an addition takes (looked up once a batch)."""

    def __init__(self, client: TorcClient, wf_id: int) -> None:
        self.client, self.wf_id = client, wf_id
        self._tables: dict[str, dict[int, str]] = {}

    def _table(self, kind: str) -> dict[int, str]:
        if kind not in self._tables:
            c, wf = self.client, self.wf_id
            if kind == "jobs":
                table = {j.id: j.name for j in c.list_jobs(wf)}
            elif kind == "user_data":
                table = {u.id: u.name for u in c.page("ListUserData", wf).user_data}
            elif kind == "files":
                table = {f.id: f.name for f in c.list_files(wf)}
            else:  # numbered within the workflow from 1, in spec order
                table = {i: s["name"] for i, s in enumerate(
                    c.workflow_spec(wf).get(kind) or [], 1)}
            self._tables[kind] = table
        return self._tables[kind]

    def _names(self, kind: str, ids: list[int] | None, what: str, job: str) -> list[str]:
        table = self._table(kind)
        missing = [i for i in ids or [] if i not in table]
        if missing:
            raise TorcError(f"job {job!r}: {what} {missing} not in workflow {self.wf_id}")
        return [table[i] for i in ids or []]

    def entry(self, j: JobModel) -> dict[str, Any]:
        e: dict[str, Any] = {"name": j.name, "command": j.command}
        for key, kind, ids in (("depends_on", "jobs", j.depends_on_job_ids),
                               ("input_user_data", "user_data", j.input_user_data_ids),
                               ("output_user_data", "user_data", j.output_user_data_ids),
                               ("input_files", "files", j.input_file_ids),
                               ("output_files", "files", j.output_file_ids)):
            if ids:
                e[key] = self._names(kind, ids, key + "_ids", j.name)
        for key, kind, one in (("resource_requirements", "resource_requirements",
                                j.resource_requirements_id),
                               ("scheduler", "slurm_schedulers", j.scheduler_id)):
            if one is not None:
                e[key] = self._names(kind, [one], key + "_id", j.name)[0]
        for key in ("invocation_script", "cancel_on_blocking_job_failure",
                    "supports_termination", "priority"):
            if getattr(j, key) is not None:
                e[key] = getattr(j, key)
        return e
