"""``pytorc run-function`` and ``pytorc run-postprocess``: what the jobs made by
``map_function_to_jobs`` run (Torc's commands of those names). Inside a job, from the
environment the worker gives it (TORC_URL, TORC_WORKFLOW_ID, TORC_JOB_ID): read the job's
input user data, import the function, call it, store what it returns as the job's output
user data. A function that raises fails the job (return code 1) with its traceback on
stderr."""

from __future__ import annotations

import argparse
import sys
import traceback
from typing import Any

from torc.client.job_context import JobContext, context
from torc.client.torc_api.api import check_function
from torc.errors import TorcError


def _call(tag: str, fn: Any, *args: Any) -> tuple[Any, bool]:
    try:
        return fn(*args), True
    except Exception:
        print(f"pytorc: {tag} raised:", file=sys.stderr)
        traceback.print_exc()
        return None, False


def run_function(ctx: JobContext) -> int:
    inputs = ctx.input_data()
    if len(inputs) != 1:
        raise TorcError(f"job {ctx.job_id} has {len(inputs)} input user data entries, not 1")
    (data,) = inputs.values()
    _, fn = check_function(data["module"], data["func"], data.get("module_directory"))
    result, ok = _call(f"{data['module']}.{data['func']}", fn, data["job_name"],
                       data["params"])
    if ok and result is not None:
        ctx.write_output(result)
    return 0 if ok else 1


def run_postprocess(ctx: JobContext) -> int:
    inputs = ctx.input_data()  # by name, in the order the job names them
    data = inputs.pop("input_postprocess", None)
    if data is None:
        raise TorcError(f"job {ctx.job_id} reads no 'input_postprocess' user data")
    _, fn = check_function(data["module"], data["func"], data.get("module_directory"))
    result, ok = _call(f"{data['module']}.{data['func']}", fn, list(inputs.values()))
    if ok and result is not None:
        ctx.write_output(result)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> None:
    """``pytorc run-function | run-postprocess``."""
    p = argparse.ArgumentParser(prog="pytorc", description="Run a mapped function in a torc job.")
    p.add_argument("command", choices=["run-function", "run-postprocess"])
    a = p.parse_args(argv)
    run = run_function if a.command == "run-function" else run_postprocess
    try:
        sys.exit(run(context()))
    except TorcError as e:
        sys.exit(f"pytorc {a.command}: {e.message}")


if __name__ == "__main__":
    main()
