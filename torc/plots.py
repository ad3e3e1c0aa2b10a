"""``torc plot-resources``: the time_series samples workers wrote (SQLite, one file per worker)
as one self-contained HTML page: memory and CPU of each job over time, drawn with Plotly (its
JavaScript embedded, so the page opens on an offline cluster)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from torc.errors import TorcError


def _files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        found = sorted(path.glob("resource_metrics_*.db")) if path.is_dir() else [path]
        if not found:
            raise TorcError(f"{path}: no resource_metrics_*.db files (time_series monitoring "
                            "writes them under <output-dir>/resource_utilization)")
        files += found
    return files


def read_samples(paths: list[Path], job_ids: set[int] | None = None
                 ) -> dict[str, list[tuple[float, int, float]]]:
    """Samples by job attempt ("name (job id, run, attempt)"): (time, memory bytes, CPU
    percent), from our files or Torc's (same tables; Torc's have no run or attempt)."""
    series: dict[str, list[tuple[float, int, float]]] = defaultdict(list)
    for f in _files(paths):
        try:
            with sqlite3.connect(f"file:{f}?mode=ro", uri=True) as db:
                columns = {row[1] for row in db.execute(
                    "PRAGMA table_info(job_resource_samples)")}
                extra = "s.run_id, s.attempt_id" if "run_id" in columns else "NULL, NULL"
                rows = db.execute(
                    f"SELECT COALESCE(m.job_name, 'job ' || s.job_id), s.job_id, {extra}, "
                    "s.timestamp, s.memory_bytes, s.cpu_percent FROM job_resource_samples s "
                    "LEFT JOIN job_metadata m ON m.job_id = s.job_id "
                    "ORDER BY s.timestamp").fetchall()
        except sqlite3.Error as e:
            raise TorcError(f"{f}: not a torc resource file: {e}") from None
        for name, job_id, run_id, attempt, ts, mem, cpu in rows:
            if job_ids is not None and job_id not in job_ids:
                continue
            where = f"job {job_id}" + (f", run {run_id}, attempt {attempt}" if run_id else "")
            series[f"{name} ({where})"].append((ts, mem, cpu))
    return series


def plot_resources(paths: Path | list[Path], output: Path,
                   job_ids: set[int] | None = None) -> int:
    """Write the HTML page of the samples in ``paths`` (files or directories holding them),
    only ``job_ids`` when given; returns how many job attempts it shows."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    series = read_samples(paths if isinstance(paths, list) else [paths], job_ids)
    if not series:
        raise TorcError("no samples" + (f" of jobs {sorted(job_ids)}" if job_ids else ""))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=("memory (MiB)", "CPU (%)"))
    for label, samples in sorted(series.items()):
        times = [datetime.fromtimestamp(t) for t, _, _ in samples]
        fig.add_trace(go.Scatter(x=times, y=[m / 2**20 for _, m, _ in samples], name=label,
                                 legendgroup=label, mode="lines+markers"), row=1, col=1)
        fig.add_trace(go.Scatter(x=times, y=[c for _, _, c in samples], name=label,
                                 legendgroup=label, showlegend=False, mode="lines+markers"),
                      row=2, col=1)
    fig.update_layout(title="torc: resource use per job", height=800)
    fig.write_html(str(output), include_plotlyjs=True, full_html=True)
    return len(series)
