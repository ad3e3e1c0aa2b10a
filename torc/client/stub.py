"""``TorcClient``: a small typed client over the generated gRPC stubs.

    from torc.client import TorcClient
    client = TorcClient("127.0.0.1:50051")
    wf_id = client.create_workflow("examples/diamond.yaml")
    client.initialize(wf_id)
    print(client.status(wf_id).job_counts)
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, cast

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from torc import auth
from torc import states as S
from torc.config import MAX_MESSAGE_BYTES, default_url
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc
from torc.spec.encoding import spec_json
from torc.spec.load import load_file
from torc.spec.validate import normalize


class ClientError(TorcError):
    """A call failed; ``code`` is the gRPC status name, the message is the server's."""


CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
    ("grpc.max_send_message_length", MAX_MESSAGE_BYTES),
    # A restarted coordinator is reached within 2 s, as workers do (gRPC's default backoff
    # grows to minutes); and each channel keeps its own connection state: gRPC otherwise
    # shares subchannels, so a new client inherits the backoff of every earlier failure.
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 2000),
    ("grpc.use_local_subchannel_pool", 1),
]


LOCAL_CHECK_JOBS = 10_000  # specs this small are validated here first (no round trip)


def load_spec(spec: str | Path | dict[str, Any],
              check: bool = True) -> tuple[dict[str, Any], str]:
    """Read a spec file (or take a dict); returns (raw spec, source). A small spec is
    validated here too (unless ``check`` is False: the caller knows a coordinator will),
    so its mistakes are named even with no coordinator; a large one (or one that expands)
    only by the coordinator, once, and :meth:`TorcClient.create_workflow` explains a refusal
    with the file's lines."""
    raw, source = (spec, "<dict>") if isinstance(spec, dict) else (load_file(spec), str(spec))
    if not check:
        return raw, source
    jobs = raw.get("jobs") if isinstance(raw, dict) else None
    if not isinstance(jobs, list) or (len(jobs) <= LOCAL_CHECK_JOBS and not any(
            isinstance(j, dict) and ("parameters" in j or "use_parameters" in j)
            for j in jobs)):
        normalize(raw, source)
    return raw, source


def raw_stub(url: str) -> pb_grpc.TorcStub:
    """The generated stub over an authenticated channel (for tools and tests that speak the
    protocol directly)."""
    return pb_grpc.TorcStub(auth.sync_channel(url, CHANNEL_OPTIONS))


class TorcClient:
    """Synchronous client for one coordinator."""

    def __init__(self, url: str | None = None, timeout: float = 60.0) -> None:
        self.url = url or default_url()
        self.timeout = timeout
        self.channel = auth.sync_channel(self.url, CHANNEL_OPTIONS)
        self.stub = pb_grpc.TorcStub(self.channel)
        self._metadata: tuple[tuple[str, str], ...] = ()  # who we are comes from the token

    def close(self) -> None:
        """Close the channel."""
        self.channel.close()

    def __enter__(self) -> TorcClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def call(self, method: str, request: Any, timeout: float | None = None) -> Any:
        """Invoke an RPC by name; gRPC errors become ClientError with the server's message."""
        try:
            return getattr(self.stub, method)(request, timeout=timeout or self.timeout,
                                              metadata=self._metadata)
        except grpc.RpcError as e:
            code = e.code()  # type: ignore[attr-defined]
            details = e.details()  # type: ignore[attr-defined]
            if code == grpc.StatusCode.UNAVAILABLE:
                details = f"cannot reach the coordinator at {self.url}: {details}"
            raise ClientError(details or str(code), code.name if code else "UNKNOWN") from None

    def wait_ready(self, timeout: float = 30.0, wait: bool = True) -> None:
        """Block until the coordinator answers (its health service says it serves); with
        ``wait`` false, fail at once when it cannot be reached (``torc ping``)."""
        # One health check that waits for the connection, not grpc.channel_ready_future: that
        # leaves a thread polling the channel's state, and closing the channel waits for its
        # next poll, which a quick command such as a small ``torc run`` would notice.
        check = cast(Any, health_pb2_grpc.HealthStub(self.channel)).Check  # untyped stub
        try:
            check(health_pb2.HealthCheckRequest(), timeout=timeout, wait_for_ready=wait)
        except grpc.RpcError as e:
            code = e.code()  # type: ignore[attr-defined]
            if code != grpc.StatusCode.DEADLINE_EXCEEDED:
                raise ClientError(e.details() or str(code), code.name) from None  # type: ignore[attr-defined]
            raise ClientError(f"cannot reach the coordinator at {self.url}",
                              "UNAVAILABLE") from None

    # ----- workflows

    def create_workflow(self, spec: str | Path | dict[str, Any]) -> int:
        """Create a workflow from a spec file or dict; returns its id."""
        return self.create_loaded(*load_spec(spec))

    def create_loaded(self, raw: dict[str, Any], source: str) -> int:
        """Create a workflow from a spec :func:`load_spec` read; returns its id."""
        req = pb.CreateWorkflowRequest(spec_json=spec_json(raw, source), source=source)
        try:
            return self.call("CreateWorkflow", req, timeout=max(self.timeout, 600)).id
        except ClientError as e:
            if e.code != "INVALID_ARGUMENT":
                raise
            # Validated once, by the coordinator: only a refused spec is validated here too,
            # for the file lines the parsed file still has (SpecError names them).
            normalize(raw, source)
            raise

    def get_workflow(self, wf_id: int) -> pb.Workflow:
        """One workflow."""
        return self.call("GetWorkflow", pb.WorkflowRef(workflow_id=wf_id))

    def list_workflows(self, offset: int = 0, limit: int = 0, user: str = "",
                       all: bool = False) -> list[pb.Workflow]:
        """Workflows (or a page): not archived unless ``all``; only ``user``'s if given."""
        req = pb.ListWorkflowsRequest(offset=offset, limit=limit, user=user, all=all)
        return list(self.call("ListWorkflows", req).workflows)

    def delete_workflow(self, wf_id: int) -> None:
        """Delete a workflow and everything recorded about it."""
        self.call("DeleteWorkflow", pb.WorkflowRef(workflow_id=wf_id))

    def cancel(self, wf_id: int, scancel: bool = True) -> pb.Workflow:
        """Cancel: nothing more starts; workers kill running jobs; with ``scancel``, the
        workflow's Slurm allocations that may still run are canceled too."""
        wf = self.call("CancelWorkflow", pb.WorkflowRef(workflow_id=wf_id))
        if scancel:
            from torc import slurm

            live = [a.slurm_job_id for a in self.list_allocations(wf_id)
                    if a.state not in slurm.FINAL_STATES]
            if live:
                slurm.scancel(live)
        return wf

    def _init_request(self, wf_id: int, files_dir: str | Path | None) -> pb.InitializeRequest:
        """The request, with the modification times of the workflow's files as seen from
        ``files_dir`` (where jobs run: relative paths are relative to it); None: not checked."""
        req = pb.InitializeRequest(workflow_id=wf_id)
        if files_dir is not None:
            req.files_checked = True
            for f in self.list_files(wf_id):
                path = Path(files_dir) / f.path
                try:
                    req.file_mtimes[f.id] = path.stat().st_mtime
                except OSError:
                    pass  # does not exist (yet)
        return req

    def initialize(self, wf_id: int, files_dir: str | Path | None = None) -> pb.Workflow:
        """Start the first run. With ``files_dir`` (the jobs' directory), input files that no
        job writes must exist there, and their times are recorded for reinitialize."""
        return self.call("InitializeWorkflow", self._init_request(wf_id, files_dir))

    def reinitialize(self, wf_id: int, files_dir: str | Path | None = None) -> pb.Workflow:
        """Start a new run, keeping completed jobs unless what they read changed (command,
        input user data, and with ``files_dir`` input files and missing outputs); re-arms
        actions."""
        return self.call("ReinitializeWorkflow", self._init_request(wf_id, files_dir))

    def plan_reinitialize(self, wf_id: int,
                          files_dir: str | Path | None = None) -> list[tuple[int, str]]:
        """Which completed jobs a reinitialize would run again, and why (nothing changes)."""
        plan = self.call("PlanReinitialize", self._init_request(wf_id, files_dir))
        return list(zip(plan.job_ids, plan.reasons, strict=True))

    def list_files(self, wf_id: int) -> list[pb.FileInfo]:
        """The workflow's files (id, name, path, whether required, recorded mtime)."""
        return list(self.page("ListFiles", wf_id).files)

    def page(self, rpc: str, wf_id: int, offset: int = 0, limit: int = 0) -> Any:
        """One page of ``ListFiles``, ``ListUserData`` or ``ListWorkers`` (limit 0: all the
        coordinator gives in one answer), with the total."""
        return self.call(rpc, pb.PageRequest(workflow_id=wf_id, offset=offset, limit=limit))

    def update_job(self, wf_id: int, job_id: int, **changes: Any) -> pb.Job:
        """Change a job that is not running: ``priority``, ``resource_requirements`` (a
        name), ``num_cpus``, ``memory_bytes``, ``num_gpus``, ``num_nodes``,
        ``runtime_seconds``, ``command``."""
        return self.call("UpdateJob", pb.UpdateJobRequest(workflow_id=wf_id, job_id=job_id,
                                                          **changes))

    def fail_pending_jobs(self, wf_id: int, job_ids: list[int]) -> list[pb.Job]:
        """Jobs held in pending_failed become failed; their dependents are canceled."""
        return list(self.call("FailPendingJobs", pb.FailPendingJobsRequest(
            workflow_id=wf_id, job_ids=job_ids)).jobs)

    def cancel_jobs(self, wf_id: int, job_ids: list[int], terminate: bool = False
                    ) -> list[pb.Job]:
        """Cancel (``terminate``: a running one ends terminated) single jobs; they are
        killed where they run and what depends on them is canceled. Returns every job
        canceled."""
        return list(self.call("CancelJobs", pb.CancelJobsRequest(
            workflow_id=wf_id, job_ids=job_ids, terminate=terminate)).jobs)

    def reset_status(self, wf_id: int, failed_only: bool = False,
                     reinitialize: bool = False, job_ids: list[int] | None = None,
                     retry: bool = False) -> pb.Workflow:
        """Reset jobs to uninitialized: all, or the failed ones (or ``job_ids``) and their
        downstream; ``reinitialize`` then starts a new run of just those. ``retry`` (with
        ``job_ids``): run those failed jobs again now, in the current run, while the rest
        runs on."""
        req = pb.ResetStatusRequest(workflow_id=wf_id, failed_only=failed_only,
                                    reinitialize=reinitialize, job_ids=job_ids or [],
                                    retry=retry)
        return self.call("ResetStatus", req)

    def status(self, wf_id: int) -> pb.WorkflowStatus:
        """Job counts per state."""
        return self.call("GetStatus", pb.WorkflowRef(workflow_id=wf_id))

    # ----- read side

    def list_jobs(self, wf_id: int, status: str | None = None, offset: int = 0,
                  limit: int = 0, job_ids: list[int] | None = None,
                  name_regex: str = "", sort_by: str = "", descending: bool = False
                  ) -> list[pb.Job]:
        """Jobs, optionally only those in ``status`` (a state name), with the given ids, or
        whose name ``name_regex`` finds a match in."""
        return list(self.list_jobs_page(wf_id, status, offset, limit, job_ids, name_regex,
                                        sort_by, descending).jobs)

    def list_jobs_page(self, wf_id: int, status: str | None = None, offset: int = 0,
                       limit: int = 0, job_ids: list[int] | None = None, name_regex: str = "",
                       sort_by: str = "", descending: bool = False) -> pb.ListJobsResponse:
        """One page of jobs with the total that match (for paging)."""
        st = cast(pb.JobStatus, S.parse(status) if status else 0)
        req = pb.ListJobsRequest(workflow_id=wf_id, status=st, offset=offset, limit=limit,
                                 job_ids=job_ids or [], name_regex=name_regex,
                                 sort_by=sort_by, descending=descending)
        return self.call("ListJobs", req)

    def job_graph(self, wf_id: int) -> pb.JobGraph:
        """The workflow's graph grouped by level and name pattern, with counts by state."""
        return self.call("GetJobGraph", pb.WorkflowRef(workflow_id=wf_id))

    def locate(self, kind: str, item_id: int) -> int:
        """The workflow that owns a job, file, user data, result or compute node (ids are
        global, as Torc's)."""
        return self.call("Locate", pb.LocateRequest(kind=kind, id=item_id)).workflow_id

    def list_results(self, wf_id: int, failed_only: bool = False, job_id: int = 0,
                     run_id: int = 0, return_code: int | None = None,
                     all_runs: bool = False) -> list[pb.JobResult]:
        """Recorded results: each job's latest, or with ``all_runs`` (or a ``run_id``) one
        per (job, run, attempt); optionally filtered."""
        req = pb.ListResultsRequest(workflow_id=wf_id, failed_only=failed_only, job_id=job_id,
                                    run_id=run_id, return_code=return_code, all_runs=all_runs)
        return list(self.call("ListResults", req).results)

    def list_actions(self, wf_id: int) -> list[pb.Action]:
        """Actions with trigger progress and executions."""
        return list(self.call("ListActions", pb.WorkflowRef(workflow_id=wf_id)).actions)

    def list_workers(self, wf_id: int) -> list[pb.Worker]:
        """Workers that registered with the workflow."""
        return list(self.page("ListWorkers", wf_id).workers)

    def list_allocations(self, wf_id: int) -> list[pb.Allocation]:
        """Slurm allocations submitted for the workflow, with their last known state."""
        return list(self.call("ListAllocations", pb.WorkflowRef(workflow_id=wf_id)).allocations)

    def update_remote_workers(self, wf_id: int, add: list[str] = (),  # type: ignore[assignment]
                              remove: list[str] = ()) -> list[str]:  # type: ignore[assignment]
        """Add and remove hosts of the workflow's remote workers; the list after."""
        return list(self.call("UpdateRemoteWorkers", pb.UpdateRemoteWorkersRequest(
            workflow_id=wf_id, add=list(add), remove=list(remove))).hosts)

    def list_remote_workers(self, wf_id: int) -> list[str]:
        """The hosts of the workflow's remote workers, in the order added."""
        return list(self.call("ListRemoteWorkers", pb.WorkflowRef(workflow_id=wf_id)).hosts)

    def sync_status(self, wf_id: int, dry_run: bool = False) -> pb.SyncStatusResponse:
        """Have the coordinator ask Slurm now about the workflow's allocations and fail the
        jobs of those that ended (``dry_run``: only say which)."""
        return self.call("SyncStatus", pb.SyncStatusRequest(workflow_id=wf_id, dry_run=dry_run))

    def watch_events(self, wf_id: int = 0, history: bool = False,
                     mark_history_end: bool = False, job_events: bool = False) -> Any:
        """Iterator over the workflow event feed (0: all workflows); with ``history``, the
        recent events the coordinator holds come first, and with ``mark_history_end`` an
        event with ``history_end`` set follows them; ``job_events``: each job's changes too
        (job_started, job_completed, job_failed, job_<state>)."""
        return self.stub.WatchEvents(
            pb.WatchEventsRequest(workflow_id=wf_id, history=history,
                                  mark_history_end=mark_history_end, job_events=job_events),
            metadata=self._metadata)

    def event_history(self, wf_id: int, job_events: bool = True) -> list[pb.WorkflowEvent]:
        """The events the coordinator holds for a workflow, oldest first: its feed and, with
        ``job_events``, each job's start and end from its recent results."""
        stream = self.watch_events(wf_id, history=True, mark_history_end=True,
                                   job_events=job_events)
        events: list[pb.WorkflowEvent] = []
        try:
            for ev in stream:
                if ev.history_end:
                    break
                events.append(ev)
        finally:
            stream.cancel()
        return events

    # ----- moving workflows

    def export_workflow(self, wf_id: int) -> dict[str, Any]:
        """The workflow as one self-contained document (spec, states, results, events)."""
        return json.loads(self.call("ExportWorkflow", pb.WorkflowRef(workflow_id=wf_id),
                                    timeout=max(self.timeout, 600)).document_json)

    def add_to_workflow(self, wf_id: int, addition: dict[str, Any],
                        source: str = "") -> pb.AddedToWorkflow:
        """Add ``{"jobs": [...], "files": [...], "user_data": [...],
        "resource_requirements": [...]}`` (as in a spec) to a workflow not yet initialized;
        the new entries' ids."""
        return self.call("AddToWorkflow", pb.AddToWorkflowRequest(
            workflow_id=wf_id, addition_json=json.dumps(addition), source=source),
            timeout=max(self.timeout, 600))

    def add_jobs(self, wf_id: int, jobs: list[dict[str, Any]],
                 batch: int = 10_000) -> list[int]:
        """Add jobs (spec entries) ``batch`` at a time, as Torc's create_jobs sends them; a
        job may depend on jobs of earlier batches. The new jobs' ids, in order."""
        ids: list[int] = []
        for start in range(0, len(jobs), batch):
            ids += self.add_to_workflow(wf_id, {"jobs": jobs[start:start + batch]}).job_ids
        return ids

    def workflow_spec(self, wf_id: int, with_jobs: bool = False) -> dict[str, Any]:
        """The workflow's spec as its export holds it, without its jobs unless asked."""
        return json.loads(self.call("GetWorkflowSpec", pb.WorkflowSpecRequest(
            workflow_id=wf_id, with_jobs=with_jobs)).spec_json)

    def import_workflow(self, document: dict[str, Any], keep_state: bool = False) -> pb.Workflow:
        """A new workflow from an export (new ids; states reset unless ``keep_state``)."""
        return self.call("ImportWorkflow", pb.ImportWorkflowRequest(
            document_json=json.dumps(document), keep_state=keep_state),
            timeout=max(self.timeout, 600))

    def archive(self, wf_id: int, archived: bool = True) -> pb.Workflow:
        """Hide a workflow from listings (or show it again)."""
        return self.call("ArchiveWorkflow", pb.ArchiveWorkflowRequest(workflow_id=wf_id,
                                                                      archived=archived))
