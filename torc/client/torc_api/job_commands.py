"""``pytorc run-function`` and ``pytorc run-postprocess``: what the jobs made by
``map_function_to_jobs`` run (Torc's commands of those names). Inside a job, from the
environment the worker gives it (TORC_URL, TORC_WORKFLOW_ID, TORC_JOB_ID): read the job's
input user data, import the function, call it, store what it returns as the job's output
user data. A function that raises fails the job (return code 1) with its traceback on
stderr."""

from __future__ import annotations

import argparse
import json
import os
import sys
import traceback
from typing import Any

from torc.client.stub import TorcClient
from torc.client.torc_api.api import check_function
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb


def _job_data(c: TorcClient, wf: int, job_id: int) -> tuple[list[pb.UserData], list[int]]:
    """The job's input user data (in the order it names them) and its output ids."""
    (job,) = c.list_jobs(wf, job_ids=[job_id])
    inputs = [c.call("GetUserData", pb.UserDataRef(workflow_id=wf, user_data_id=i))
              for i in job.input_user_data]
    return inputs, list(job.output_user_data)


def _store(c: TorcClient, wf: int, outputs: list[int], result: Any) -> None:
    if result is None:
        return
    if len(outputs) != 1:
        raise TorcError(f"the job has {len(outputs)} output user data entries, not 1")
    c.call("UpdateUserData", pb.UpdateUserDataRequest(
        workflow_id=wf, user_data_id=outputs[0], data_json=json.dumps(result)))


def _call(tag: str, fn: Any, *args: Any) -> tuple[Any, bool]:
    try:
        return fn(*args), True
    except Exception:
        print(f"pytorc: {tag} raised:", file=sys.stderr)
        traceback.print_exc()
        return None, False


def run_function(c: TorcClient, wf: int, job_id: int) -> int:
    inputs, outputs = _job_data(c, wf, job_id)
    if len(inputs) != 1:
        raise TorcError(f"job {job_id} has {len(inputs)} input user data entries, not 1")
    data = json.loads(inputs[0].data_json)
    _, fn = check_function(data["module"], data["func"], data.get("module_directory"))
    result, ok = _call(f"{data['module']}.{data['func']}", fn, data["job_name"],
                       data["params"])
    if ok:
        _store(c, wf, outputs, result)
    return 0 if ok else 1


def run_postprocess(c: TorcClient, wf: int, job_id: int) -> int:
    inputs, outputs = _job_data(c, wf, job_id)
    spec = next((u for u in inputs if u.name == "input_postprocess"), None)
    if spec is None:
        raise TorcError(f"job {job_id} reads no 'input_postprocess' user data")
    data = json.loads(spec.data_json)
    _, fn = check_function(data["module"], data["func"], data.get("module_directory"))
    results = [json.loads(u.data_json) for u in inputs if u.name != "input_postprocess"]
    result, ok = _call(f"{data['module']}.{data['func']}", fn, results)
    if ok:
        _store(c, wf, outputs, result)
    return 0 if ok else 1


def main(argv: list[str] | None = None) -> None:
    """``pytorc run-function | run-postprocess``."""
    p = argparse.ArgumentParser(prog="pytorc", description="Run a mapped function in a torc job.")
    p.add_argument("command", choices=["run-function", "run-postprocess"])
    a = p.parse_args(argv)
    try:
        wf, job_id = int(os.environ["TORC_WORKFLOW_ID"]), int(os.environ["TORC_JOB_ID"])
    except (KeyError, ValueError):
        sys.exit("pytorc: run inside a torc job (TORC_WORKFLOW_ID and TORC_JOB_ID unset)")
    try:
        with TorcClient(os.environ.get("TORC_URL")) as c:
            run = run_function if a.command == "run-function" else run_postprocess
            sys.exit(run(c, wf, job_id))
    except TorcError as e:
        sys.exit(f"pytorc {a.command}: {e.message}")


if __name__ == "__main__":
    main()
