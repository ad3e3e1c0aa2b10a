"""``torc logs bundle``: a workflow's logs and state in one archive to attach to a ticket
(Torc's ``logs bundle``: ``wf<ID>.tar.gz`` unpacking to ``wf<ID>/``).

It holds every file of the workflow in its output directories (the one given and each one
its workers recorded): job stdout/stderr, worker logs, Slurm output, scripts, ``slurm_env``
and ``dmesg`` captures; ``bundle_info.json`` (what, when, where from); and, beyond Torc,
``workflow_export.json`` (what ``torc export`` writes: spec, job states, results, events;
``torc import`` loads it) with the workers and allocations, so that whoever opens the
bundle sees the run as the coordinator saw it.
"""

from __future__ import annotations

import io
import json
import socket
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from rich.progress import Progress

from torc.client import output
from torc.client.log_analysis import output_files, workflow_of
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.version import torc_version

SHOW_PROGRESS_PAST = 200  # files


def workflow_files(root: Path, wf_id: int) -> Iterator[tuple[str, Path]]:
    """(path inside ``root``, path) of each file of the workflow there."""
    return ((rel, p) for rel, p in output_files(root) if workflow_of(rel) == wf_id)


def _add_json(tar: tarfile.TarFile, name: str, data: Any) -> None:
    raw = json.dumps(data, indent=2, default=str).encode()
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = len(raw), int(time.time()), 0o644
    tar.addfile(info, io.BytesIO(raw))


def bundle(c: TorcClient, wf_id: int, output_dir: Path,
           bundle_dir: Path) -> dict[str, Any]:
    """Write ``bundle_dir/wf<ID>.tar.gz``; what it holds."""
    wf = c.get_workflow(wf_id)
    workers = c.list_workers(wf_id)
    roots = [output_dir.resolve()]
    for w in workers:
        if w.output_dir and Path(w.output_dir).resolve() not in roots:
            roots.append(Path(w.output_dir).resolve())
    files = [(f"wf{wf_id}/{rel}" if i == 0 else f"wf{wf_id}/more_output/{i}/{rel}", p)
             for i, root in enumerate(roots) for rel, p in workflow_files(root, wf_id)]
    bundle_dir.mkdir(parents=True, exist_ok=True)
    target = bundle_dir / f"wf{wf_id}.tar.gz"
    partial = target.with_name(target.name + ".partial")
    info = {"workflow_id": wf_id, "workflow_name": wf.name, "user": wf.user,
            "collected_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "collected_on": socket.gethostname(), "coordinator": c.url,
            "torc_py_version": torc_version(),
            "output_dirs": {("." if i == 0 else f"more_output/{i}"): str(r)
                            for i, r in enumerate(roots)},
            "files": len(files)}
    size = 0
    show = output.console.is_terminal and len(files) > SHOW_PROGRESS_PAST
    try:
        with tarfile.open(partial, "w:gz") as tar, Progress(
                console=output.console, disable=not show, transient=True) as progress:
            task = progress.add_task(f"bundling workflow {wf_id}", total=len(files))
            for name, path in files:
                try:
                    tar.add(path, arcname=name, recursive=False)
                    size += path.stat().st_size
                except OSError:  # a file removed while bundling: the rest still goes
                    pass
                progress.advance(task)
            _add_json(tar, f"wf{wf_id}/bundle_info.json", info)
            _add_json(tar, f"wf{wf_id}/workflow_export.json", c.export_workflow(wf_id))
            _add_json(tar, f"wf{wf_id}/workers.json",
                      [output.worker_dict(w, wf_id) for w in workers])
            _add_json(tar, f"wf{wf_id}/allocations.json",
                      [output.allocation_dict(a) for a in c.list_allocations(wf_id)])
        partial.replace(target)
    except OSError as e:
        partial.unlink(missing_ok=True)
        raise TorcError(f"cannot write {target}: {e.strerror or e}") from None
    return {"bundle": str(target), "workflow_id": wf_id, "files": len(files),
            "log_bytes": size, "bundle_bytes": target.stat().st_size,
            "output_dirs": [str(r) for r in roots]}

