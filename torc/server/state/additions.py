"""Adding to a workflow after its creation (Torc's create_jobs, create_user_data...): jobs,
files, user data, resource requirements and Slurm schedulers, named as in a spec;
dependencies by name on jobs it holds or jobs in the same addition.

``plan`` checks an addition as a spec would be checked, by normalizing the workflow's own
spec with the addition appended (the same rules, the same errors naming job and field), and
returns the event; ``extend`` applies it. Jobs added to an initialized workflow join its
current run, blocked or ready as an initialize would make them (an executor adds calls while
others run); a canceled workflow takes nothing. What the workflow holds must not change: a
new job that produces something an existing job reads would give that job a dependency after
the fact, and is refused."""

from __future__ import annotations

from typing import Any

from torc import states as S
from torc.errors import FailedPrecondition, InvalidArgument
from torc.server.state import events as E
from torc.server.state import export
from torc.server.state.job import Job, dict_columns, jobs_from_columns
from torc.server.state.workflow import Workflow
from torc.spec.sections import DEFAULT_RR
from torc.spec.validate import normalize

SECTIONS = ("jobs", "files", "user_data", "resource_requirements", "slurm_schedulers")
_DEFAULT_VALUES = {k: v for k, v in DEFAULT_RR.items() if k != "name"}


def refuse_unless_open(wf: Workflow) -> None:
    """FailedPrecondition unless jobs can be added now (not to a canceled workflow)."""
    if wf.canceled:
        raise FailedPrecondition(f"workflow {wf.id} is canceled: nothing is added to it "
                                 "(`torc workflows reset-status` first)")


def plan(wf: Workflow, addition: Any, ts: float, source: str = "<addition>"
         ) -> E.AddToWorkflow:
    """The event adding ``addition`` (a mapping of SECTIONS) to ``wf``; InvalidArgument or
    SpecError naming what is wrong, FailedPrecondition when the workflow is canceled."""
    refuse_unless_open(wf)
    if not isinstance(addition, dict):
        raise InvalidArgument(f"{source}: expected a mapping of {', '.join(SECTIONS)}")
    unknown = sorted(set(addition) - set(SECTIONS))
    if unknown:
        raise InvalidArgument(f"{source}: cannot add {', '.join(map(repr, unknown))} to a "
                              f"workflow (only {', '.join(SECTIONS)})")
    addition = _with_default_rr(wf, addition)
    base = export.spec_of(wf)
    merged = {**base, **{k: [*(base.get(k) or []), *(addition.get(k) or [])]
                         for k in SECTIONS}}
    if not merged["jobs"]:
        merged.pop("jobs")  # still empty: a workflow jobs are added to later
    merged = {k: v for k, v in merged.items() if v is not None}
    n = normalize(merged, source)
    old = {"jobs": len(wf.jobs), "files": len(wf.extra.get("files") or []),
           "user_data": len(wf.extra.get("user_data") or []),
           "resource_requirements": len(wf.rrs),
           "slurm_schedulers": len(wf.extra.get("slurm_schedulers") or [])}
    for i, job in enumerate(wf.jobs):
        deps = tuple(d + 1 for d in n["jobs"][i]["deps"])
        if deps != job.deps:
            added = sorted({n["jobs"][d - 1]["name"] for d in set(deps) - set(job.deps)})
            raise InvalidArgument(
                f"{source}: job {job.name!r} (already in workflow {wf.id}) would come to "
                f"depend on {', '.join(map(repr, added))}: add what a job needs before it")
    return E.AddToWorkflow(
        wf.id, ts, dict_columns(n["jobs"][old["jobs"]:]),
        files=(n.get("files") or [])[old["files"]:],
        user_data=(n.get("user_data") or [])[old["user_data"]:],
        resource_requirements=n["resource_requirements"][old["resource_requirements"]:],
        slurm_schedulers=(n.get("slurm_schedulers") or [])[old["slurm_schedulers"]:])


def _with_default_rr(wf: Workflow, addition: dict[str, Any]) -> dict[str, Any]:
    """Jobs that name no requirements get the default ones the workflow already made for
    such jobs (re-read as a named entry, a second default would be added each time)."""
    made = [r["name"] for r in wf.rrs if r["name"] in ("default", "__default__")
            and {k: v for k, v in r.items() if k != "name"} == _DEFAULT_VALUES]
    jobs = addition.get("jobs")
    if not made or not isinstance(jobs, list):
        return addition
    return {**addition, "jobs": [
        {**j, "resource_requirements": made[-1]}
        if isinstance(j, dict) and "resource_requirements" not in j else j for j in jobs]}


def extend(wf: Workflow, ev: E.AddToWorkflow) -> list[Job]:
    """Append the event's entries to ``wf``; returns the new jobs."""
    refuse_unless_open(wf)
    first = len(wf.jobs) + 1
    jobs = jobs_from_columns(ev.job_specs)
    for k, job in enumerate(jobs):
        job.id = first + k
    wf.jobs.extend(jobs)
    for job in jobs:
        for d in job.deps:
            up = wf.jobs[d - 1]
            up.dependents = (*up.dependents, job.id)
    wf.counts[S.UNINITIALIZED] += len(jobs)
    for key, added in (("files", ev.files), ("user_data", ev.user_data),
                       ("slurm_schedulers", ev.slurm_schedulers)):
        if added:
            wf.extra[key] = [*(wf.extra.get(key) or []), *added]
    wf.rrs.extend(ev.resource_requirements)
    wf.forget_indexes()
    if wf.initialized:  # they join the current run
        wf.init_uninitialized(jobs)
    return jobs
