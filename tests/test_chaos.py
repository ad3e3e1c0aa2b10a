"""The coordinator is SIGKILLed again and again while real workers run a workflow."""

from __future__ import annotations

import random
import time
from collections import Counter
from pathlib import Path

from tests.conftest import Coordinator, start_worker

N_JOBS = 2000
KILLS = 20


def test_workers_ride_out_coordinator_crashes(tmp_path: Path) -> None:
    c = Coordinator(tmp_path / "coord", "--heartbeat-interval", "1", "--snapshot-every", "500")
    c.start()
    runs = tmp_path / "runs.txt"
    try:
        wf_id = c.client.create_workflow({"name": "chaos", "jobs": [
            {"name": f"j{i}", "command": f"echo $TORC_JOB_ID >> {runs}; sleep 0.15"}
            for i in range(N_JOBS)]})
        c.client.initialize(wf_id)
        workers = [start_worker(c.url, wf_id, tmp_path / "out", "--num-cpus", "4",
                                log_name=f"worker{k}.log") for k in range(2)]
        rng = random.Random(7)
        kills = 0
        while kills < KILLS and all(w.poll() is None for w in workers):
            time.sleep(rng.uniform(0.1, 1.0))
            c.kill9()
            kills += 1
            time.sleep(rng.uniform(0.0, 0.5))  # down for a moment: calls fail, then retry
            c.start()
        assert kills == KILLS, f"the workers finished after {kills} kills; make the run longer"
        assert [w.wait(timeout=300) for w in workers] == [0, 0]
        counts = dict(c.client.status(wf_id).job_counts)
        assert counts["completed"] == N_JOBS, counts
        ran = Counter(int(x) for x in runs.read_text().split())
        assert sorted(ran) == list(range(1, N_JOBS + 1)), "some job never ran"
        twice = [j for j, n in ran.items() if n > 1]
        assert not twice, f"jobs run more than once: {twice[:10]}"
        results = c.client.list_results(wf_id)
        assert len(results) == N_JOBS and len({r.job_id for r in results}) == N_JOBS
        assert all(r.return_code == 0 for r in results)
    finally:
        c.close()
