"""``torc logs bundle`` and ``torc logs analyze`` (Torc's): a workflow's logs and state in one
archive, and the known errors in them, tied to the job that printed them. In a Slurm
allocation the worker also keeps the node's SLURM environment and, after a failure, its
kernel messages, named as Torc names them."""

from __future__ import annotations

import json
import tarfile
from pathlib import Path

from tests.conftest import Coordinator, cli_json, run_cli, wait_for
from tests.test_slurm import schedule, scheduler, submit
from torc.client.log_analysis import classify, workflow_of

# What real tools print, one line each, and lines that only look alike.
STDERR_LINES = {
    "slurmstepd: error: Detected 1 oom-kill event(s) in StepId=12.0": "Out of Memory (OOM) Kill",
    "torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 2.00 GiB":
        "CUDA Out of Memory",
    "slurmstepd: error: *** JOB 12 ON node1 CANCELLED AT 2026-01-01 DUE TO TIME LIMIT ***":
        "Time Limit",
    "Segmentation fault (core dumped)": "Segmentation Fault",
    "OSError: [Errno 28] No space left on device": "Disk Full",
    "ModuleNotFoundError: No module named 'numpyy'": "Python Import Error",
    "terminate called after throwing an instance of 'std::bad_alloc'": "C++ Allocation Failure",
}
HARMLESS = ["the room is warm", "running timeout_test with 4 ranks", "all good"]


def test_each_known_error_is_named_and_lookalikes_are_not() -> None:
    for line, kind in STDERR_LINES.items():
        assert classify(line) is not None and classify(line)[0] == kind, line
    for line in HARMLESS:
        assert classify(line) is None, line
    # A file of workflow 1 is not one of workflow 12.
    assert workflow_of("job_stdio/job_wf1_j2_r1_a1.e") == 1
    assert workflow_of("job_stdio/job_wf12_j2_r1_a1.e") == 12
    assert workflow_of("slurm_output_wf3_sl7.o") == 3 and workflow_of("notes.log") is None


def _failing_run(coordinator: Coordinator, tmp_path: Path) -> tuple[int, Path]:
    lines = "\n".join(list(STDERR_LINES) + HARMLESS)
    (tmp_path / "lines.txt").write_text(lines + "\n")
    wf_id = coordinator.client.create_workflow({
        "name": "logs", "jobs": [
            {"name": "ok", "command": "echo fine"},
            {"name": "noisy", "command": f"cat {tmp_path / 'lines.txt'} >&2; exit 3"}]})
    out = tmp_path / "out"
    assert run_cli("run", str(wf_id), "--output-dir", str(out),
                   url=coordinator.url).returncode == 1
    return wf_id, out


def test_bundle_holds_the_logs_and_the_state_and_analyze_reads_it(
        coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    wf_id, out = _failing_run(coordinator, tmp_path)
    # A second workflow's logs in the same directory stay out of the first one's bundle.
    other = coordinator.client.create_workflow({"name": "other",
                                                "jobs": [{"name": "x", "command": "true"}]})
    run_cli("run", str(other), "--output-dir", str(out), url=url, check=True)
    made = cli_json("logs", "bundle", str(wf_id), "--output-dir", str(out), "--bundle-dir",
                    str(tmp_path / "bundles"), url=url)
    path = Path(made["bundle"])
    assert path == tmp_path / "bundles" / f"wf{wf_id}.tar.gz"
    with tarfile.open(path) as tar:
        names = set(tar.getnames())
        info = json.load(tar.extractfile(f"wf{wf_id}/bundle_info.json"))  # type: ignore[arg-type]
        export = json.load(tar.extractfile(f"wf{wf_id}/workflow_export.json"))  # type: ignore[arg-type]
    assert f"wf{wf_id}/job_stdio/job_wf{wf_id}_j2_r1_a1.e" in names
    assert any(n.startswith(f"wf{wf_id}/job_runner_") for n in names), names
    assert not any(f"_wf{other}_" in n for n in names), names
    assert info["workflow_id"] == wf_id and info["files"] == made["files"]
    assert export["workflow_id"] == wf_id and export["spec"]["name"] == "logs"
    # analyze reads the bundle as it reads the directory, and ties lines to their job.
    for target in (str(path), str(out)):
        args = ["logs", "analyze", target] + (["-w", str(wf_id)] if target == str(out) else [])
        report = cli_json(*args, url="")
        assert report["workflow_id"] == wf_id
        found = {e["type"] for e in report["errors"] if e["job_id"] == 2}
        assert set(STDERR_LINES.values()) <= found, found
        assert not any(h in e["text"] for e in report["errors"] for h in HARMLESS)
    text = run_cli("logs", "analyze", str(path)).stdout
    assert "(job 2, attempt 1)" in text and "CUDA Out of Memory" in text


def test_analyze_says_what_it_needs(coordinator: Coordinator, tmp_path: Path) -> None:
    url = coordinator.url
    wf_id, out = _failing_run(coordinator, tmp_path)
    other = coordinator.client.create_workflow({"name": "other",
                                                "jobs": [{"name": "x", "command": "true"}]})
    run_cli("run", str(other), "--output-dir", str(out), url=url, check=True)
    r = run_cli("logs", "analyze", str(out))
    assert r.returncode == 1 and "--workflow-id" in r.stderr, r.stderr
    r = run_cli("logs", "analyze", str(out), "-w", "999")
    assert r.returncode == 1 and "no logs of workflow 999" in r.stderr
    r = run_cli("logs", "analyze", str(tmp_path / "missing"))
    assert r.returncode == 1 and "no such file" in r.stderr
    (tmp_path / "junk.tar.gz").write_bytes(b"not an archive")
    r = run_cli("logs", "analyze", str(tmp_path / "junk.tar.gz"))
    assert r.returncode == 1 and "not a directory or a log bundle" in r.stderr


def test_an_allocation_keeps_its_environment_and_after_a_failure_its_kernel_log(
        coord: Coordinator, tmp_path: Path) -> None:
    spec = {"name": "node_logs", "slurm_schedulers": [scheduler()], "actions": [schedule()],
            "jobs": [{"name": "bad", "command": "exit 5"}]}
    wf_id, out = submit(coord, tmp_path, spec)
    wait_for(lambda: coord.client.get_workflow(wf_id).complete, timeout=120)
    (alloc,) = coord.client.list_allocations(wf_id)
    sid = alloc.slurm_job_id
    env = wait_for(lambda: list(out.glob(f"slurm_env_wf{wf_id}_sl{sid}_n0_pid*.log")))
    assert f"SLURM_JOB_ID={sid}\n" in env[0].read_text()
    wait_for(lambda: list(out.glob(f"dmesg_slurm_wf{wf_id}_sl{sid}_n0_pid*.log")),
             timeout=60)
    made = cli_json("logs", "bundle", str(wf_id), "--output-dir", str(out), "--bundle-dir",
                    str(tmp_path), url=coord.url)
    with tarfile.open(made["bundle"]) as tar:
        names = tar.getnames()
    for prefix in ("slurm_env_", "dmesg_slurm_", "slurm_output_", "job_runner_slurm_"):
        assert any(n.startswith(f"wf{wf_id}/{prefix}") for n in names), (prefix, names)
    # The environment is configuration, not a log: analyze leaves it out.
    report = cli_json("logs", "analyze", made["bundle"], url="")
    assert not any("slurm_env_" in e["file"] for e in report["errors"])
