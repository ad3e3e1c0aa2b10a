"""The snapshot child's rules (``torc/server/persistence/recovery.py``): forked from a coordinator
that runs gRPC's threads, it imports nothing, loads no library and logs nothing (each takes a
lock another thread may have held at the fork); it only encodes, writes files and exits."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

CHILD = r"""
import builtins, ctypes, logging, os, sys
from pathlib import Path

import grpc
from concurrent import futures

from torc.server.state import events as E
from torc.server.persistence.recovery import fork_snapshot, list_snapshots
from torc.server.state.store import Store

server = grpc.server(futures.ThreadPoolExecutor(2))  # gRPC's threads, as a coordinator has
server.add_insecure_port("127.0.0.1:0")
server.start()
store = Store()
spec = {"name": "w", "jobs": [{"name": f"j{i}", "command": "true"} for i in range(500)]}
from torc.spec.validate import normalize
store.apply(E.CreateWorkflow(1, normalize(spec), "me", 0.0))
store.apply(E.InitializeWorkflow(1, 0.0))

report_r, report_w = os.pipe()

def watch_the_child():
    real_import, real_cdll = builtins.__import__, ctypes.CDLL.__init__
    def imported(name, *args, **kwargs):
        if name not in sys.modules:
            os.write(report_w, f"import {name}\n".encode())
        return real_import(name, *args, **kwargs)
    def loaded(self, name, *args, **kwargs):
        os.write(report_w, f"dlopen {name}\n".encode())
        return real_cdll(self, name, *args, **kwargs)
    def logged(self, record):
        os.write(report_w, f"log {record.getMessage()}\n".encode())
    builtins.__import__ = imported
    ctypes.CDLL.__init__ = loaded
    logging.Logger.handle = logged

os.register_at_fork(after_in_child=watch_the_child)
directory = Path(sys.argv[1])
pid, go = fork_snapshot(directory, store, 7, "boot", idle=False)
os.write(go, b"1")
os.close(go)
_, status = os.waitpid(pid, 0)
os.close(report_w)
said = b""
while chunk := os.read(report_r, 4096):
    said += chunk
print("exit", os.waitstatus_to_exitcode(status))
print("snapshots", [s for s, _ in list_snapshots(directory)])
print("child:", said.decode().strip() or "nothing")
server.stop(0)
"""


def test_the_snapshot_child_imports_loads_and_locks_nothing(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, str(tmp_path)], capture_output=True,
                         text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert "exit 0" in lines, out.stdout + out.stderr
    assert "snapshots [7]" in lines, out.stdout
    assert "child: nothing" in lines, f"the snapshot child broke its rules: {out.stdout}"
