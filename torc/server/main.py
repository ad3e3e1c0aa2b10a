"""``torc-coord serve``: recover the state, open the WAL, serve gRPC until SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from torc.auth import AuthInterceptor, default_token_file, ensure_token
from torc.proto import torc_pb2 as pb
from torc.proto import torc_pb2_grpc as pb_grpc
from torc.server.recovery import fork_snapshot, recover
from torc.server.service import TorcService, watch_allocations
from torc.server.wal import CorruptWal, Wal

log = logging.getLogger("torc.coord")

MAX_MESSAGE_BYTES = 512 << 20


class Coordinator:
    """One running coordinator: store + WAL + gRPC server."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.data_dir = Path(args.data_dir)

    async def snapshot(self) -> None:
        """Write a snapshot of the current state and drop the WAL segments it covers."""
        wal, store = self.wal, self.service.store
        t0 = time.perf_counter()
        seq = wal.last_seq
        wal.request_rotation()
        wal.records_since_snapshot = 0
        wal.bytes_since_snapshot = 0
        pid = fork_snapshot(self.data_dir, store, seq)
        _, status = await asyncio.get_running_loop().run_in_executor(None, os.waitpid, pid, 0)
        if os.waitstatus_to_exitcode(status) != 0:
            log.error("snapshot at seq %d failed (child exit %d); the WAL is kept", seq,
                      os.waitstatus_to_exitcode(status))
            return
        removed = await wal.run_in_file_thread(wal.remove_segments_upto, seq)
        log.info("snapshot at seq %d in %.2fs, %d WAL segment(s) removed", seq,
                 time.perf_counter() - t0, removed)

    async def run(self) -> int:
        """Serve until a signal; returns the exit code."""
        a = self.args
        try:
            store, next_seq, figures = recover(self.data_dir)
        except CorruptWal as e:
            log.error("cannot start: %s", e)
            return 2
        log.info("recovered %d workflow(s) in %.2fs (%d WAL records replayed)",
                 len(store.workflows), figures["seconds"], figures["replayed"])
        now = time.time()
        for w in store.workers.values():
            w.last_heartbeat = now  # grace: workers reconnect after a coordinator restart
        self.wal = Wal(self.data_dir, next_seq, fsync=not a.no_fsync)
        self.wal.start()
        self.service = TorcService(store, self.wal, heartbeat_interval=a.heartbeat_interval,
                                   snapshot_every=a.snapshot_every)
        self.service.snapshot_hook = self.snapshot

        options = [
            ("grpc.max_receive_message_length", a.max_message_mb << 20),
            ("grpc.max_send_message_length", a.max_message_mb << 20),
            ("grpc.so_reuseport", 0),
        ]
        token = ensure_token(Path(a.token_file) if a.token_file else default_token_file())
        server = grpc.aio.server(options=options, interceptors=[AuthInterceptor(token)])
        pb_grpc.add_TorcServicer_to_server(self.service, server)
        health_servicer = health.aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        names = (pb.DESCRIPTOR.services_by_name["Torc"].full_name,
                 health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                 reflection.SERVICE_NAME)
        reflection.enable_server_reflection(names, server)
        if a.tls_cert:
            creds = grpc.ssl_server_credentials([(Path(a.tls_key).read_bytes(),
                                                  Path(a.tls_cert).read_bytes())])
            port = server.add_secure_port(f"{a.host}:{a.port}", creds)
        else:
            port = server.add_insecure_port(f"{a.host}:{a.port}")
        if port == 0:
            log.error("cannot listen on %s:%s", a.host, a.port)
            return 2
        await server.start()
        await health_servicer.set("", health_pb2.HealthCheckResponse.SERVING)
        await health_servicer.set(names[0], health_pb2.HealthCheckResponse.SERVING)
        url = f"{a.host}:{port}"
        info = {"url": url, "pid": os.getpid()}
        (self.data_dir / "coordinator.json").write_text(json.dumps(info))
        print(f"torc-coord listening on {url}", flush=True)
        log.info("listening on %s, data in %s", url, self.data_dir)

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        watchers = [loop.create_task(self.service.watch_workers()),
                    loop.create_task(watch_allocations(self.service, a.slurm_poll_interval))]
        await stop.wait()
        log.info("shutting down")
        for w in watchers:
            w.cancel()
        await health_servicer.enter_graceful_shutdown()
        await server.stop(grace=1.0)
        await self.wal.sync()
        await self.snapshot()
        await self.wal.close()
        try:
            (self.data_dir / "coordinator.json").unlink()
        except OSError:
            pass
        return 0


def build_parser() -> argparse.ArgumentParser:
    """Command-line interface of torc-coord."""
    p = argparse.ArgumentParser(prog="torc-coord", description="torc coordinator")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="serve the torc gRPC API")
    s.add_argument("--host", default="127.0.0.1")
    s.add_argument("--port", type=int, default=50051, help="0 picks a free port")
    s.add_argument("--data-dir", default=os.path.expanduser("~/.local/share/torc/coord"),
                   help="WAL and snapshots (default: %(default)s)")
    s.add_argument("--heartbeat-interval", type=float, default=5.0,
                   help="seconds between worker heartbeats; a worker silent for 3 intervals "
                        "is declared lost")
    s.add_argument("--slurm-poll-interval", type=float, default=10.0,
                   help="seconds between squeue checks of the workflows' Slurm allocations")
    s.add_argument("--snapshot-every", type=int, default=200_000,
                   help="WAL records between snapshots")
    s.add_argument("--max-message-mb", type=int, default=MAX_MESSAGE_BYTES >> 20,
                   help="largest request accepted, in MiB")
    s.add_argument("--no-fsync", action="store_true",
                   help="do not fsync the WAL (faster; a machine crash can lose acked changes)")
    s.add_argument("--token-file", default=None,
                   help="the auth token (created on first start; default $TORC_TOKEN_FILE or "
                        "~/.torc/token)")
    s.add_argument("--tls-cert", help="serve TLS with this certificate (PEM); clients set "
                                      "TORC_TLS_CA to a CA that signed it")
    s.add_argument("--tls-key", help="the certificate's private key (PEM)")
    s.add_argument("--log-level", default="INFO")
    return p


def main(argv: list[str] | None = None) -> None:
    """Entry point of ``torc-coord``."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    logging.basicConfig(level=args.log_level.upper(), stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("sh").setLevel(logging.WARNING)  # sh logs every command it starts
    Path(args.data_dir).mkdir(parents=True, exist_ok=True)
    sys.exit(asyncio.run(Coordinator(args).run()))


if __name__ == "__main__":
    main()
