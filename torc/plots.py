"""``torc plot-resources``: the time_series samples workers wrote (SQLite, one file per worker)
as one self-contained HTML page: memory and CPU of each job over time, drawn with Plotly (its
JavaScript embedded, so the page opens on an offline cluster)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import datetime
from pathlib import Path

from torc.errors import TorcError


def read_samples(path: Path) -> dict[str, list[tuple[float, int, float]]]:
    """Samples by job ("name (id, run, attempt)"): (time, memory bytes, CPU percent)."""
    files = sorted(path.glob("resource_metrics_*.db")) if path.is_dir() else [path]
    if not files:
        raise TorcError(f"{path}: no resource_metrics_*.db files (time_series monitoring "
                        "writes them under <output-dir>/resource_utilization)")
    series: dict[str, list[tuple[float, int, float]]] = defaultdict(list)
    for f in files:
        try:
            with sqlite3.connect(f"file:{f}?mode=ro", uri=True) as db:
                rows = db.execute("SELECT job_name, job_id, run_id, attempt_id, timestamp, "
                                  "memory_bytes, cpu_percent FROM job_resource_samples "
                                  "ORDER BY timestamp").fetchall()
        except sqlite3.Error as e:
            raise TorcError(f"{f}: not a torc resource file: {e}") from None
        for name, job_id, run_id, attempt, ts, mem, cpu in rows:
            series[f"{name} (job {job_id}, run {run_id}, attempt {attempt})"].append(
                (ts, mem, cpu))
    return series


def plot_resources(path: Path, output: Path) -> int:
    """Write the HTML page; returns how many job attempts it shows."""
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    series = read_samples(path)
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
