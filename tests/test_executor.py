"""``TorcExecutor`` as a ``concurrent.futures.Executor`` (the parts of CPython's
test_concurrent_futures that apply: results, exceptions, ``map`` order, ``as_completed``,
``wait``, cancel of a call not yet started, shutdown), calls depending on other calls, and a
script that resumes after being killed. Real coordinator, real workers."""

from __future__ import annotations

import concurrent.futures as cf
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Coordinator, wait_for
from torc import TorcExecutor
from torc import states as S
from torc.client import TorcClient


def square(x: int) -> int:
    return x * x


def boom(message: str) -> None:
    raise ValueError(message)


def test_results_map_order_and_exceptions(coordinator: Coordinator, tmp_path: Path) -> None:
    with TorcExecutor(coordinator.url, workers=1, output_dir=tmp_path / "ex") as ex:
        assert ex.submit(pow, 2, 8).result(timeout=120) == 256
        assert list(ex.map(square, [3, 1, 2], timeout=120)) == [9, 1, 4]
        offset = 10
        assert ex.submit(lambda y: y + offset, 5).result(timeout=120) == 15  # a closure
        failing = ex.submit(boom, "no good")
        with pytest.raises(ValueError, match="no good") as e:
            failing.result(timeout=120)
        assert any("Traceback" in note and "boom" in note for note in e.value.__notes__)
        assert isinstance(failing.exception(), ValueError)


def test_as_completed_wait_and_calls_on_results(coordinator: Coordinator,
                                                tmp_path: Path) -> None:
    with TorcExecutor(coordinator.url, workers=1, output_dir=tmp_path / "ex") as ex:
        futures = [ex.submit(square, i) for i in range(5)]
        assert sorted(f.result() for f in cf.as_completed(futures, timeout=120)) == [
            0, 1, 4, 9, 16]
        done, not_done = cf.wait(futures, timeout=120)
        assert len(done) == 5 and not not_done
        total = ex.submit(sum, futures)  # the results are passed in
        assert total.result(timeout=120) == 30
        again = ex.submit(square, 3)  # the same call: the same future, not a second job
        assert again is futures[3]


def test_a_call_not_started_can_be_canceled(coordinator: Coordinator, tmp_path: Path) -> None:
    """No worker yet: the call waits, and cancel() cancels its job; a started one cannot
    be canceled."""
    with TorcExecutor(coordinator.url, workers=0, output_dir=tmp_path / "ex") as ex:
        f = ex.submit(square, 4)
        assert f.cancel() and f.cancelled()
        with pytest.raises(cf.CancelledError):
            f.result(timeout=10)
        jobs = coordinator.client.list_jobs(ex.workflow_id)
        assert [j.status for j in jobs] == [S.CANCELED]


def test_shutdown_waits_then_refuses_more(coordinator: Coordinator, tmp_path: Path) -> None:
    ex = TorcExecutor(coordinator.url, workers=1, output_dir=tmp_path / "ex")
    f = ex.submit(square, 7)
    ex.shutdown(wait=True)
    assert f.done() and f.result() == 49
    with pytest.raises(RuntimeError, match="after shutdown"):
        ex.submit(square, 1)


RESUMED = '''
import sys, time
from pathlib import Path
from torc import TorcExecutor
from torc import states as S
from torc.client import TorcClient

log, go = Path(sys.argv[1]), Path(sys.argv[2])  # the function takes them along

def work(i):
    with open(log, "a") as f:
        f.write(f"{i}\\n")
    if i >= 3 and not go.exists():
        time.sleep(600)  # the first run is killed while these wait
    return i * 10

with TorcExecutor(name="resumable", output_dir=sys.argv[3]) as ex:
    print(list(ex.map(work, range(6))), flush=True)
'''


def test_a_killed_script_resumes_without_redoing_finished_calls(tmp_path: Path) -> None:
    """With a name and its own coordinator: killed mid-map, run again, the calls that had
    finished are not run again and every result comes back."""
    script, log, go = tmp_path / "study.py", tmp_path / "calls.log", tmp_path / "go"
    script.write_text(RESUMED)
    argv = [sys.executable, str(script), str(log), str(go), str(tmp_path / "ex")]
    first = subprocess.Popen(argv, cwd=tmp_path, start_new_session=True,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    def completed() -> int:  # calls whose results the coordinator holds
        info = tmp_path / "ex" / "coordinator" / "coordinator.json"
        if not info.exists():
            return 0
        with TorcClient(json.loads(info.read_text())["url"]) as c:
            wfs = c.list_workflows()
            return dict(c.status(wfs[0].id).job_counts).get("completed", 0) if wfs else 0

    wait_for(lambda: completed() == 3, timeout=180)  # 0, 1, 2; the others wait
    os.killpg(first.pid, signal.SIGKILL)  # the script and its worker (not the coordinator)
    first.wait()
    go.touch()
    again = subprocess.run(argv, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stdout + again.stderr
    assert "[0, 10, 20, 30, 40, 50]" in again.stdout
    runs = log.read_text().split()
    assert [runs.count(str(i)) for i in range(3)] == [1, 1, 1], runs  # not run again


def test_calls_run_in_slurm_allocations(coord: Coordinator, tmp_path: Path) -> None:
    """With a Slurm scheduler: an allocation is submitted when calls wait, its worker runs
    them (on the real local cluster), and the results come back."""
    slurm = {"account": "torc", "partition": "debug", "nodes": 1, "walltime": "00:10:00"}
    with TorcExecutor(coord.url, slurm=slurm, max_workers=1,
                      output_dir=tmp_path / "ex") as ex:
        assert list(ex.map(square, range(4), timeout=300)) == [0, 1, 4, 9]
        allocations = coord.client.list_allocations(ex.workflow_id)
        assert len(allocations) == 1 and allocations[0].scheduler == "executor"
        workers = [w for w in coord.client.list_workers(ex.workflow_id) if w.role == "worker"]
        assert workers and all(w.slurm_job_id == allocations[0].slurm_job_id for w in workers)


def test_unsendable_arguments_are_named_and_large_results_spill(coordinator: Coordinator,
                                                               tmp_path: Path) -> None:
    import threading

    from torc.errors import TorcError
    with TorcExecutor(coordinator.url, workers=1, output_dir=tmp_path / "ex",
                      inline_limit=1000) as ex:
        with pytest.raises(TorcError, match=r"argument 1 \(lock\)"):
            ex.submit(print, "x", threading.Lock())
        big = ex.submit(bytes, 50_000)  # past the inline limit: a file, said in its log
        assert big.result(timeout=120) == bytes(50_000)
        spilled = list((tmp_path / "ex" / "calls").glob("*.pkl"))
        assert any(p.stat().st_size > 50_000 for p in spilled)
        logs = "".join(p.read_text() for p in (tmp_path / "ex").rglob("*.o"))
        assert "past the 1,000-byte inline limit" in logs


def test_map_in_chunks_runs_several_calls_a_job(coordinator: Coordinator,
                                                tmp_path: Path) -> None:
    """``chunksize`` calls to a job: fewer jobs, the same results in order; a failing call
    fails only its own future; a call of a chunk cannot be canceled alone."""
    def risky(x: int) -> int:
        if x == 5:
            raise ValueError("five")
        return x + 100

    with TorcExecutor(coordinator.url, workers=1, output_dir=tmp_path / "ex") as ex:
        assert list(ex.map(square, range(10), chunksize=4, timeout=120)) == [
            i * i for i in range(10)]
        assert len(coordinator.client.list_jobs(ex.workflow_id)) == 3  # 4 + 4 + 2
        futures = [ex.submit(square, 20)]  # alone in its job: cancelable before it runs
        results = ex.map(risky, range(8), chunksize=8)
        assert [next(results) for _ in range(5)] == [100, 101, 102, 103, 104]
        with pytest.raises(ValueError, match="five"):
            next(results)  # (and the iterator ends there, as Executor.map's does)
        (chunk,) = [fs for fs in ex._by_job.values() if len(fs) == 8]
        assert [f.result() for f in chunk[6:]] == [106, 107]  # the rest of the chunk ran
        assert not chunk[0].cancel()
        assert futures[0].result(timeout=120) == 400
