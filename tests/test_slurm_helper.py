"""Slurm's commands run through a helper process: torc's own processes (which run gRPC's
threads) never fork, and what a command says, fails with or times out on comes back as
before. Real commands, no Slurm needed: the helper runs whatever it is asked to."""

from __future__ import annotations

import subprocess
import sys
import threading

import psutil
import pytest

from torc.config import JOB_MARKER
from torc.slurm import commands
from torc.slurm.commands import SlurmError
from torc.slurm.helper import POOL


def test_the_caller_s_interpreter_was_never_forked() -> None:
    """Run in a fresh interpreter with gRPC's threads running, as a coordinator has them."""
    code = """
import os, grpc
from concurrent import futures
server = grpc.server(futures.ThreadPoolExecutor(2))
server.add_insecure_port("127.0.0.1:0")
server.start()
r, w = os.pipe()
os.register_at_fork(after_in_child=lambda: os.write(w, b"x"))
from torc.slurm import commands
assert commands._run("echo", "ok") == "ok\\n"
assert commands._run("true") == ""
os.set_blocking(r, False)
try:
    print("forked", len(os.read(r, 100)))
except BlockingIOError:
    print("forked 0")
server.stop(0)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "forked 0", "a torc process forked itself to run a command"


def test_failures_and_missing_commands_say_what_happened() -> None:
    with pytest.raises(SlurmError, match=r"sh failed \(exit 3\): nope"):
        commands._run("sh", "-c", "echo nope >&2; exit 3")
    with pytest.raises(SlurmError, match="no-such-slurm-command: not found"):
        commands._run("no-such-slurm-command")


def test_a_hung_command_times_out() -> None:
    with pytest.raises(SlurmError, match="sleep timed out after 0.3s"):
        commands._run("sleep", "60", timeout=0.3)


def test_the_job_marker_never_reaches_a_slurm_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(JOB_MARKER, "worker-123")
    monkeypatch.setenv("TORC_TEST_VISIBLE", "yes")
    env = commands._run("env")
    assert "TORC_TEST_VISIBLE=yes" in env, "the caller's environment is the command's"
    assert JOB_MARKER not in env


def test_concurrent_commands_each_get_a_helper_and_helpers_are_reused() -> None:
    results: dict[int, str] = {}

    def run(i: int) -> None:
        results[i] = commands._run("sh", "-c", f"sleep 0.2; echo {i}")

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == {i: f"{i}\n" for i in range(4)}
    before = sorted(POOL.pids())
    assert len(before) >= 2, "concurrent commands did not wait for one another's helper"
    for _ in range(3):
        commands._run("true")
    assert sorted(POOL.pids()) == before, "idle helpers are reused, not started anew"


def test_helpers_end_with_the_process_that_started_them() -> None:
    code = ("from torc.slurm import commands\nfrom torc.slurm.helper import POOL\n"
            "commands._run('true')\nprint(POOL.pids()[0])\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    pid = int(out.stdout)
    try:
        helper = psutil.Process(pid)
    except psutil.NoSuchProcess:
        return  # already gone
    helper.wait(timeout=60)  # its stdin closed with its parent: it exits by itself
