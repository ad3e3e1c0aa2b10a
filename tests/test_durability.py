"""Nothing acknowledged is lost: SIGKILL at random moments, torn and corrupted WAL files."""

from __future__ import annotations

import random
import subprocess
import sys
import threading
import time
from pathlib import Path

import grpc
import pytest

from tests.conftest import Coordinator
from torc import states as S
from torc.client.stub import raw_stub
from torc.proto import torc_pb2 as pb
from torc.server.persistence.wal_format import list_segments

N_JOBS = 3000


class Load:
    """A client hammering the coordinator, remembering what was acknowledged."""

    def __init__(self, url: str, wf_id: int) -> None:
        self.stub = raw_stub(url)
        self.wf_id = wf_id
        self.finished: list[int] = []
        self.started: list[int] = []
        self.created: list[int] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            w = self.stub.RegisterWorker(pb.RegisterWorkerRequest(workflow_id=self.wf_id),
                                         timeout=5).worker_id
            n = 0
            while True:
                n += 1
                if n % 10 == 0:
                    wf = self.stub.CreateWorkflow(pb.CreateWorkflowRequest(
                        spec_json='{"name": "side", "jobs": [{"name": "a", "command": "true"}]}'),
                        timeout=5)
                    self.created.append(wf.id)
                jobs = self.stub.ClaimJob(pb.ClaimJobRequest(
                    workflow_id=self.wf_id, worker_id=w, max_jobs=5,
                    available=pb.Resources(num_cpus=100, memory_bytes=1 << 40)), timeout=5).jobs
                if not jobs:
                    return
                ids = [j.id for j in jobs]
                self.stub.ReportStatus(pb.ReportStatusRequest(
                    workflow_id=self.wf_id, worker_id=w, reports=[
                        pb.JobReport(job_id=i, kind=pb.STARTED, run_id=1, attempt_id=1)
                        for i in ids]), timeout=5)
                self.started.extend(ids)
                resp = self.stub.ReportStatus(pb.ReportStatusRequest(
                    workflow_id=self.wf_id, worker_id=w, reports=[
                        pb.JobReport(job_id=i, kind=pb.FINISHED, run_id=1, attempt_id=1,
                                     return_code=0, start_time=1.0, end_time=2.0)
                        for i in ids[:3]]), timeout=5)
                assert not resp.rejected, resp.rejected
                self.finished.extend(ids[:3])
        except grpc.RpcError as e:
            if e.code() not in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.CANCELLED,
                                grpc.StatusCode.DEADLINE_EXCEEDED):
                self.error = e
        except BaseException as e:  # noqa: BLE001 - reported by the test
            self.error = e


def check_acknowledged(c: Coordinator, wf_id: int, finished: set[int], started: set[int],
                       created: set[int]) -> None:
    jobs = {j.id: j for j in c.client.list_jobs(wf_id)}
    lost = [i for i in finished if jobs[i].status != S.COMPLETED]
    assert not lost, f"acknowledged completions lost: {lost[:10]}"
    # A start was acknowledged; its finish may have been applied without the answer arriving.
    lost = [i for i in started - finished if jobs[i].status not in (S.RUNNING, S.COMPLETED)]
    assert not lost, f"acknowledged starts lost: {lost[:10]}"
    existing = {w.id for w in c.client.list_workflows()}
    assert created <= existing, f"acknowledged workflows lost: {created - existing}"
    results = c.client.list_results(wf_id)
    assert len(results) == len({r.job_id for r in results}), "a result was applied twice"


@pytest.mark.parametrize("snapshot_every", [1_000_000, 40])
def test_sigkill_at_random_points_loses_nothing_acknowledged(tmp_path: Path,
                                                             snapshot_every: int) -> None:
    c = Coordinator(tmp_path / "coord", "--snapshot-every", str(snapshot_every),
                    "--heartbeat-interval", "600")
    c.start()
    wf_id = c.client.create_workflow({"name": "big", "jobs": [
        {"name": f"j{i}", "command": "true"} for i in range(N_JOBS)]})
    c.client.initialize(wf_id)
    rng = random.Random(snapshot_every)
    finished: set[int] = set()
    started: set[int] = set()
    created: set[int] = set()
    kills = 0
    try:
        for _ in range(12):
            load = Load(c.url, wf_id)
            t = threading.Thread(target=load.run)
            t.start()
            time.sleep(rng.uniform(0.05, 0.6))
            c.kill9()
            kills += 1
            t.join(timeout=30)
            assert load.error is None, repr(load.error)
            finished |= set(load.finished)
            started |= set(load.started)
            created |= set(load.created)
            c.start()
            check_acknowledged(c, wf_id, finished, started, created)
        assert kills == 12 and len(finished) > 50
        if snapshot_every < 1000:
            assert list((tmp_path / "coord").glob("snapshot-*.json"))
    finally:
        c.close()


def _some_work(c: Coordinator) -> tuple[int, set[int]]:
    wf_id = c.client.create_workflow({"name": "w", "jobs": [
        {"name": f"j{i}", "command": "true"} for i in range(50)]})
    c.client.initialize(wf_id)
    load = Load(c.url, wf_id)
    load.run()
    assert load.error is None
    return wf_id, set(load.finished)


def test_torn_tail_is_dropped_and_acknowledged_state_kept(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord")
    c.start()
    try:
        wf_id, finished = _some_work(c)
        c.kill9()
        segment = list_segments(tmp_path / "coord")[-1][1]
        data = segment.read_bytes()
        # A crash in the middle of a group commit: a partial record at the end.
        segment.write_bytes(data + data[-40:-7])
        c.start()
        check_acknowledged(c, wf_id, finished, set(), set())
        c.kill9()
        segment = list_segments(tmp_path / "coord")[-1][1]
        # Garbage where the next record's header would be.
        with open(segment, "ab") as f:
            f.write(b"\xff" * 21)
        c.start()
        check_acknowledged(c, wf_id, finished, set(), set())
        assert "dropping" in c.log.read_text()
    finally:
        c.close()


def test_corruption_inside_the_log_refuses_to_start(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord")
    c.start()
    _some_work(c)
    c.kill9()
    c.start()  # a restart begins a new segment, so the first one is no longer the tail
    _some_work(c)
    c.kill9()
    first = list_segments(tmp_path / "coord")[0][1]
    data = bytearray(first.read_bytes())
    data[len(data) // 2] ^= 0xFF
    first.write_bytes(bytes(data))
    r = subprocess.run([sys.executable, "-m", "torc.server.main", "serve", "--port", "0",
                        "--data-dir", str(tmp_path / "coord")], capture_output=True, text=True,
                       timeout=60)
    assert r.returncode == 2
    assert "cannot start" in r.stderr and first.name in r.stderr


def test_clean_shutdown_snapshots_and_prunes_segments(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord", "--snapshot-every", "30")
    c.start()
    try:
        wf_id, finished = _some_work(c)
        for _ in range(3):
            c.restart(kill=False)
            check_acknowledged(c, wf_id, finished, set(), set())
        directory = tmp_path / "coord"
        assert len(list(directory.glob("snapshot-*.json"))) == 1
        assert len(list_segments(directory)) <= 2
    finally:
        c.close()
