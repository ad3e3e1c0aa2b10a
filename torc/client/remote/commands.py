"""What each ``torc remote`` verb does (its parser is ``remote/parser.py``): hosts recorded by
the coordinator (``UpdateRemoteWorkers``), workers started, watched, stopped and their logs
collected over SSH."""

from __future__ import annotations

import argparse
import io
import os
import tarfile
from pathlib import Path
from typing import Any

from torc import auth, hosts
from torc.arguments import split_command
from torc.client import output
from torc.client.remote import scripts
from torc.client.remote.ssh import Ssh, each, first_line
from torc.client.stub import TorcClient
from torc.errors import TorcError
from torc.hosts import Host
from torc.version import torc_version

LOOPBACK = ("127.0.0.1", "localhost", "::1", "[::1]")


def _ssh(a: argparse.Namespace) -> Ssh:
    config = a.ssh_config or os.environ.get("TORC_SSH_CONFIG")
    return Ssh(Path(config) if config else None)


def _hosts(c: TorcClient, wf_id: int) -> list[Host]:
    found = [hosts.parse(h) for h in c.list_remote_workers(wf_id)]
    if not found:
        raise TorcError(f"No workers configured for workflow {wf_id}. Use 'torc remote "
                        "add-workers' or '--workers' flag.")
    return found


def _listed(a: argparse.Namespace, title: str, hosts_now: list[str]) -> None:
    output.rows(a.format, title, [{"host": h} for h in hosts_now], ["host"], wrap="workers")


def cmd_add(c: TorcClient, a: argparse.Namespace) -> None:
    specs = hosts.check_list(a.workers)
    _listed(a, f"remote workers of workflow {a.id}", c.update_remote_workers(a.id, add=specs))


def _file_specs(worker_file: str) -> list[str]:
    """The hosts of a worker file, canonical; a TorcError naming the file (and line)."""
    path = Path(worker_file)
    try:
        text = path.read_text()
    except OSError as e:
        raise TorcError(f"{path}: {e.strerror}") from None
    return [h.spec for h in hosts.parse_file(text, str(path))]


def cmd_add_from_file(c: TorcClient, a: argparse.Namespace) -> None:
    specs = _file_specs(a.worker_file)
    _listed(a, f"remote workers of workflow {a.id}", c.update_remote_workers(a.id, add=specs))


def cmd_list(c: TorcClient, a: argparse.Namespace) -> None:
    _listed(a, f"remote workers of workflow {a.id}", c.list_remote_workers(a.id))


def cmd_remove(c: TorcClient, a: argparse.Namespace) -> None:
    spec = hosts.parse(a.worker, "worker").spec
    _listed(a, f"remote workers of workflow {a.id}", c.update_remote_workers(a.id,
                                                                            remove=[spec]))


def _worker_argv(c: TorcClient, a: argparse.Namespace) -> list[str]:
    argv = split_command(a.worker_command, "--worker-command")
    argv += ["--url", c.url, "--workflow-id", str(a.id), "--output-dir", a.output_dir]
    for flag, value in (("--num-cpus", a.num_cpus), ("--memory-gb", a.memory_gb),
                        ("--num-gpus", a.num_gpus), ("--max-parallel-jobs", a.max_parallel_jobs)):
        if value is not None:
            argv += [flag, str(value)]
    return argv


def cmd_run(c: TorcClient, a: argparse.Namespace) -> None:
    """Start the workers: version check, initialize if needed, then ``workers-per-host``
    detached workers on each host, the token through ssh's stdin."""
    from torc.client.run import prepare
    if a.workers:  # its hosts not recorded yet are added
        known = set(c.list_remote_workers(a.id))
        new = [h for h in _file_specs(a.workers) if h not in known]
        if new:
            c.update_remote_workers(a.id, add=new)
    targets = _hosts(c, a.id)
    ssh = _ssh(a)
    worker = _worker_argv(c, a)
    if not a.skip_version_check:
        mine = torc_version()

        def version(h: Host) -> str | None:
            p = ssh.run(h, scripts.version(split_command(a.worker_command,
                                                         "--worker-command")))
            if p.returncode != 0:
                return f"{h.spec}: {first_line(p)}"
            theirs = p.stdout.strip().split()[-1] if p.stdout.strip() else "?"
            return None if theirs == mine else f"{h.spec}: version mismatch: local={mine}, " \
                                               f"{h.host}={theirs}"
        bad = [x for x in each(targets, version, a.max_parallel_ssh) if x]
        if bad:
            raise TorcError(f"Version check failed on {len(bad)} worker(s):\n  "
                            + "\n  ".join(bad) + "\n(--skip-version-check to start anyway)")
    if c.url.rsplit(":", 1)[0] in LOOPBACK and any(h.host not in LOOPBACK for h in targets):
        output.console.print(f"[yellow]warning:[/] the workers will connect to {c.url}, "
                             "which on another machine is that machine: give --url with an "
                             "address the hosts can reach", highlight=False)
    prepare(c, str(a.id), None)  # initialized once, here; the hosts' workers only run it
    token = (auth.client_token() or "") + "\n"

    def start(h: Host) -> dict[str, Any]:
        p = ssh.run(h, scripts.start(a.output_dir, a.id, h, worker, a.workers_per_host),
                    stdin=token)
        pids = p.stdout.split()
        return {"host": h.spec, "pids": " ".join(pids) or None,
                "error": None if p.returncode == 0 else first_line(p)}
    rows = each(targets, start, a.max_parallel_ssh)
    output.rows(a.format, f"workers started for workflow {a.id}", rows,
                ["host", "pids", "error"], wrap="workers")
    if any(r["error"] for r in rows):
        raise TorcError(f"{sum(1 for r in rows if r['error'])} host(s) could not start "
                        "workers")


def cmd_status(c: TorcClient, a: argparse.Namespace) -> None:
    ssh = _ssh(a)

    def look(h: Host) -> dict[str, Any]:
        p = ssh.run(h, scripts.status(a.output_dir, a.id, h))
        lines = [x.split() for x in p.stdout.splitlines() if x.strip()]
        running = [pid for state, pid in lines if state == "running"]
        stopped = [pid for state, pid in lines if state == "stopped"]
        return {"host": h.spec, "running": len(running), "stopped": len(stopped),
                "pids": " ".join(running) or None,
                "error": None if p.returncode == 0 else first_line(p)}
    rows = each(_hosts(c, a.id), look, a.max_parallel_ssh)
    output.rows(a.format, f"remote workers of workflow {a.id}", rows,
                ["host", "running", "stopped", "pids", "error"], wrap="workers")


def cmd_stop(c: TorcClient, a: argparse.Namespace) -> None:
    ssh = _ssh(a)

    def stop(h: Host) -> dict[str, Any]:
        p = ssh.run(h, scripts.stop(a.output_dir, a.id, h, a.force))
        pids = [x.split()[1] for x in p.stdout.splitlines() if x.startswith("signaled")]
        return {"host": h.spec, "signaled": " ".join(pids) or None,
                "error": None if p.returncode == 0 else first_line(p)}
    rows = each(_hosts(c, a.id), stop, a.max_parallel_ssh)
    output.rows(a.format, f"{'killed' if a.force else 'stopped'}: workers of workflow {a.id}",
                rows, ["host", "signaled", "error"], wrap="workers")


def cmd_collect(c: TorcClient, a: argparse.Namespace) -> None:
    """Each host's output directory, as a tar stream over ssh, into ``<local>/<host>/``."""
    ssh, local = _ssh(a), Path(a.local_output_dir)

    def collect(h: Host) -> dict[str, Any]:
        buf = io.BytesIO()
        code = ssh.stream(h, scripts.archive(a.remote_output_dir), buf.write)
        if code != 0:
            return {"host": h.spec, "files": 0, "into": None,
                    "error": f"no {a.remote_output_dir} there, or ssh failed (exit {code})"}
        into = local / scripts.tag(h)
        into.mkdir(parents=True, exist_ok=True)
        buf.seek(0)
        with tarfile.open(fileobj=buf, mode="r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() or m.isdir()]
            tar.extractall(into, members=members, filter="data")
        deleted = False
        if a.delete:
            deleted = ssh.run(h, scripts.remove(a.remote_output_dir)).returncode == 0
        return {"host": h.spec, "files": sum(1 for m in members if m.isfile()),
                "into": str(into), "deleted": deleted, "error": None}
    rows = each(_hosts(c, a.id), collect, a.max_parallel_ssh)
    output.rows(a.format, f"logs of workflow {a.id}'s remote workers", rows,
                ["host", "files", "into", "error"], wrap="workers")


def cmd_delete_logs(c: TorcClient, a: argparse.Namespace) -> None:
    ssh = _ssh(a)

    def delete(h: Host) -> dict[str, Any]:
        p = ssh.run(h, scripts.remove(a.remote_output_dir))
        return {"host": h.spec, "deleted": p.returncode == 0,
                "error": None if p.returncode == 0 else first_line(p)}
    rows = each(_hosts(c, a.id), delete, a.max_parallel_ssh)
    output.rows(a.format, f"{a.remote_output_dir} deleted on workflow {a.id}'s remote workers",
                rows, ["host", "deleted", "error"], wrap="workers")
