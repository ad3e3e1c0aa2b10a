"""How a job's process is started: torc.worker._spawn (the worker's own clone, which does not
wait for the child to exec) must give a job exactly what os.posix_spawn gave it, say why a
job could not start, and never let a job escape a kill sent the moment it was spawned."""

from __future__ import annotations

import asyncio
import errno
import os
import shutil
import signal
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from torc.worker import process
from torc.worker.process import SAME_AS_STDOUT, JobProcess


def test_the_fast_spawn_is_built_on_linux() -> None:
    # setup.py builds it as optional: a build that failed would leave every job on
    # os.posix_spawn, slower, and untested by the cases below.
    if not sys.platform.startswith("linux"):
        pytest.skip("torc.worker._spawn is Linux only")
    if process._spawn is None and not (shutil.which("cc") or shutil.which("gcc")):
        pytest.skip("no C compiler here, so pip did not build torc.worker._spawn (install gcc "
                    "and libc6-dev, then pip install -e . again)")
    assert process._spawn is not None


@pytest.fixture(params=["_spawn", "posix_spawn"])
def spawner(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Each case runs with the worker's own spawn, then with os.posix_spawn (and Popen)."""
    if request.param == "posix_spawn":
        monkeypatch.setattr(process, "_spawn", None)
    elif process._spawn is None:
        pytest.skip("torc.worker._spawn is not built here")
    yield request.param


def run(proc: JobProcess) -> tuple[int, OSError | None]:
    """Start and wait as the worker does: a spawn that raises is a job that could not start
    (127); otherwise the process's return code and its start_error."""
    try:
        proc.spawn()
    except OSError as e:
        return 127, e
    return asyncio.run(proc.wait()), proc.start_error


# What a job sees of how it was started: session, stdin, directory, environment, arguments,
# file modes and its signal state (blocked, ignored, caught), read from /proc.
PROBE = r"""
[ "$(ps -o sid= -p $$ | tr -d ' ')" = "$$" ] && echo "leads its session"
echo "stdin: $(readlink /proc/$$/fd/0)"
echo "cwd: $(pwd)"
echo "X=$X"
printf 'arg:%s\n' "$@"
grep -E '^Sig(Blk|Ign)' /proc/$$/status
echo "to stderr" >&2
"""


def _glibc_internals_cleared(probe: str) -> str:
    """glibc's posix_spawn leaves glibc's two internal signals (32, 33) ignored in the job;
    fork and exec (Popen, and the worker's own spawn) leave them at their defaults."""
    head, ignored = probe.split("SigIgn:\t")
    mask = int(ignored.split()[0], 16) & ~(0b11 << 31)
    return f"{head}SigIgn:\t{mask:016x}\n"


def test_a_job_gets_what_popen_and_posix_spawn_gave_it(tmp_path: Path) -> None:
    # The worker's signal state as a job sees it: SIGUSR1 caught by Python, SIGUSR2
    # ignored, SIGHUP blocked. Ignored and blocked stay so across exec; a handler does not.
    if process._spawn is None:
        pytest.skip("torc.worker._spawn is not built here")
    fast = process._spawn
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    seen = {}
    old_usr1 = signal.signal(signal.SIGUSR1, lambda *_: None)
    old_usr2 = signal.signal(signal.SIGUSR2, signal.SIG_IGN)
    old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGHUP})
    try:
        # Without _spawn, a job with a directory of its own goes through Popen.
        for name, cwd in (("_spawn", None), ("_spawn in a directory", elsewhere),
                          ("posix_spawn", None), ("Popen", elsewhere)):
            process._spawn = fast if name.startswith("_spawn") else None
            out, err = tmp_path / f"{name}.o", tmp_path / f"{name}.e"
            proc = JobProcess(["bash", "-c", PROBE, "probe", "a b", "é", ""], cwd,
                              {"X": "x=1 é", "PATH": os.environ["PATH"]}, out, err)
            assert run(proc) == (0, None)
            text = out.read_text().replace(f"cwd: {cwd}\n", "cwd: (its own)\n")
            seen[name] = (_glibc_internals_cleared(text), err.read_text(),
                          stat.S_IMODE(out.stat().st_mode), stat.S_IMODE(err.stat().st_mode))
    finally:
        process._spawn = fast
        signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)
        signal.signal(signal.SIGUSR1, old_usr1)
        signal.signal(signal.SIGUSR2, old_usr2)
    assert seen["_spawn"] == seen["posix_spawn"]
    assert seen["_spawn in a directory"] == seen["Popen"]
    text, err_text, out_mode, err_mode = seen["_spawn"]
    assert "leads its session" in text and "stdin: /dev/null" in text
    assert f"cwd: {os.getcwd()}\n" in text and "cwd: (its own)\n" in seen["Popen"][0]
    assert "X=x=1 é\narg:a b\narg:é\narg:\n" in text
    blocked = int(text.split("SigBlk:\t")[1].split()[0], 16)
    ignored = int(text.split("SigIgn:\t")[1].split()[0], 16)
    assert blocked & (1 << (signal.SIGHUP - 1))  # blocked, as in the worker
    assert ignored & (1 << (signal.SIGUSR2 - 1))
    assert not ignored & (1 << (signal.SIGPIPE - 1))  # Python's own: restored
    assert not ignored & (1 << (signal.SIGUSR1 - 1))  # caught in the worker: default here
    assert err_text == "to stderr\n" and out_mode == err_mode == 0o600


def test_stderr_joined_to_stdout_and_streams_discarded(tmp_path: Path, spawner: str) -> None:
    both = tmp_path / "both.o"
    proc = JobProcess(["bash", "-c", "echo out; echo err >&2"], None, {}, both, SAME_AS_STDOUT)
    assert run(proc) == (0, None)
    assert both.read_text() == "out\nerr\n"
    proc = JobProcess(["bash", "-c", "echo out; echo err >&2; exit 4"], None, {}, None, None)
    assert run(proc) == (4, None)


@pytest.mark.parametrize("case", ["stdout", "stderr", "cwd", "exec"])
def test_a_process_that_cannot_start_exits_127_and_says_why(tmp_path: Path, spawner: str,
                                                            case: str) -> None:
    missing = tmp_path / "missing"
    argv = ["no-such-program-torc" if case == "exec" else "true"]
    proc = JobProcess(argv, missing if case == "cwd" else None, {"PATH": os.environ["PATH"]},
                      missing / "o" if case == "stdout" else tmp_path / "o",
                      missing / "e" if case == "stderr" else tmp_path / "e", label="job 9 (x)")
    code, error = run(proc)
    assert code == 127
    assert error is not None and error.errno == errno.ENOENT
    if spawner == "_spawn":  # the worker's own spawn also names the step and its file
        named = {"stdout": missing / "o", "stderr": missing / "e", "cwd": missing,
                 "exec": "no-such-program-torc"}[case]
        assert f"({case})" in str(error) and error.filename == str(named)


def test_a_job_killed_the_moment_it_was_spawned_dies(tmp_path: Path, spawner: str) -> None:
    # The worker's own spawn returns before the child has its session: a kill sent at once
    # finds no process group yet, and must still reach the job.
    async def main() -> list[int | None]:
        codes: list[int | None] = []
        for i in range(40):
            proc = JobProcess(["sleep", "1000"], None, {}, tmp_path / f"{i}.o",
                              tmp_path / f"{i}.e")
            proc.spawn()
            proc.kill(signal.SIGTERM)
            codes.append(await asyncio.wait_for(proc.wait(), 30))
        return codes

    assert asyncio.run(main()) == [-signal.SIGTERM] * 40


def test_text_no_process_can_take_is_refused_before_anything_runs(tmp_path: Path,
                                                                  spawner: str) -> None:
    out = tmp_path / "o"
    for argv, env in ((["true", "a\0b"], {}), (["true"], {"A=B": "1"}), (["true"], {"A": "\0"})):
        proc = JobProcess(argv, None, env, out, tmp_path / "e")
        with pytest.raises(ValueError):
            proc.spawn()
        assert proc.pid == 0
    assert not out.exists()


def test_a_job_s_pipeline_ends_quietly_when_its_reader_stops(tmp_path: Path,
                                                            spawner: str) -> None:
    # Python ignores SIGPIPE and SIGXFSZ for itself; a job must start with both at their
    # defaults, as subprocess.Popen and Torc's own runner give them. With SIGPIPE ignored,
    # `yes` outlives `head` and complains of a broken pipe on stderr; with SIGXFSZ ignored, a
    # write past the file size limit fails instead of killing the writer (128 + 25).
    out, err = tmp_path / "o", tmp_path / "e"
    proc = JobProcess(["bash", "-c", "yes | head -n 1; { (ulimit -f 1; exec head -c 2048 "
                       f"/dev/zero > '{tmp_path}/f'); }} 2>/dev/null; echo \"rc $?\""], None,
                      {"PATH": os.environ["PATH"]}, out, err)
    assert run(proc) == (0, None)
    assert err.read_text() == ""
    assert out.read_text() == f"y\nrc {128 + signal.SIGXFSZ}\n"
