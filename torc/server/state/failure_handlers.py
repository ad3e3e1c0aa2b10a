"""What a failed attempt leads to, as Torc's failure handlers decide. Pure: the coordinator
decides (one event in the WAL), so a crash between a failure and its retry can neither lose nor
double an attempt; the worker only runs the recovery script the same rule names."""

from __future__ import annotations

from typing import Any

from torc.spec.settings import matching_rule


def decide(handler: dict[str, Any] | None, use_pending_failed: bool, attempt_id: int,
           return_code: int, recovery_rc: int | None) -> tuple[str, str]:
    """("retried" | "pending_failed" | "", why) for attempt ``attempt_id`` that failed with
    ``return_code``. A matching rule with attempts left retries (``max_retries: 3`` allows
    attempts 1 to 3) once its recovery script, if it has one, succeeded; no rule holds the
    job in pending_failed when the workflow asks for it; anything else fails the job."""
    rule = matching_rule(handler, return_code)
    if rule is None:
        if use_pending_failed:
            return "pending_failed", "no failure handler rule matches; pending_failed"
        return "", ""
    if attempt_id >= rule["max_retries"]:
        return "", f"max_retries ({rule['max_retries']}) reached"
    if rule["recovery_script"]:
        if recovery_rc is None:
            return "", "the recovery script did not run"
        if recovery_rc != 0:
            return "", f"the recovery script failed with return code {recovery_rc}"
    return "retried", f"retrying as attempt {attempt_id + 1} of {rule['max_retries']}"
