"""The spawn extension owns what its child uses before exec: the block (arguments, stack) is
never freed under a child that has not exec'd or exited, its stack has a guard page, the child
inherits no descriptor beyond stdio, and resource monitoring never counts the worker's own
memory as a job's (a child before exec shares it). A child is held before exec by giving it a
FIFO as stdin: opening it blocks until a writer comes."""

from __future__ import annotations

import gc
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import wait_for
from torc.worker import process
from torc.worker.monitor import Monitor

pytestmark = pytest.mark.skipif(process._spawn is None or not sys.platform.startswith("linux"),
                                reason="torc.worker._spawn is not built here")


HELD: list[int] = []


@pytest.fixture(autouse=True)
def _no_child_left() -> Iterator[None]:
    yield
    while HELD:  # a failed case must not leave a child blocked (it holds pytest's pipes)
        pid = HELD.pop()
        try:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass


def _held_child(tmp_path: Path, script: str) -> tuple[object, Path]:
    """A child of _spawn blocked before exec (opening its stdin, a FIFO)."""
    fifo = tmp_path / "stdin.fifo"
    os.mkfifo(fifo)
    child = process._spawn.spawn("/bin/sh", ["sh", "-c", script], {"PATH": "/usr/bin:/bin"},
                                 str(fifo), str(tmp_path / "out"), None, None, 0o600)
    HELD.append(child.pid)  # type: ignore[attr-defined]
    return child, fifo


def _release(fifo: Path) -> None:
    """Open the FIFO's other end, so the child's open() returns (once it is waiting there)."""
    def opened() -> int | None:
        try:
            return os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError:  # ENXIO: the child is not at its open() yet
            return None
    os.close(wait_for(opened))


def _reap(pid: int) -> int:
    _, status = os.waitpid(pid, 0)
    HELD.remove(pid)
    return os.waitstatus_to_exitcode(status)


def _mappings() -> dict[int, tuple[int, str]]:
    """This process's mappings: start -> (end, permissions)."""
    out = {}
    for line in Path("/proc/self/maps").read_text().splitlines():
        span, perms = line.split()[:2]
        start, end = (int(x, 16) for x in span.split("-"))
        out[start] = (end, perms)
    return out


def test_dropping_a_child_before_exec_leaves_its_block_alone(tmp_path: Path) -> None:
    child, fifo = _held_child(tmp_path, "echo arguments-intact")
    pid = child.pid  # type: ignore[attr-defined]
    del child
    gc.collect()
    # Whatever the worker allocates next must not land on what the child still reads.
    junk = [bytearray(b"\xff" * n) for n in range(16_000, 40_000, 512) for _ in range(4)]
    _release(fifo)
    code = _reap(pid)
    del junk
    assert code == 0
    assert (tmp_path / "out").read_text() == "arguments-intact\n"


def test_the_child_s_stack_has_a_guard_page(tmp_path: Path) -> None:
    child, fifo = _held_child(tmp_path, "true")
    guard = child.guard  # type: ignore[attr-defined]
    page = os.sysconf("SC_PAGE_SIZE")
    maps = _mappings()
    # The page at the bottom of the child's stack is inaccessible; the stack above it is not.
    at = next(start for start, (end, _) in maps.items() if start <= guard < end)
    end, perms = maps[at]
    assert perms == "---p" and end == guard + page, (hex(guard), hex(at), hex(end), perms)
    assert maps[end][1] == "rw-p"
    _release(fifo)
    assert _reap(child.pid) == 0  # type: ignore[attr-defined]


def test_a_job_inherits_no_descriptor_beyond_stdio(tmp_path: Path) -> None:
    r, w = os.pipe()
    os.set_inheritable(r, True)
    os.set_inheritable(w, True)
    try:
        child, fifo = _held_child(tmp_path, "ls /proc/$$/fd")
        _release(fifo)
        assert _reap(child.pid) == 0  # type: ignore[attr-defined]
        fds = set((tmp_path / "out").read_text().split())
        assert fds == {"0", "1", "2"}, fds
    finally:
        os.close(r)
        os.close(w)


def test_monitoring_never_counts_the_worker_s_memory_as_a_job_s(tmp_path: Path) -> None:
    ballast = bytearray(os.urandom(1)) * (200 << 20)  # the worker holds 200 MiB
    child, fifo = _held_child(tmp_path, "exec sleep 0.2")
    pid = child.pid  # type: ignore[attr-defined]
    monitor = Monitor()
    monitor.add(1, pid)
    try:
        seen = monitor.sample().get(1, 0)
        assert seen < 100 << 20, (f"a job not yet exec'd was sampled at {seen >> 20} MiB: "
                                  "the worker's memory")
    finally:
        _release(fifo)
        _reap(pid)
        del ballast


def test_the_extension_compiles_without_a_warning(tmp_path: Path) -> None:
    import shutil
    import subprocess
    import sysconfig

    gcc = shutil.which("gcc")
    if gcc is None:
        pytest.skip("no gcc here")
    source = Path(process.__file__).with_name("_spawn.c")
    r = subprocess.run([gcc, "-fsyntax-only", "-O2", "-Wall", "-Wextra", "-Werror",
                        f"-I{sysconfig.get_paths()['include']}", str(source)],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
