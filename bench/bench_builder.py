"""Creating a workflow of ``--jobs`` jobs (default 100,000) through the Python builder
(``torc.Workflow``: a job a call, then ``create``) against the same workflow from a YAML spec
(``TorcClient.create_workflow(path)``: parse, validate, send), against one coordinator in
the same run. Target (issue 35): the builder within 2x of the YAML. Printed, never asserted.

    python bench/bench_builder.py [--jobs 100000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import Coord, layered_spec  # noqa: E402

from torc import Workflow  # noqa: E402
from torc.client import TorcClient  # noqa: E402


def _built(n: int) -> Workflow:
    wf = Workflow(f"built_{n}")
    for job in layered_spec(n)["jobs"]:
        wf.job(job["name"], job["command"], depends_on=job.get("depends_on"))
    return wf


def figures(n: int, tmp: Path, repeat: int = 3) -> list[tuple[str, float]]:
    """(what, seconds): the best of ``repeat`` creates each way, and their ratio."""
    spec_file = tmp / "spec.yaml"
    spec_file.write_text(yaml.safe_dump(layered_spec(n), sort_keys=False))
    yaml_secs, built_secs = [], []
    with Coord(tmp / "coord") as coord, TorcClient(coord.url, timeout=600) as c:
        for _ in range(repeat):
            t0 = time.perf_counter()
            c.create_workflow(spec_file)
            yaml_secs.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            _built(n).create(c)
            built_secs.append(time.perf_counter() - t0)
    best_yaml, best_built = min(yaml_secs), min(built_secs)
    return [(f"create {n:,} jobs from YAML", best_yaml),
            (f"create {n:,} jobs through the builder", best_built),
            ("builder / YAML", best_built / best_yaml)]


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--jobs", type=int, default=100_000)
    a = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="torc-bench-builder-") as tmp:
        for name, value in figures(a.jobs, Path(tmp)):
            print(f"{name}: {value:.2f}" + ("" if "/" in name else " s"))


if __name__ == "__main__":
    main()
