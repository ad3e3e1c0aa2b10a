"""Store objects to protobuf messages (the read side of the service)."""

from __future__ import annotations

import json
from typing import Any, cast

from torc.proto import torc_pb2 as pb
from torc.server.state.access import Group
from torc.server.state.job import Job, Result
from torc.server.state.records import Worker
from torc.server.state.triggered_actions import Action
from torc.server.state.workflow import Workflow


def workflow(wf: Workflow) -> pb.Workflow:
    """Summary of a workflow."""
    return pb.Workflow(
        id=wf.id, name=wf.name, description=wf.description, project=wf.project,
        num_jobs=len(wf.jobs), run_id=wf.run_id, initialized=wf.initialized,
        canceled=wf.canceled, complete=wf.complete, created_at=wf.created_at,
        metadata_json=json.dumps(wf.extra.get("metadata")), user=wf.user, archived=wf.archived,
        slurm_schedulers_json=json.dumps([wf.scheduler_config(s["name"]) for s in
                                          wf.extra.get("slurm_schedulers") or []]),
    )


def status(wf: Workflow) -> pb.WorkflowStatus:
    """Job counts per state."""
    return pb.WorkflowStatus(workflow_id=wf.id, job_counts=wf.status_counts(), run_id=wf.run_id,
                             complete=wf.complete, canceled=wf.canceled, num_jobs=len(wf.jobs))


def job(wf: Workflow, j: Job) -> pb.Job:
    """One job with its current state."""
    rr = wf.rrs[j.rr]
    to_job = wf.ids["jobs"].to_global
    io: dict[str, Any] = {k: io_ids(wf, k, v) for k, v in j.io.items()}
    msg = pb.Job(
        id=to_job(j.id), name=j.name, status=cast(pb.JobStatus, j.status),
        command=wf.command(j), run_id=j.run_id,
        attempt_id=j.attempt_id, priority=j.priority, depends_on=map(to_job, j.deps),
        resource_requirements=wf.rrs[j.rr]["name"], invocation_script=j.invocation_script,
        cancel_on_blocking_job_failure=j.cancel_on_fail,
        supports_termination=j.supports_termination, scheduler=j.scheduler or "",
        worker_id=j.worker_id,
        failure_handler=(wf.extra["failure_handlers"][j.handler]["name"]
                         if j.handler is not None else ""),
        **io,
        num_cpus=rr["num_cpus"], memory_bytes=rr["memory"], num_gpus=rr["num_gpus"],
        num_nodes=rr["num_nodes"], runtime_seconds=rr["runtime"],
    )
    if j.return_code is not None:
        msg.return_code = j.return_code
    return msg


def claimed_job(wf: Workflow, j: Job) -> pb.ClaimedJob:
    """What a worker needs to run a job."""
    rr = wf.rrs[j.rr]
    off = wf.ids["jobs"].offset
    command = j.command
    msg = pb.ClaimedJob(
        id=j.id + off if off is not None else wf.gid(j.id), name=j.name,
        command=command if "${user_data." not in command else wf.command(j),
        invocation_script=j.invocation_script,
        run_id=j.run_id, attempt_id=j.attempt_id, num_cpus=rr["num_cpus"],
        memory_bytes=rr["memory"], num_gpus=rr["num_gpus"], num_nodes=rr["num_nodes"],
        runtime_seconds=rr["runtime"], supports_termination=j.supports_termination,
    )
    stdio = j.stdio or (wf.extra.get("execution_config") or {}).get("stdio")
    if stdio:
        msg.stdio_mode = stdio["mode"]
        msg.delete_stdio_on_success = stdio["delete_on_success"]
    if outputs := j.io.get("output_files"):
        files, to_file = wf.extra["files"], wf.ids["files"].to_global
        for k in outputs:
            msg.output_files.append(pb.FileInfo(id=to_file(k + 1), name=files[k]["name"],
                                                path=files[k]["path"]))
    if j.handler is not None:
        msg.failure_handler_json = json.dumps(wf.extra["failure_handlers"][j.handler])
    return msg


def result(wf: Workflow, r: Result) -> pb.JobResult:
    """One recorded job result."""
    fields = {k: v for k, v in r._asdict().items() if v is not None}
    fields["job_id"] = wf.gid(r.job_id)
    return pb.JobResult(job_name=wf.jobs[r.job_id - 1].name, **fields)


def io_ids(wf: Workflow, key: str, indices: list[int]) -> list[int]:
    """A job's input/output files or user data (indices in the spec) as global ids."""
    return list(map(wf.ids["files" if key.endswith("files") else "user_data"].to_global,
                    [i + 1 for i in indices]))


def worker_settings(wf: Workflow) -> str:
    """What workers of ``wf`` need to know about how to run (JSON)."""
    return json.dumps({**(wf.extra.get("settings") or {}),
                       "execution_config": wf.extra.get("execution_config") or {},
                       "resource_monitor": wf.extra.get("resource_monitor") or {}})


def action(wf: Workflow, a: Action) -> pb.Action:
    """An action with its progress and executions."""
    return pb.Action(
        id=a.id, trigger_type=a.trigger, action_type=a.kind, persistent=a.persistent,
        trigger_count=a.count if a.trigger in ("on_jobs_ready", "on_jobs_complete")
        else int(a.triggered), required_triggers=a.required,
        pending=a.triggered and (a.persistent or not a.claimed), executed=bool(a.executions),
        job_names=[wf.jobs[j - 1].name for j in a.job_ids[:1000]],
        config_json=json.dumps(a.config),
        executions=[pb.ActionExecution(**{k: v for k, v in e.items()
                                           if k in pb.ActionExecution.DESCRIPTOR.fields_by_name})
                    for e in a.executions],
    )


def claimed_action(wf: Workflow, a: Action) -> pb.ClaimedAction:
    """What a worker needs to execute an action (schedule_nodes: with the scheduler's
    settings resolved, so the executor needs nothing else from the workflow)."""
    config = dict(a.config)
    if a.kind == "schedule_nodes":
        config["scheduler_config"] = wf.scheduler_config(a.config["scheduler"])
    return pb.ClaimedAction(id=a.id, trigger_type=a.trigger, action_type=a.kind,
                            commands=a.config.get("commands", []),
                            config_json=json.dumps(config), run_id=wf.run_id)


def allocation(wf_id: int, d: dict) -> pb.Allocation:
    """A Slurm allocation of a workflow."""
    return pb.Allocation(workflow_id=wf_id, slurm_job_id=d["slurm_job_id"],
                         scheduler=d["scheduler"], action_id=d["action_id"],
                         num_nodes=d["num_nodes"], state=d["state"],
                         submitted_at=d["submitted_at"], updated_at=d["updated_at"])


def resources(d: dict) -> pb.Resources:
    """Resources dict (as stored) to message."""
    return pb.Resources(num_cpus=d.get("num_cpus", 0), memory_bytes=d.get("memory", 0),
                        num_gpus=d.get("num_gpus", 0), num_nodes=d.get("num_nodes", 1),
                        time_left_seconds=d.get("time_left", 0.0))


def worker(w: Worker, wf: Workflow | None) -> pb.Worker:
    """A registered worker (``wf``: its workflow, gone when deleted)."""
    return pb.Worker(id=w.id, workflow_id=w.workflow_id, hostname=w.hostname,
                     slurm_job_id=w.slurm_job_id, node_name=w.node_name,
                     resources=resources(w.resources), start_time=w.start_time,
                     last_heartbeat=w.last_heartbeat, active=w.active, pid=w.pid,
                     running_job_ids=sorted(map(wf.gid, w.jobs)) if wf else (),
                     lost=w.lost, role=w.role, scheduler=w.scheduler, output_dir=w.output_dir)


def access_group(g: Group) -> pb.AccessGroup:
    """An access group with its members and workflows."""
    return pb.AccessGroup(id=g.id, name=g.name, description=g.description,
                          created_at=g.created_at,
                          members=[pb.GroupMember(user=u, role=r)
                                   for u, r in sorted(g.members.items())],
                          workflow_ids=sorted(g.workflows))
