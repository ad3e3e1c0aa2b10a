"""The job RPCs of ``torc.v1.Torc`` (a part of TorcService): initialize and reinitialize
(with the files the caller sees), the reinitialize plan, job updates, job and result listings.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import Any

import grpc
import re2

from torc import states as S
from torc.errors import InvalidArgument, NotFound
from torc.proto import torc_pb2 as pb
from torc.server.rpc import convert, global_ids
from torc.server.rpc.replies import abort, paged
from torc.server.rpc.service_core import ServiceCore
from torc.server.state import changes
from torc.server.state import events as E
from torc.server.state.job import Result
from torc.server.state.results import Results
from torc.server.state.workflow import Workflow
from torc.spec.checks import RE2_OPTIONS


def file_times(wf: Workflow, request: pb.InitializeRequest) -> tuple | None:
    """The caller's file times as [index, mtime] pairs (None when it did not look);
    InvalidArgument for a file id the workflow does not have."""
    if not request.files_checked:
        return None
    try:
        mtimes = global_ids.file_mtimes(wf, request)
    except NotFound as e:
        raise InvalidArgument(f"file_mtimes: {e.message}") from None
    return tuple(sorted((k - 1, v) for k, v in mtimes.items()))


_SORT_KEYS: dict[str, Any] = {
    "id": lambda j: j.id, "name": lambda j: j.name, "status": lambda j: (j.status, j.id),
    "priority": lambda j: (j.priority, j.id),
    "return_code": lambda j: (j.return_code is None, j.return_code or 0, j.id)}


def _latest(results: Results, every: bool) -> Iterable[Result]:
    """Each job's latest result (Torc's default), or every result of every run."""
    if every:
        return results
    seen: set[int] = set()
    latest = []
    for r in reversed(results):
        if r.job_id not in seen:
            seen.add(r.job_id)
            latest.append(r)
    latest.reverse()
    return latest


class JobRpcs:
    """Initialize and reinitialize, job updates, job and result listings."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.store = core.store

    async def _file_times(self, request: pb.InitializeRequest,
                          context: grpc.aio.ServicerContext) -> tuple[Workflow, tuple | None]:
        """The workflow and the file times its caller saw (aborting the call when bad)."""
        wf = await self.core.read(context, request.workflow_id)
        try:
            return wf, file_times(wf, request)
        except InvalidArgument as e:
            await abort(context, e)

    async def _init_event(self, cls: type, request: pb.InitializeRequest,
                          context: grpc.aio.ServicerContext) -> pb.Workflow:
        _, mtimes = await self._file_times(request, context)
        return convert.workflow(await self.core.commit(
            cls(request.workflow_id, time.time(), mtimes), context))

    async def InitializeWorkflow(self, request: pb.InitializeRequest,
                                 context: grpc.aio.ServicerContext) -> pb.Workflow:
        return await self._init_event(E.InitializeWorkflow, request, context)

    async def ReinitializeWorkflow(self, request: pb.InitializeRequest,
                                   context: grpc.aio.ServicerContext) -> pb.Workflow:
        return await self._init_event(E.ReinitializeWorkflow, request, context)

    async def PlanReinitialize(self, request: pb.InitializeRequest,
                               context: grpc.aio.ServicerContext) -> pb.ReinitializePlan:
        wf, pairs = await self._file_times(request, context)
        found = changes.changed_jobs(wf, None if pairs is None else dict(pairs))
        return pb.ReinitializePlan(job_ids=[wf.gid(i) for i, _ in found],
                                   reasons=[r for _, r in found])

    async def UpdateJob(self, request: pb.UpdateJobRequest,
                        context: grpc.aio.ServicerContext) -> pb.Job:
        resources: dict[str, Any] = {}
        for field, key in (("num_cpus", "num_cpus"), ("memory_bytes", "memory"),
                           ("num_gpus", "num_gpus"), ("num_nodes", "num_nodes"),
                           ("runtime_seconds", "runtime")):
            if request.HasField(field):
                resources[key] = getattr(request, field)
        (job_id,) = await self.core.local(
            context, request.workflow_id, "jobs", (request.job_id,))
        event = E.UpdateJob(
            request.workflow_id, job_id, time.time(),
            priority=request.priority if request.HasField("priority") else None,
            rr_name=request.resource_requirements, resources=resources,
            command=request.command if request.HasField("command") else None)
        job = await self.core.commit(event, context)
        wf = self.store.workflow(request.workflow_id)
        return convert.job(wf, job)

    async def CancelJobs(self, request: pb.CancelJobsRequest,
                         context: grpc.aio.ServicerContext) -> pb.ListJobsResponse:
        job_ids = await self.core.local(context, request.workflow_id, "jobs",
                                        tuple(request.job_ids))
        jobs = await self.core.commit(E.CancelJobs(request.workflow_id, job_ids, time.time(),
                                                   request.terminate), context)
        wf = self.store.workflow(request.workflow_id)
        return pb.ListJobsResponse(jobs=[convert.job(wf, j) for j in jobs], total=len(jobs))

    async def FailPendingJobs(self, request: pb.FailPendingJobsRequest,
                              context: grpc.aio.ServicerContext) -> pb.ListJobsResponse:
        job_ids = await self.core.local(context, request.workflow_id, "jobs",
                                        tuple(request.job_ids))
        jobs = await self.core.commit(E.FailPending(request.workflow_id, job_ids, time.time()),
                                      context)
        wf = self.store.workflow(request.workflow_id)
        return pb.ListJobsResponse(jobs=[convert.job(wf, j) for j in jobs], total=len(jobs))

    async def ListJobs(self, request: pb.ListJobsRequest,
                       context: grpc.aio.ServicerContext) -> pb.ListJobsResponse:
        wf = await self.core.read(context, request.workflow_id)
        if request.status and request.status not in S.NAMES:
            await abort(context, InvalidArgument(f"unknown job status {request.status}"))
        jobs = wf.jobs if not request.status else [j for j in wf.jobs
                                                   if j.status == request.status]
        if request.job_ids:
            wanted = global_ids.known(wf, "jobs", request.job_ids)
            jobs = [wf.jobs[i - 1] for i in sorted(wanted)] if not request.status \
                else [j for j in jobs if j.id in wanted]
        if request.name_regex:
            try:
                rx = re2.compile(request.name_regex, options=RE2_OPTIONS)
            except re2.error:
                await abort(context, InvalidArgument(
                    f"name_regex: invalid regex {request.name_regex!r}"))
            jobs = [j for j in jobs if rx.search(j.name)]
        if request.sort_by or request.descending:
            key = _SORT_KEYS.get(request.sort_by or "id")
            if key is None:
                await abort(context, InvalidArgument(
                    f"sort_by must be one of {', '.join(_SORT_KEYS)}, not {request.sort_by!r}"))
            jobs = sorted(jobs, key=key, reverse=request.descending)
        page = paged(jobs, request.offset, request.limit)
        return pb.ListJobsResponse(jobs=[convert.job(wf, j) for j in page], total=len(jobs))

    async def ListResults(self, request: pb.ListResultsRequest,
                          context: grpc.aio.ServicerContext) -> pb.ListResultsResponse:
        wf = await self.core.read(context, request.workflow_id)
        job_id = wf.ids["jobs"].to_local(request.job_id) if request.job_id else 0
        if request.job_id and not job_id:
            return pb.ListResultsResponse()  # not one of its jobs: it has no results
        if request.result_id:
            at = wf.results.find(request.result_id)
            found = [] if at is None else [convert.result(wf, wf.results[at])]
            return pb.ListResultsResponse(results=found, total=len(found))
        rows = [r for r in _latest(wf.results, request.all_runs or bool(request.run_id))
                if (not request.failed_only or r.status != S.COMPLETED)
                and (not job_id or r.job_id == job_id)
                and (not request.run_id or r.run_id == request.run_id)
                and (not request.HasField("return_code") or r.return_code == request.return_code)]
        return pb.ListResultsResponse(
            results=[convert.result(wf, r) for r in paged(rows, request.offset, request.limit)],
            total=len(rows))

