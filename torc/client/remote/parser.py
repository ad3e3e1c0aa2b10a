"""``torc remote``'s verbs and flags, as Torc has them (``add-workers``,
``add-workers-from-file``, ``list-workers``, ``remove-worker``, ``run``, ``status``, ``stop``,
``collect-logs``, ``delete-logs``). The verbs' code (ssh, tar) is imported only when one
runs: every ``torc`` command builds this parser."""

from __future__ import annotations

import argparse
from typing import Any

from torc.arguments import NON_NEGATIVE_INT, POSITIVE, POSITIVE_INT

REMOTE_OUTPUT_DIR = "torc_output"  # Torc's default, relative to the remote login directory


def _lazy(name: str) -> Any:
    def run(c: Any, a: argparse.Namespace) -> None:
        from torc.client.remote import commands
        getattr(commands, name)(c, a)
    return run


def _common(s: argparse.ArgumentParser) -> None:
    s.add_argument("--max-parallel-ssh", type=POSITIVE_INT, default=10,
                   help="SSH connections at once (default: %(default)s)")
    s.add_argument("--ssh-config", help="an ssh_config file (ssh -F; default: yours, or "
                                        "$TORC_SSH_CONFIG)")


def add_commands(sub: Any) -> None:
    """``torc remote ...``."""
    r = sub.add_parser("remote", help="workers started over SSH on machines without Slurm")
    rs = r.add_subparsers(dest="verb", required=True, metavar="VERB")
    s = rs.add_parser("add-workers", help="record hosts ([user@]host[:port]) for a workflow")
    s.add_argument("id", type=int)
    s.add_argument("workers", nargs="+", metavar="WORKER")
    s.set_defaults(func=_lazy("cmd_add"))
    s = rs.add_parser("add-workers-from-file", help="record the hosts of a worker file")
    s.add_argument("worker_file")
    s.add_argument("id", type=int, nargs="?")
    s.set_defaults(func=_lazy("cmd_add_from_file"))
    s = rs.add_parser("list-workers", help="the hosts recorded for a workflow")
    s.add_argument("id", type=int, nargs="?")
    s.set_defaults(func=_lazy("cmd_list"))
    s = rs.add_parser("remove-worker", help="forget a host")
    s.add_argument("worker")
    s.add_argument("id", type=int, nargs="?")
    s.set_defaults(func=_lazy("cmd_remove"))
    s = rs.add_parser("run", help="start workers on every recorded host")
    s.add_argument("id", type=int, nargs="?")
    s.add_argument("--workers", help="a worker file to add before starting")
    s.add_argument("-o", "--output-dir", default=REMOTE_OUTPUT_DIR,
                   help="output directory on the hosts (default: %(default)s)")
    s.add_argument("-p", "--poll-interval", type=POSITIVE,
                   help="Torc's flag: workers here wait on the coordinator, they do not poll")
    s.add_argument("--max-parallel-jobs", type=NON_NEGATIVE_INT)
    s.add_argument("--num-cpus", type=POSITIVE_INT)
    s.add_argument("--memory-gb", type=POSITIVE)
    s.add_argument("--num-gpus", type=NON_NEGATIVE_INT)
    s.add_argument("--skip-version-check", action="store_true")
    s.add_argument("--workers-per-host", type=POSITIVE_INT, default=1,
                   help="workers started on each host (default: %(default)s)")
    s.add_argument("--worker-command", default="torc-worker",
                   help="how the hosts start a worker (default: %(default)s on their PATH)")
    _common(s)
    s.set_defaults(func=_lazy("cmd_run"))
    s = rs.add_parser("status", help="which workers are still running, host by host")
    s.add_argument("id", type=int, nargs="?")
    s.add_argument("-o", "--output-dir", default=REMOTE_OUTPUT_DIR,
                   help="the output directory given to remote run")
    _common(s)
    s.set_defaults(func=_lazy("cmd_status"))
    s = rs.add_parser("stop", help="stop the workers (SIGTERM; --force: SIGKILL)")
    s.add_argument("id", type=int, nargs="?")
    s.add_argument("--force", action="store_true")
    s.add_argument("-o", "--output-dir", default=REMOTE_OUTPUT_DIR,
                   help="the output directory given to remote run")
    _common(s)
    s.set_defaults(func=_lazy("cmd_stop"))
    s = rs.add_parser("collect-logs", help="copy each host's output directory here")
    s.add_argument("id", type=int, nargs="?")
    s.add_argument("-l", "--local-output-dir", default="remote_logs")
    s.add_argument("--remote-output-dir", default=REMOTE_OUTPUT_DIR)
    s.add_argument("--delete", action="store_true",
                   help="delete the remote directory once copied")
    _common(s)
    s.set_defaults(func=_lazy("cmd_collect"))
    s = rs.add_parser("delete-logs", help="delete each host's output directory")
    s.add_argument("id", type=int, nargs="?")
    s.add_argument("--remote-output-dir", default=REMOTE_OUTPUT_DIR)
    _common(s)
    s.set_defaults(func=_lazy("cmd_delete_logs"))
