"""What a workflow's files and user data say before a run: which inputs must already exist
(initialize), and which completed jobs must run again because what they read changed
(reinitialize). Pure functions of a workflow and the file times a client saw.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from torc import states as S

if TYPE_CHECKING:
    from torc.server.state.workflow import Workflow


def _referenced(wf: Workflow, key: str) -> set[int]:
    """Indices of the files or user data that some job lists under ``key``."""
    return {k for j in wf.jobs for k in j.io.get(key, ())}


def required_files(wf: Workflow) -> set[int]:
    """Files some job reads and no job writes (Torc's ``required_existing_files``)."""
    return _referenced(wf, "input_files") - _referenced(wf, "output_files")


def missing_inputs(wf: Workflow, mtimes: dict[int, float] | None) -> list[str]:
    """Why the workflow cannot start: required input files the caller does not see (when it
    checked files, ``mtimes`` not None) and input user data no job writes that has no value."""
    problems = []
    files = wf.extra.get("files") or []
    if mtimes is not None:
        for k in sorted(required_files(wf)):
            if k not in mtimes:
                problems.append(f"input file {files[k]['name']!r} ({files[k]['path']}) does "
                                "not exist and no job writes it")
    entries = wf.extra.get("user_data") or []
    for k in sorted(_referenced(wf, "input_user_data") - _referenced(wf, "output_user_data")):
        if entries[k].get("data") is None:
            problems.append(f"input user data {entries[k]['name']!r} (id {k + 1}) has no value "
                            "and no job writes it")
    return problems


def changed_jobs(wf: Workflow, mtimes: dict[int, float] | None) -> list[tuple[int, str]]:
    """Finished jobs to run again, each with the reason (as Torc's reinitialize): its
    command or input user data changed, an input file changed since it was recorded, or (for
    a completed job) an output file is gone. A failed job is run again when its inputs
    changed (the user fixed what made it fail, as Torc's own test of reinitialize does); a
    failed job whose inputs did not change stays failed. Files are only looked at when the
    caller checked them."""
    files = wf.extra.get("files") or []
    user_data = wf.extra.get("user_data") or []
    out: list[tuple[int, str]] = []
    for j in wf.jobs:
        if j.status not in (S.COMPLETED, S.FAILED):
            continue
        reason = ""
        if j.digest and j.inputs_digest(user_data) != j.digest:
            reason = "its command or input user data changed"
        elif mtimes is not None:
            for k in j.io.get("input_files", ()):
                old = wf.file_mtimes.get(k)
                if old is not None and mtimes.get(k, old) != old:
                    reason = f"input file {files[k]['name']!r} changed"
                    break
            else:
                for k in (j.io.get("output_files", ()) if j.status == S.COMPLETED else ()):
                    if k not in mtimes:
                        reason = f"output file {files[k]['name']!r} is missing"
                        break
        if reason:
            out.append((j.id, reason))
    return out
