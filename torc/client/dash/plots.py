"""A workflow's resource plots in the dashboard: the same page as ``torc plot-resources``,
drawn from the time_series samples its workers wrote (``resource_utilization/`` in the
output directory given, else in each worker's own), Plotly's JavaScript embedded (no CDN).
Plotly writes every label as JSON with ``<`` escaped, so a job's name stays text."""

from __future__ import annotations

import html
import tempfile
from pathlib import Path

from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.options import DEFAULT_OUTPUT_DIR
from torc.plots import plot_resources


def sample_files(c: TorcClient, wf_id: int, output_dir: Path | None) -> list[Path]:
    """The workflow's sample files (one per worker), where they were written."""
    dirs = ({output_dir} if output_dir is not None else
            {Path(w.output_dir) for w in c.list_workers(wf_id) if w.output_dir}
            or {Path(DEFAULT_OUTPUT_DIR).resolve()})
    return sorted(f for d in dirs
                  for f in (d / "resource_utilization").glob(f"resource_metrics_wf{wf_id}_w*.db"))


def page(c: TorcClient, wf_id: int, output_dir: Path | None) -> str:
    """The HTML page of the plots, or one saying why there are none."""
    files = sample_files(c, wf_id, output_dir)
    if files:
        with tempfile.TemporaryDirectory(prefix="torc-dash-plots-") as tmp:
            target = Path(tmp) / "plots.html"
            try:
                plot_resources(files, target)
                return target.read_text()
            except TorcError:
                pass  # files without samples yet: said below
    where = html.escape(str(output_dir or "each worker's output directory"))
    return ("<!doctype html><meta charset=utf-8><title>torc: resource plots</title>"
            f"<p>No resource samples of workflow {wf_id} in {where}/resource_utilization. "
            "They are written when the workflow's <code>resource_monitor</code> has "
            "<code>granularity: time_series</code>.</p>"
            f"<p><a href=\"/workflows/{wf_id}\">back to workflow {wf_id}</a></p>")
