"""The recovery loop of docs/failures.md, typed as it is written: torc run of
examples/when_jobs_fail.yaml exits 1 (train out of memory), one torc recover completes it."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import ROOT, Coordinator, run_cli


def test_the_readme_s_recovery_loop_ends_in_one_round(coordinator: Coordinator,
                                                     tmp_path: Path) -> None:
    url, out = coordinator.url, tmp_path / "out"
    example = ROOT / "examples" / "when_jobs_fail.yaml"
    r = run_cli("run", str(example), "--output-dir", str(out), url=url, timeout=300)
    assert r.returncode == 1, r.stdout + r.stderr  # train ran out of memory
    states = {j.name: j.status for j in coordinator.client.list_jobs(1)}
    assert states["flaky"] == 6 and states["train"] == 7, states  # completed, failed
    r = run_cli("recover", "1", "--output-dir", str(out), url=url, timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert {j.status for j in coordinator.client.list_jobs(1)} == {6}
    assert (tmp_path / "report.txt").read_text() == "trained\n"
