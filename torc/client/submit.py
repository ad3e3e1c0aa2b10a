"""``torc submit``: create and initialize a workflow, then run its pending ``schedule_nodes``
actions from the login node, so that Slurm allocations start the workers."""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import grpc

from torc.client import output
from torc.client.run import prepare
from torc.client.stub import TorcClient
from torc.errors import FailedPrecondition, TorcError
from torc.proto import torc_pb2 as pb
from torc.slurm import schedule_nodes


def _generated(args: argparse.Namespace, output_dir: Path) -> Path:
    """``--generate``: the spec with Slurm schedulers and actions, saved beside the output."""
    import yaml

    from torc.client.cli_slurm import generate_spec
    if args.target.isdigit():
        raise TorcError("--generate needs a spec file, not a workflow id")
    args.spec = args.target
    spec, plan = generate_spec(args)
    output_dir.mkdir(parents=True, exist_ok=True)
    path = output_dir / f"{Path(args.target).stem}.generated.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(spec)), sort_keys=False))
    for warning in plan.warnings:
        output.console.print(f"[yellow]warning:[/] {warning}", highlight=False)
    return path


def submit(args: argparse.Namespace, url: str, fmt: str) -> int:
    """Returns 0 when every pending schedule_nodes action submitted its allocations."""
    output_dir = Path(args.output_dir).resolve()
    if getattr(args, "generate", False):
        args.target = str(_generated(args, output_dir))
    with TorcClient(url) as client:
        if args.target is None:  # torc workflows submit, id left out
            from torc.client.pick import workflow_id
            args.target = str(workflow_id(client, args))
        # The allocations run jobs here (sbatch's directory); -i: no input file check.
        wf_id = prepare(client, args.target,
                        None if getattr(args, "ignore_missing_data", False) else Path.cwd())
        reg = client.call("RegisterWorker", pb.RegisterWorkerRequest(
            workflow_id=wf_id, hostname=socket.gethostname(), pid=os.getpid(),
            role="submitter", instance_id=uuid.uuid4().hex))
        worker_id = reg.worker_id
        failures = []
        beating = Heartbeat(client, worker_id, reg.heartbeat_interval or 5.0)
        try:
            claimed = client.call("ClaimAction", pb.ClaimActionRequest(
                workflow_id=wf_id, worker_id=worker_id, action_types=["schedule_nodes"]))
            if not claimed.actions:
                raise FailedPrecondition(
                    f"workflow {wf_id} has no pending schedule_nodes action; add an "
                    "on_workflow_start schedule_nodes action, or use `torc run` or "
                    "`torc-worker` to run it")
            for action in claimed.actions:
                ok, message = _execute(client, wf_id, worker_id, action, url, output_dir)
                if not ok:
                    failures.append(f"action {action.id}: {message}")
        finally:
            beating.stop()
            client.call("UnregisterWorker", pb.UnregisterWorkerRequest(worker_id=worker_id))
        allocations = [output.allocation_dict(a) for a in client.list_allocations(wf_id)]
    if fmt == "json":
        output.emit_json({"id": wf_id, "allocations": allocations, "errors": failures})
    else:
        output.table(f"workflow {wf_id}: Slurm allocations", allocations,
                     ["slurm_job_id", "scheduler", "num_nodes", "state", "submitted_at"])
    for f in failures:
        print(f"error: {f}", file=sys.stderr)
    return 1 if failures else 0


class Heartbeat:
    """Heartbeats for the submitter while it runs (sbatch may take minutes on a busy
    controller): a submitter that stopped beating is declared lost like any worker, and the
    actions it claimed are offered again."""

    def __init__(self, client: TorcClient, worker_id: int, interval: float) -> None:
        self._stop = threading.Event()
        self._interval = interval
        self._worker_id = worker_id
        self._call = client.stub.Heartbeat(self._beats(), metadata=client._metadata)
        self._thread = threading.Thread(target=self._drain, daemon=True)
        self._thread.start()

    def _beats(self) -> Iterator[pb.HeartbeatRequest]:
        while True:
            yield pb.HeartbeatRequest(worker_id=self._worker_id)
            if self._stop.wait(self._interval):
                return

    def _drain(self) -> None:
        try:
            for _ in self._call:
                pass
        except grpc.RpcError:
            pass  # the coordinator went away; the submitter's own calls will say so

    def stop(self) -> None:
        """End the stream."""
        self._stop.set()
        self._thread.join(timeout=10)


def _execute(client: TorcClient, wf_id: int, worker_id: int, action: pb.ClaimedAction,
             url: str, output_dir: Path) -> tuple[bool, str]:
    config = json.loads(action.config_json or "{}")

    def record(job_id: str, scheduler: dict[str, Any]) -> None:
        client.call("RecordAllocation", pb.RecordAllocationRequest(
            workflow_id=wf_id, worker_id=worker_id, action_id=action.id, slurm_job_id=job_id,
            scheduler=scheduler.get("name", ""), num_nodes=int(scheduler.get("nodes", 1))))

    start = time.time()
    try:
        message = schedule_nodes(wf_id, action.id, config, url, output_dir, record)
        ok = True
    except TorcError as e:
        ok, message = False, e.message
    client.call("ReportActionResult", pb.ReportActionResultRequest(
        workflow_id=wf_id, worker_id=worker_id, action_id=action.id,
        execution=pb.ActionExecution(worker_id=worker_id, start_time=start,
                                     end_time=time.time(), success=ok, message=message,
                                     run_id=action.run_id)))
    return ok, message


def add_commands(sub: Any) -> None:
    """``torc submit``, Torc's ``submit-slurm`` (submit with generated schedulers) and
    ``workflows submit`` (added to the workflows verbs, which exist by then)."""
    from torc.client.cli_slurm import add_generate_arguments
    from torc.client.parser_walk import verbs_of
    from torc.options import DEFAULT_OUTPUT_DIR

    def common(s: argparse.ArgumentParser) -> None:
        s.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR,
                       help="where the allocations' workers write (default: %(default)s)")
        s.add_argument("-i", "--ignore-missing-data", action="store_true",
                       help="do not check that input files exist")
        s.add_argument("--skip-checks", action="store_true",
                       help="accepted for Torc's scripts: nothing here to skip")
        s.set_defaults(func=None, submit_here=True)

    s = sub.add_parser("submit", help="create/initialize and submit Slurm allocations "
                                      "(runs the pending schedule_nodes actions)")
    s.add_argument("target", metavar="SPEC|ID")
    s.add_argument("--generate", action="store_true",
                   help="first add Slurm schedulers and actions to the spec (torc slurm "
                   "generate; the generated spec is saved in --output-dir)")
    add_generate_arguments(s)
    common(s)
    s = sub.add_parser("submit-slurm", help="submit a spec with generated Slurm schedulers "
                                            "(torc submit SPEC --generate)")
    s.add_argument("target", metavar="SPEC")
    add_generate_arguments(s)
    common(s)
    s.set_defaults(generate=True)
    s = verbs_of(sub, "workflows").add_parser(
        "submit", help="initialize if needed and submit its Slurm allocations (torc submit ID)")
    s.add_argument("target", nargs="?", metavar="ID", help="workflow id (default: your only "
                   "workflow; on a terminal, a picker)")
    s.add_argument("--force", action="store_true", dest="ignore_missing_data",
                   help="do not check that input files exist")
    s.add_argument("--output-dir", default=DEFAULT_OUTPUT_DIR)
    s.set_defaults(func=None, submit_here=True, ignore_missing_data=False)
