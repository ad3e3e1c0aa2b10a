"""Job states and the one table of the transitions between them.

The numbers match ``torc.v1.JobStatus``; the names are Torc's. Every status change in the
coordinator goes through :func:`check_transition` (``Workflow._set``), imports and snapshots
included; ``docs/reference/job-states.md`` is generated from :data:`TRANSITIONS`.
"""

from __future__ import annotations

from enum import IntEnum


class JobStatus(IntEnum):
    """A job's state, as ``torc.v1.JobStatus`` numbers it."""

    UNINITIALIZED = 1
    BLOCKED = 2
    READY = 3
    PENDING = 4
    RUNNING = 5
    COMPLETED = 6
    FAILED = 7
    CANCELED = 8
    TERMINATED = 9
    DISABLED = 10
    # Failed with no failure-handler rule for its code (use_pending_failed): its dependents
    # wait for `torc recover` or a reset. Not done: the workflow is not complete while one is
    # held.
    PENDING_FAILED = 11


UNINITIALIZED = JobStatus.UNINITIALIZED
BLOCKED = JobStatus.BLOCKED
READY = JobStatus.READY
PENDING = JobStatus.PENDING
RUNNING = JobStatus.RUNNING
COMPLETED = JobStatus.COMPLETED
FAILED = JobStatus.FAILED
CANCELED = JobStatus.CANCELED
TERMINATED = JobStatus.TERMINATED
DISABLED = JobStatus.DISABLED
PENDING_FAILED = JobStatus.PENDING_FAILED

NAMES: dict[int, str] = {s: s.name.lower() for s in JobStatus}
BY_NAME: dict[str, int] = {v: k for k, v in NAMES.items()}

TERMINAL = frozenset({COMPLETED, FAILED, CANCELED, TERMINATED})
# Done: nothing more will happen to the job in this run; dependents may proceed.
DONE = TERMINAL | {DISABLED}
# An upstream in one of these blocks dependents that have cancel_on_blocking_job_failure.
UNSUCCESSFUL = frozenset({FAILED, CANCELED, TERMINATED})
# Held by a worker.
ACTIVE = frozenset({PENDING, RUNNING})

# Every allowed change, with what makes it. A job held by a worker (pending, running) is never
# reset or reinitialized: those wait until it is idle.
TRANSITIONS: dict[JobStatus, dict[JobStatus, str]] = {
    UNINITIALIZED: {BLOCKED: "initialize", CANCELED: "cancel the workflow or the job",
                    DISABLED: "imported disabled (Torc's exports)"},
    BLOCKED: {READY: "its last dependency is done (or none)",
              CANCELED: "a dependency failed (cancel_on_blocking_job_failure); "
                        "cancel the workflow or the job",
              UNINITIALIZED: "reset, reinitialize"},
    READY: {PENDING: "a worker claims it", RUNNING: "a worker starts it as a hand-off",
            CANCELED: "cancel the workflow or the job",
            UNINITIALIZED: "reset, reinitialize"},
    PENDING: {RUNNING: "its worker starts it", READY: "its worker gives it back; retried; "
              "its worker was lost", COMPLETED: "it ends (its start unreported)",
              FAILED: "it ends (its start unreported)",
              CANCELED: "cancel the workflow or the job", TERMINATED: "its worker stops",
              PENDING_FAILED: "it fails with no failure-handler rule (use_pending_failed)"},
    RUNNING: {COMPLETED: "it exits 0", FAILED: "it exits non-zero, is lost, over its limits",
              CANCELED: "cancel the workflow or the job",
              TERMINATED: "its worker stops (allocation end, signal); terminate the job",
              READY: "retried by its failure handler; its worker was lost",
              PENDING_FAILED: "it fails with no failure-handler rule (use_pending_failed)"},
    COMPLETED: {UNINITIALIZED: "reset; its inputs changed (reinitialize)"},
    FAILED: {UNINITIALIZED: "reset (--failed-only too), recover"},
    CANCELED: {UNINITIALIZED: "reset, reinitialize, recover"},
    TERMINATED: {UNINITIALIZED: "reset, reinitialize, recover"},
    DISABLED: {UNINITIALIZED: "reset"},
    PENDING_FAILED: {UNINITIALIZED: "recover, reset",
                     FAILED: "judged a permanent failure (an assistant; torc mcp)"},
}
# The table as bit masks by old state: checking a change costs an index and a shift.
_ALLOWED = [0] * (max(JobStatus) + 1)
for _old, _news in TRANSITIONS.items():
    for _new in _news:
        _ALLOWED[_old] |= 1 << _new

# Return code Torc reports for a job whose worker (or node) was lost.
LOST_RETURN_CODE = -128


class IllegalTransition(AssertionError):
    """A status change the table does not allow: a defect, never a user's input."""


def allowed(old: int, new: int) -> bool:
    """Whether the table allows ``old`` -> ``new``."""
    return 0 < old < len(_ALLOWED) and bool(_ALLOWED[old] >> new & 1)


def _reachable() -> frozenset[int]:
    seen, todo = {UNINITIALIZED}, [UNINITIALIZED]
    while todo:
        for nxt in TRANSITIONS[todo.pop()]:
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return frozenset(seen)


# The states a job can be in at all: an imported or restored status must be one.
REACHABLE = _reachable()


def check_restored(status: int, what: str) -> None:
    """Raise :class:`IllegalTransition` unless a job can be in ``status`` (one the table
    reaches from uninitialized): the check for states read from an export or a snapshot."""
    if status not in REACHABLE:
        raise IllegalTransition(f"{what}: {NAMES.get(status, status)} is not a state a job "
                                "can reach")


def name(status: int) -> str:
    """Lowercase state name, as users see it."""
    return NAMES[status]


def parse(text: str) -> int:
    """State number from a name (case-insensitive); ValueError lists the valid names."""
    try:
        return BY_NAME[text.strip().lower()]
    except KeyError:
        raise ValueError(
            f"unknown job status {text!r}; expected one of {', '.join(NAMES.values())}"
        ) from None
