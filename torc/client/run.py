"""``torc run``: run a workflow here, with an embedded coordinator and one local worker.

Both are real child processes (``torc-coord serve`` and ``torc-worker``), the same programs a
cluster runs, so local runs exercise exactly what production does.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from torc.client import failures, output
from torc.client.reports import OutputDirs
from torc.client.stub import ClientError, TorcClient, load_spec
from torc.errors import TorcError


class EmbeddedCoordinator:
    """A ``torc-coord serve`` child on a free loopback port."""

    def __init__(self, data_dir: Path, port: int = 0) -> None:
        self.data_dir = data_dir
        self.port = port  # 0: a free one
        self.proc: subprocess.Popen[str] | None = None
        self.url = ""

    def start(self, timeout: float = 30.0) -> str:
        """Start it and return its URL once it listens."""
        self.launch()
        return self.listening(timeout)

    def launch(self) -> None:
        """Start the process; :meth:`listening` waits until it serves."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = open(self.data_dir / "coordinator.log", "a")  # noqa: SIM115 - child keeps it
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "torc.server.main", "serve", "--host", "127.0.0.1",
             "--port", str(self.port), "--data-dir", str(self.data_dir)],
            stdout=subprocess.PIPE, stderr=log, text=True, start_new_session=True)
        log.close()

    def listening(self, timeout: float = 30.0) -> str:
        """Wait until the launched coordinator listens; returns its URL."""
        deadline = time.monotonic() + timeout
        assert self.proc is not None, "launch() first"
        out = self.proc.stdout
        assert out is not None
        while time.monotonic() < deadline:
            line = out.readline()
            if not line:
                break
            if line.startswith("torc-coord listening on "):
                self.url = line.split()[-1]
                return self.url
        self.stop()
        log_path = self.data_dir / "coordinator.log"
        reasons = [line.split("cannot start: ", 1)[1] for line in
                   log_path.read_text(errors="replace").splitlines() if "cannot start: " in line]
        why = f": {reasons[-1]}" if reasons else ""
        raise TorcError(f"the embedded coordinator did not start{why} (see {log_path})")

    def stop(self) -> None:
        """SIGTERM (it flushes and snapshots), then wait."""
        if self.proc is None or self.proc.poll() is not None:
            return
        self.proc.send_signal(signal.SIGTERM)
        # Woken by the exit itself: Popen.wait(timeout) polls, up to 50 ms late.
        with _exit_of(self.proc) as exited:
            if not exited(30):
                self.proc.kill()
        self.proc.wait()


def _worker_argv(args: argparse.Namespace, output_dir: Path) -> list[str]:
    # The coordinator and the workflow come on stdin (torc.worker.main._target_from_stdin).
    argv = [sys.executable, "-m", "torc.worker.main", "--target-on-stdin",
            "--output-dir", str(output_dir)]
    if getattr(args, "log_level", None) is not None:  # -> the worker's --log-level
        argv += ["--log-level", logging.getLevelName(min(args.log_level, logging.INFO)).lower()]
    for opt in ("num_cpus", "memory", "num_gpus", "max_parallel_jobs", "idle_timeout",
                "end_buffer", "scheduler"):
        value = getattr(args, opt, None)
        if value is not None and value != "":
            argv += ["--" + opt.replace("_", "-"), str(value)]
    return argv


def worker_log(output_dir: Path, wf_id: int, run_id: int) -> Path:
    """The local worker's log, named as Torc names its job runner's."""
    return output_dir / f"job_runner_{socket.gethostname()}_wf{wf_id}_r{run_id}.log"


def prepare(client: TorcClient, target: str, files_dir: Path | None,
            before_init: Any = None, loaded: tuple[dict[str, Any], str] | None = None) -> int:
    """Create (from a spec) and initialize, or initialize an existing workflow id; input
    files are looked for in ``files_dir``, where the jobs will run.
    ``before_init(wf_id, run_id)`` runs in between with the run about to start (a worker
    started then boots while the workflow initializes). ``loaded`` is the spec already
    read (:func:`load_spec`)."""
    if target.isdigit():
        wf_id = int(target)
        wf = client.get_workflow(wf_id)
        initialized, run_id = wf.initialized, wf.run_id
    else:
        wf_id = client.create_loaded(*(loaded or load_spec(target)))
        initialized, run_id = False, 0
    if before_init is not None:
        before_init(wf_id, run_id if initialized else run_id + 1)
    if not initialized:
        client.initialize(wf_id, files_dir)
    return wf_id


def _progress(client: TorcClient, wf_id: int, worker: subprocess.Popen[bytes],
              show: bool, interval: float = 0.25, follow: Path | None = None) -> None:
    """Show the bars until the worker exits; with ``follow`` (an output directory, for
    ``torc exec``), what the jobs print as well."""
    wf = client.get_workflow(wf_id)
    total = wf.num_jobs
    with Progress(TextColumn("[bold]{task.description:<9}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=output.console, disable=not show,
                  transient=False) as progress:
        # Canceled is not failed: each ending has its own bar, as the summary counts them.
        bars = {name: progress.add_task(name, total=total)
                for name in ("completed", "failed", "terminated", "canceled", "running")}
        held = False  # said once that pending_failed jobs hold the rest

        def update() -> None:
            nonlocal held
            try:
                counts = client.status(wf_id).job_counts
            except ClientError:
                counts = {}
            for name, task in bars.items():
                progress.update(task, completed=counts.get(name, 0))
            waiting = counts.get("pending_failed", 0)
            if waiting and not held and not any(
                    counts.get(k, 0) for k in ("ready", "pending", "running")):
                held = True
                # Printed whether or not the bars show: otherwise the run sits silently
                # through the worker's idle wait.
                output.console.print(
                    f"{waiting} job(s) pending_failed (use_pending_failed): their dependents "
                    f"wait for `torc recover {wf_id}` or `torc workflows reset-status "
                    f"{wf_id} --failed-only --reinitialize`; the worker leaves after its "
                    "idle wait (compute_node_wait_for_new_jobs_seconds)", highlight=False)

        stream = None
        if follow is not None:
            from torc.client.stream import StdioStream
            names = {j.id: j.name for j in client.list_jobs(wf_id)}
            stream = StdioStream(follow, wf_id, wf.run_id, names,
                                 lambda text: progress.console.print(text, markup=False,
                                                                     highlight=False))
        with _exit_of(worker) as exited:
            update()
            while not exited(interval):
                if stream is not None:
                    stream.poll()
                update()
            worker.wait()
            if stream is not None:
                stream.finish()
            update()


@contextmanager
def _exit_of(proc: subprocess.Popen[Any]) -> Iterator[Callable[[float], bool]]:
    """``exited(timeout)``: whether ``proc`` exits within ``timeout`` seconds, woken by the
    exit itself (a pidfd) where ``Popen.wait`` would poll, up to 50 ms late."""
    try:
        fd = os.pidfd_open(proc.pid)
    except (AttributeError, OSError):
        def polled(timeout: float) -> bool:
            try:
                proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        yield polled
        return
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    try:
        yield lambda timeout: bool(poller.poll(timeout * 1000))
    finally:
        os.close(fd)


def run(args: argparse.Namespace, url: str | None, fmt: str) -> int:
    """Run a workflow to the end; non-zero when any job did not complete."""
    output_dir = Path(args.output_dir).resolve()
    output_dir.mkdir(parents=True, exist_ok=True)
    embedded = None
    if url is None:
        embedded = EmbeddedCoordinator(output_dir / "coordinator")
        embedded.launch()
    worker: subprocess.Popen[bytes] | None = None
    dash = None
    try:
        # Started now, so its Python starts while the coordinator does and the workflow is
        # created; it waits for both on stdin.
        worker = subprocess.Popen(_worker_argv(args, output_dir), stdin=subprocess.PIPE)
        # Read while the coordinator starts (a 10,000-job YAML spec: 0.1 s of 0.3 s). Not
        # validated here: the coordinator does, and a refusal is explained with the file's
        # lines (create_loaded), as for any spec; twice cost a 10,000-job run 0.05 s.
        loaded = None if args.target.isdigit() else load_spec(args.target, check=False)
        if embedded is not None:
            url = embedded.listening()
        assert url is not None
        with TorcClient(url) as client:
            client.wait_ready()
            log_path = output_dir / "worker.log"

            def start_worker(wf_id: int, run_id: int) -> None:
                # Before the initialize: the worker waits for the workflow to be ready.
                nonlocal log_path
                assert worker is not None and worker.stdin is not None
                log_path = worker_log(output_dir, wf_id, run_id)
                try:
                    worker.stdin.write(json.dumps({"url": url, "workflow_id": wf_id,
                                                   "log": str(log_path)}).encode() + b"\n")
                    worker.stdin.close()
                except BrokenPipeError:
                    pass  # it died starting (said so on stderr): its exit code is reported

            # Jobs run here, where torc run was started (as Torc's): relative paths too.
            wf_id = prepare(client, args.target, Path.cwd(), start_worker, loaded)
            if getattr(args, "dash", False):
                from torc.client.dash.server import start
                dash, launch = start(url, "127.0.0.1", args.dash_port, output_dir,
                                     f"/workflows/{wf_id}")
                output.console.print(f"dashboard: {launch}", soft_wrap=True)
            try:
                _progress(client, wf_id, worker, show=fmt == "table",
                          interval=getattr(args, "poll_interval", 0.25),
                          follow=output_dir if args.group == "exec" and fmt == "table"
                          else None)
            except KeyboardInterrupt:
                worker.send_signal(signal.SIGTERM)
                worker.wait()
                raise
            status = output.status_dict(client.status(wf_id))
            failed, bad_actions = failures.summarize(client, wf_id, status,
                                                     OutputDirs([], output_dir))
        counts = status["job_counts"]
        ok = worker.returncode == 0 and not failed and not bad_actions and status["complete"]
        if fmt == "json":
            output.emit_json({"id": wf_id, "job_counts": counts, "success": ok,
                              "failed_jobs": failed, "failed_actions": bad_actions,
                              "output_dir": str(output_dir)})
        else:
            output.table(f"workflow {wf_id}", [{"status": k, "jobs": v}
                                               for k, v in counts.items() if v],
                         ["status", "jobs"])
            failures.print_summary(wf_id, failed, bad_actions)
            output.console.print(f"output: {output_dir}  (job stdout/stderr in job_stdio/, "
                                 f"worker log {log_path.name})")
        if worker.returncode != 0:
            print(f"error: the worker exited with code {worker.returncode}; see {log_path}",
                  file=sys.stderr)
        return 0 if ok else 1
    finally:
        if dash is not None:
            dash.should_exit = True
        if worker is not None and worker.poll() is None:
            worker.kill()
        if embedded is not None:
            embedded.stop()
