"""Job states: the numbers match ``torc.v1.JobStatus``; the names are Torc's."""

from __future__ import annotations

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
# Failed with no failure-handler rule for its code (use_pending_failed): its dependents wait
# for `torc recover` or a reset. Not done: the workflow is not complete while one is held.
PENDING_FAILED = 11

NAMES: dict[int, str] = {
    UNINITIALIZED: "uninitialized",
    BLOCKED: "blocked",
    READY: "ready",
    PENDING: "pending",
    RUNNING: "running",
    COMPLETED: "completed",
    FAILED: "failed",
    CANCELED: "canceled",
    TERMINATED: "terminated",
    DISABLED: "disabled",
    PENDING_FAILED: "pending_failed",
}
BY_NAME: dict[str, int] = {v: k for k, v in NAMES.items()}

TERMINAL = frozenset({COMPLETED, FAILED, CANCELED, TERMINATED})
# Done: nothing more will happen to the job in this run; dependents may proceed.
DONE = TERMINAL | {DISABLED}
# An upstream in one of these blocks dependents that have cancel_on_blocking_job_failure.
UNSUCCESSFUL = frozenset({FAILED, CANCELED, TERMINATED})
# Held by a worker.
ACTIVE = frozenset({PENDING, RUNNING})

# Return code Torc reports for a job whose worker (or node) was lost.
LOST_RETURN_CODE = -128


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
