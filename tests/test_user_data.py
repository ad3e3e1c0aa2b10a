"""User data as in Torc: ``${user_data.input/output.NAME}`` is the entry's id, jobs write and
read values with ``torc user-data update/get``, and writes survive a restart."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import Coordinator, cli_json, cli_rows, run_cli, write_spec

SPEC = {
    "name": "ud",
    "user_data": [{"name": "cfg"}, {"name": "preset", "data": {"k": 1}}],
    "files": [{"name": "f", "path": "f.txt"}],
    "jobs": [
        {"name": "write", "command":
            "torc user-data update ${user_data.output.cfg} --data '{\"x\": 42}'"},
        {"name": "read", "command":
            "torc -f json user-data get ${user_data.input.cfg} > got.json"},
    ],
}


def test_a_job_writes_user_data_that_its_dependent_reads(tmp_path: Path) -> None:
    out = tmp_path / "out"
    r = run_cli("-f", "json", "run", str(write_spec(tmp_path, SPEC)), "--output-dir", str(out),
                timeout=300)
    assert r.returncode == 0, r.stderr + (out / "job_stdio").joinpath(
        "job_wf1_j1_r1_a1.e").read_text()
    # The dependency was implied: read waited for write, and saw its value.
    got = json.loads((tmp_path / "got.json").read_text())  # one object, as Torc prints it
    assert got == {"id": 1, "name": "cfg", "data": {"x": 42}, "is_ephemeral": False,
                   "workflow_id": 1}


def test_user_data_and_files_listed_updated_and_kept_across_restarts(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = cli_json("workflows", "create", str(write_spec(tmp_path, SPEC)), url=url)["id"]
    jobs = {j["name"]: j for j in cli_json("jobs", "list", str(wf_id), url=url)["jobs"]}
    assert "update 1 " in jobs["write"]["command"] and jobs["read"]["depends_on"] == [1]
    listed = cli_json("user-data", "list", str(wf_id), url=url)["user_data"]
    assert [(u["id"], u["name"], u["data"]) for u in listed] == [(1, "cfg", None),
                                                                (2, "preset", {"k": 1})]
    cli_json("user-data", "update", "2", "--workflow-id", str(wf_id), "--data", '[1, "a"]',
             url=url)
    assert cli_rows("files", "list", str(wf_id), url=url) == [
        {"id": 1, "workflow_id": wf_id, "name": "f", "path": "f.txt", "required": False,
         "mtime": None, "st_mtime": None}]
    for kill in (True, False):
        coordinator.restart(kill=kill)
        u = cli_json("user-data", "get", "2", "--workflow-id", str(wf_id), url=url)
        assert u["data"] == [1, "a"]
    r = run_cli("user-data", "update", "9", "--workflow-id", str(wf_id), "--data", "1", url=url)
    assert r.returncode == 1 and "user data 9 does not exist" in r.stderr
    r = run_cli("user-data", "update", "1", "--workflow-id", str(wf_id), "--data", "{", url=url)
    assert r.returncode == 1 and "not valid JSON" in r.stderr
    # Ids are global, as Torc's: the entry alone says which workflow.
    assert cli_json("user-data", "get", "2", url=url)["workflow_id"] == wf_id
    r = run_cli("user-data", "get", "9", url=url)
    assert r.returncode == 1 and "user data 9 does not exist" in r.stderr


def test_user_data_that_no_client_could_read_back_is_refused(coordinator: Coordinator,
                                                            tmp_path: Path) -> None:
    url = coordinator.url
    wf_id = cli_json("workflows", "create", str(write_spec(tmp_path, SPEC)), url=url)["id"]
    # A lone surrogate is valid JSON text but not UTF-8: stored, it would break every read.
    for data, says in (('"bad\\udcff"', "not valid UTF-8"), ('"a\\u0000b"', "NUL"),
                       ("[" * 70 + "]" * 70, "nested more than 64")):
        r = run_cli("user-data", "update", "1", "--workflow-id", str(wf_id), "--data", data,
                    url=url)
        assert r.returncode == 1 and says in r.stderr, r.stderr
    u = cli_json("user-data", "get", "1", "--workflow-id", str(wf_id), url=url)
    assert u["data"] is None
