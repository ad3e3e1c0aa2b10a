"""One coordinator per output directory. Job stdio files are named by workflow, job, run and
attempt (``job_wf1_j4_r1_a1.o``, Torc's names), which another coordinator's workflow 1 has
too: two coordinators writing into one output directory would overwrite each other's logs
and append to one worker log. So the first worker to write there records its coordinator's
identity (``.torc-coordinator``), and a worker of another coordinator refuses to start there,
saying what to do."""

from __future__ import annotations

import json
import os
from pathlib import Path

from torc.errors import TorcError

MARKER = ".torc-coordinator"


class Taken(TorcError):
    """The output directory is another coordinator's."""


def claim(output_dir: Path, coordinator_id: str, url: str) -> str | None:
    """Record ``coordinator_id`` as the output directory's owner, or, when another
    coordinator owns it, why this worker must not write there (None: it may)."""
    if not coordinator_id:  # a coordinator from before identities: nothing to compare
        return None
    path = output_dir / MARKER
    try:
        owner = json.loads(path.read_text())
    except FileNotFoundError:
        owner = None
    except (OSError, ValueError):
        owner = {}  # unreadable: not ours to overwrite silently
    if owner is None:
        tmp = path.with_name(f"{MARKER}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"coordinator_id": coordinator_id, "url": url}) + "\n")
        os.replace(tmp, path)
        return None
    if owner.get("coordinator_id") == coordinator_id:
        return None
    return (f"{output_dir} holds the job logs of another coordinator "
            f"(id {owner.get('coordinator_id', '?')}, at {owner.get('url', '?')} when it "
            "wrote there): this one's jobs would overwrite its files of the same names. Give "
            f"another --output-dir, or remove {path} if those logs may be overwritten")
