"""Defaults shared by the coordinator, the workers and the client, in one place (the config
file work fills them from files and the environment later)."""

from __future__ import annotations

import os

DEFAULT_URL = "127.0.0.1:50051"
# The largest gRPC message either side sends or accepts (a spec of millions of jobs is one).
MAX_MESSAGE_BYTES = 512 << 20
# Every job (and everything it starts) carries the worker's value of this variable, so the
# worker's watchdog can find what outlived it; Slurm jobs submitted by a worker must not.
JOB_MARKER = "TORC_WORKER_INSTANCE"


def default_url() -> str:
    """``TORC_URL`` or the default local coordinator."""
    return os.environ.get("TORC_URL") or DEFAULT_URL
