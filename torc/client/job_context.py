"""Inside a job: who it is (workflow, job, run, attempt) and its user data, from the
environment the worker gives every job (TORC_URL, TORC_WORKFLOW_ID, TORC_JOB_ID...)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.proto import torc_pb2 as pb


@dataclass(frozen=True)
class JobContext:
    """The running job; ``input_data`` and ``write_output`` reach the coordinator."""

    url: str
    workflow_id: int
    job_id: int
    job_name: str
    run_id: int
    attempt_id: int
    output_dir: str

    def _client(self) -> TorcClient:
        return TorcClient(self.url)

    def _job(self, c: TorcClient) -> pb.Job:
        (job,) = c.list_jobs(self.workflow_id, job_ids=[self.job_id])
        return job

    def input_data(self) -> dict[str, Any]:
        """The job's input user data, by name."""
        with self._client() as c:
            out = {}
            for i in self._job(c).input_user_data:
                u = c.call("GetUserData", pb.UserDataRef(workflow_id=self.workflow_id,
                                                         user_data_id=i))
                out[u.name] = json.loads(u.data_json)
            return out

    def write_output(self, data: Any, name: str | None = None) -> None:
        """Store ``data`` (JSON) as the job's output user data (``name``: which, when the
        job has several)."""
        with self._client() as c:
            outputs = list(self._job(c).output_user_data)
            # Only this job's entries are read (a workflow may hold a million).
            names = {i: c.call("GetUserData", pb.UserDataRef(
                workflow_id=self.workflow_id, user_data_id=i)).name for i in outputs} \
                if name is not None or len(outputs) != 1 else {}
            chosen = [i for i in outputs if name is None or names.get(i) == name]
            if len(chosen) != 1:
                raise TorcError(f"job {self.job_name!r} writes {[names.get(i) for i in outputs]}"
                                + ("" if name is None else f", no single one named {name!r}"))
            c.call("UpdateUserData", pb.UpdateUserDataRequest(
                workflow_id=self.workflow_id, user_data_id=chosen[0],
                data_json=json.dumps(data)))


def context() -> JobContext:
    """The job this process runs as; TorcError outside a torc job."""
    env = os.environ
    try:
        return JobContext(env["TORC_URL"], int(env["TORC_WORKFLOW_ID"]), int(env["TORC_JOB_ID"]),
                          env.get("TORC_JOB_NAME", ""), int(env.get("TORC_RUN_ID", "0")),
                          int(env.get("TORC_ATTEMPT_ID", "0")), env.get("TORC_OUTPUT_DIR", ""))
    except (KeyError, ValueError):
        raise TorcError("not inside a torc job: TORC_URL, TORC_WORKFLOW_ID and TORC_JOB_ID "
                        "are set by the worker that runs it") from None
