"""``torc-coord serve``: recover the state, open the WAL, serve gRPC until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import logging
import os
import secrets
import signal
import ssl
import sys
import time
from pathlib import Path
from typing import Any, cast

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from torc import config_files, logs
from torc.arguments import PORT, POSITIVE, POSITIVE_INT, Number, check_parsed
from torc.auth import AuthInterceptor, default_token_file, ensure_token
from torc.config import MAX_MESSAGE_BYTES
from torc.errors import TorcError
from torc.exits import exit_now
from torc.logs import LOG_LEVEL
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc
from torc.server import heap
from torc.server.persistence.lock import DataDirLock, identity
from torc.server.persistence.recovery import recover
from torc.server.persistence.snapshotter import Snapshotter
from torc.server.persistence.wal import Wal
from torc.server.persistence.wal_format import CorruptWal
from torc.server.rpc.service import TorcService
from torc.server.rpc.watchers import watch_allocations, watch_workers
from torc.server.state.identity import USERS_FILE, Identities, add_user, read_users, remove_user

log = logging.getLogger("torc.coord")

DEFAULT_DATA_DIR = os.path.expanduser("~/.local/share/torc/coord")
# gRPC takes a message limit in bytes as a 32-bit int.
MESSAGE_MB = Number(int, 1, 2047, what="a size in MiB from 1 to 2047")
TORC_SERVICE = pb.DESCRIPTOR.services_by_name["Torc"].full_name


class Coordinator:
    """One running coordinator: store + WAL + gRPC server, in three phases.

    ``startup`` (lock the data directory, recover, open the WAL, listen), ``main_loop`` (serve
    until a signal or a WAL failure), ``shutdown`` (stop serving; flush and snapshot only when
    the log is intact: after a WAL failure the memory is ahead of the log and must not be
    written anywhere).
    """

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir = Path(args.data_dir)
        self.lock = DataDirLock(self.data_dir)
        self.stop = asyncio.Event()
        self.exit_code = 0
        # Names this life's snapshot parts apart from those of earlier lives (snapshot_parts).
        self.boot = secrets.token_hex(4)

    def _wal_failed(self, error: BaseException) -> None:
        log.critical("stopping: the write-ahead log failed (%s); nothing more can be "
                     "acknowledged, and the state in memory is not written anywhere", error)
        self.exit_code = 1
        asyncio.get_running_loop().create_task(self._not_serving())
        self.stop.set()

    async def _not_serving(self) -> None:
        for name in ("", TORC_SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.NOT_SERVING)

    async def startup(self) -> int:
        """Lock, recover and listen; returns 0, or the exit code of a failed start."""
        a = self.args
        try:
            # Owner-only, also when the directory existed: the WAL holds every command.
            self.data_dir.chmod(0o700)
            self.lock.acquire()
            heap.install()
            with heap.bulk():
                store, next_seq, figures = recover(self.data_dir)
            token = ensure_token(Path(a.token_file) if a.token_file else default_token_file())
            creds = load_tls(a.tls_cert, a.tls_key) if a.tls_cert else None
        except (CorruptWal, TorcError) as e:
            log.error("cannot start: %s", e)
            return 2
        log.info("recovered %d workflow(s) in %.2fs (%d WAL records replayed)",
                 len(store.workflows), figures["seconds"], figures["replayed"])
        now = time.time()
        for w in store.workers.values():
            w.last_heartbeat = now  # grace: workers reconnect after a coordinator restart
        self.wal = Wal(self.data_dir, next_seq, fsync=not a.no_fsync,
                       on_failure=self._wal_failed)
        self.wal.start()
        self.identities = Identities(token, getpass.getuser(), self.data_dir,
                                     frozenset(a.admin_users))
        self.service = TorcService(store, self.wal, self.identities,
                                   heartbeat_interval=a.heartbeat_interval,
                                   snapshot_every=a.snapshot_every)
        self.service.core.coordinator_id = identity(self.data_dir)
        self.snapshots = Snapshotter(self.data_dir, self.boot, self.wal, store,
                                     a.snapshot_cpu, a.snapshot_every)
        self.service.core.snapshot_hook = self.snapshots.snapshot
        self.server = grpc.aio.server(options=[
            ("grpc.max_receive_message_length", a.max_message_mb << 20),
            ("grpc.max_send_message_length", a.max_message_mb << 20),
            ("grpc.so_reuseport", 0),
        ], interceptors=[AuthInterceptor(self.identities.lookup)])
        pb_grpc.add_TorcServicer_to_server(self.service, self.server)
        # cast: the type stubs of grpc_health leave its asyncio servicer out.
        self.health = cast(Any, health).aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (TORC_SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), self.server)
        address = f"{a.host}:{a.port}"
        port = (self.server.add_secure_port(address, creds) if creds is not None
                else self.server.add_insecure_port(address))
        if port == 0:
            log.error("cannot start: cannot listen on %s", address)
            return 2
        await self.server.start()
        for name in ("", TORC_SERVICE):
            await self.health.set(name, health_pb2.HealthCheckResponse.SERVING)
        self.url = f"{a.host}:{port}"
        info = self.data_dir / "coordinator.json"
        info.write_text(json.dumps({"url": self.url, "pid": os.getpid()}))
        info.chmod(0o600)
        print(f"torc-coord listening on {self.url}", flush=True)
        log.info("listening on %s, data in %s", self.url, self.data_dir)
        return 0

    async def main_loop(self) -> None:
        """Serve until SIGTERM/SIGINT or a WAL failure."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.stop.set)
        self.watchers = [
            loop.create_task(watch_workers(self.service.core)),
            loop.create_task(watch_allocations(self.service.core,
                                              self.args.slurm_poll_interval))]
        await self.stop.wait()

    async def shutdown(self) -> None:
        """Stop serving; flush and snapshot when the log is intact."""
        log.info("shutting down")
        for w in self.watchers:
            w.cancel()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace=1.0)
        if self.wal.failed is None:
            await self.wal.sync()
            await self.snapshots.final()
        await self.wal.close()
        try:
            (self.data_dir / "coordinator.json").unlink()
        except OSError:
            pass
        self.lock.release()

    async def run(self) -> int:
        """All three phases; returns the exit code."""
        code = await self.startup()
        if code:
            return code
        await self.main_loop()
        await self.shutdown()
        return self.exit_code


def load_tls(cert: str, key: str) -> grpc.ServerCredentials:
    """Server credentials; a missing file or a key that does not match the certificate is a
    TorcError naming both files (gRPC itself would only say it cannot bind)."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
        return grpc.ssl_server_credentials([(Path(key).read_bytes(), Path(cert).read_bytes())])
    except (OSError, ssl.SSLError) as e:
        raise TorcError(f"TLS: cannot use certificate {cert} with key {key}: "
                        f"{getattr(e, 'reason', None) or e}") from None


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of torc-coord."""
    p = argparse.ArgumentParser(prog="torc-coord", description="torc coordinator")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the torc gRPC API")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=PORT, default=50051, help="0 picks a free port")
    s.add_argument("--data-dir", default=DEFAULT_DATA_DIR,
                   help="WAL and snapshots (default: %(default)s)")
    s.add_argument("--heartbeat-interval", type=POSITIVE, default=5.0,
                   help="seconds between worker heartbeats; a worker silent for 3 intervals "
                        "is declared lost")
    s.add_argument("--slurm-poll-interval", type=POSITIVE, default=10.0,
                   help="seconds between squeue checks of the workflows' Slurm allocations")
    s.add_argument("--snapshot-every", type=POSITIVE_INT, default=200_000,
                   help="WAL records between snapshots")
    s.add_argument("--snapshot-cpu", type=_share, default=0.25,
                   help="share of one CPU a snapshot taken while serving may use, above 0 "
                        "and at most 1 (default: %(default)s): more makes it sooner, less "
                        "keeps it further from claim latency")
    s.add_argument("--max-message-mb", type=MESSAGE_MB, default=MAX_MESSAGE_BYTES >> 20,
                   help="largest request accepted, in MiB")
    s.add_argument("--no-fsync", action="store_true",
                   help="do not fsync the WAL (faster; a machine crash can lose acked changes)")
    s.add_argument("--token-file", default=None,
                   help="the auth token (created on first start; default $TORC_TOKEN_FILE or "
                        "~/.torc/token)")
    s.add_argument("--tls-cert", help="serve TLS with this certificate (PEM); clients set "
                                      "TORC_TLS_CA to a CA that signed it")
    s.add_argument("--tls-key", help="the certificate's private key (PEM)")
    s.add_argument("--log-level", type=LOG_LEVEL, default=logs.from_environment("info"),
                   help="error, warn, info (default), debug, trace")
    s.add_argument("--log-dir", help="also log to torc-coord.log in this directory")
    s.add_argument("--json-logs", action="store_true", help="that file as JSON lines")
    s.add_argument("--admin-users", type=_names, default=[],
                   help="comma-separated users who are admins (beside those made --admin)")

    u = sub.add_parser("users", help="users of a shared coordinator and their tokens")
    usub = u.add_subparsers(dest="verb", required=True, metavar="VERB")
    for verb, text in (("add", "add a user (or give one a new token); prints the token"),
                       ("remove", "remove a user (its token stops working)"),
                       ("list", "list users")):
        s = usub.add_parser(verb, help=text)
        s.add_argument("--data-dir", default=DEFAULT_DATA_DIR)
        if verb != "list":
            s.add_argument("name")
        if verb == "add":
            s.add_argument("--admin", action="store_true",
                           help="may manage access groups and every workflow")
            s.add_argument("--output", help="write the token to this file (mode 0600) "
                                            "instead of printing it")
    return p


def users_command(args: argparse.Namespace) -> int:
    """``torc-coord users add|remove|list``; the coordinator picks changes up as they land."""
    data_dir = Path(args.data_dir)
    try:
        if args.verb == "add":
            token = add_user(data_dir, args.name, admin=args.admin)
            if args.output:
                fd = os.open(args.output, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w") as f:
                    f.write(token + "\n")
                print(f"user {args.name}: token written to {args.output}")
            else:
                print(token)
        elif args.verb == "remove":
            remove_user(data_dir, args.name)
        else:
            for name, u in sorted(read_users(data_dir / USERS_FILE).items()):
                print(f"{name}\t{'admin' if u.get('admin') else 'user'}")
    except TorcError as e:
        print(f"error: {e.message}", file=sys.stderr)
        return 1
    return 0


def _is_share(value: float) -> bool:
    """A share of one CPU: above 0, at most 1 (NaN is not)."""
    return 0 < value <= 1


def _names(text: str | list[str]) -> list[str]:
    """A comma-separated list of names (or the list a configuration file gave)."""
    items = text if isinstance(text, list) else str(text).split(",")
    return [str(x).strip() for x in items if str(x).strip()]


def _share(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = float("nan")
    if not _is_share(value):
        raise argparse.ArgumentTypeError(f"{text!r} is not a share above 0 and at most 1")
    return value


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``torc-coord``."""
    parser = build_parser()
    try:
        config_files.apply_defaults(parser, ("server", "server.logging"))
    except TorcError as e:
        print(f"error: {e.message}", file=sys.stderr)
        sys.exit(2)
    args = parser.parse_args(argv)
    if args.command == "users":
        sys.exit(users_command(args))
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    check_parsed(parser, args)
    if args.command == "serve" and not _is_share(args.snapshot_cpu):  # from a config file
        parser.error(f"snapshot_cpu {args.snapshot_cpu} (from a config file) is not a share "
                     "above 0 and at most 1")
    logs.configure(args.log_level, json_lines=args.json_logs,
                   file=Path(args.log_dir) / "torc-coord.log" if args.log_dir else None)
    # Owner-only: the WAL holds every command and its environment-bearing metadata.
    Path(args.data_dir).mkdir(mode=0o700, parents=True, exist_ok=True)
    # Everything is on disk and the lock released by then.
    exit_now(asyncio.run(Coordinator(args).run()), in_process=argv is not None)


if __name__ == "__main__":
    main()
