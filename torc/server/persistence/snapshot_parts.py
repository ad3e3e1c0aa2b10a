"""A snapshot's parts: what does not change between snapshots is written once, beside them.

A workflow's job specs change only with ``torc jobs update``, and its results only grow; yet
they are most of a snapshot (two thirds of the encoding of a fresh 2,000,000-job workflow,
and every result ever recorded in one under load). Encoding them again every time took seconds
of CPU in the snapshot child, and on a 2-core machine any busy process there, even at nice 19,
raised the coordinator's claim p99 from tens to hundreds of milliseconds.

So the job specs and each run of results are *parts*: files named once, written once and
never changed, which the snapshot names instead of holding. The parent names them before it
forks (``assign``: cheap bookkeeping on the workflow, reset by anything that changes what a
part holds); the child writes the named parts that are not on disk yet (``write_missing``);
loading reads them back (``resolve``). A name carries the coordinator's boot token and the
snapshot's sequence number, so a part can never be mistaken for one written by another life of
the coordinator (which may have logged different records under the same numbers before a
crash). Each state column set is a part of its own snapshot too, encoded with orjson (only
integers and None: many times faster than the json module).

Parts are written like snapshots: sealed (``sealed``: a checksum checked on load), to a
temporary file, fsync'ed, renamed, and the directory fsync'ed before the snapshot that names
them is renamed into place. Parts that the newest
snapshot does not name are removed after it lands (``collect``).
"""

from __future__ import annotations

import json
import os
import time
from operator import attrgetter
from pathlib import Path
from typing import Any

import orjson

from torc.server.persistence import sealed
from torc.server.persistence.wal import plain_json
from torc.server.persistence.wal_format import fsync_dir
from torc.server.state.job import SPARSE, STATE_FIELDS, spec_columns
from torc.server.state.store import Store
from torc.server.state.workflow import Workflow

PREFIX = "part-"
# Results are split off once this many have come since the last part: fewer would only make
# many small files, and the rest stay in the snapshot itself.
RESULTS_PER_PART = 20_000
CHUNK = 4 << 20


def assign(store: Store, boot: str, seq: int) -> None:
    """Name the parts the next snapshot (at ``seq``) needs and has no name for (the parent,
    before it forks)."""
    for wf in store.workflows.values():
        if wf.specs_part is None:
            wf.specs_part = f"{PREFIX}{wf.id}-specs-{boot}-{seq}.json"
        new = len(wf.results) - covered(wf)
        if new >= RESULTS_PER_PART:
            wf.results_parts.append([f"{PREFIX}{wf.id}-results-{boot}-{seq}.json", new])


def covered(wf: Workflow) -> int:
    """How many of a workflow's first results its results parts hold."""
    return sum(n for _, n in wf.results_parts)


def state_part(wf: Workflow, seq: int) -> str:
    """The name of a workflow's job state columns in the snapshot at ``seq``."""
    return f"{PREFIX}{wf.id}-state-{seq}.json"


class Pacer:
    """Holds the snapshot child to a share of one CPU: after each ~20 ms of work, a sleep.

    Under SCHED_IDLE the child takes only CPU time nobody wants, yet on a machine with few
    cores its work still slows the coordinator beside it: under load, claim p99 rose several
    times over while a snapshot ran. Held to a quarter of a CPU, a snapshot takes about four
    times as long and claims barely notice (the benchmarks page has the figures). ``share``
    1 (a clean stop's snapshot) never sleeps.
    """

    SLICE = 0.02

    def __init__(self, share: float = 1.0) -> None:
        self.share = share
        self.since = time.monotonic()

    def tick(self) -> None:
        """Called between small pieces of work (a few ms each)."""
        if self.share >= 1:
            return
        worked = time.monotonic() - self.since
        if worked >= self.SLICE:
            time.sleep(worked * (1 / self.share - 1))
            self.since = time.monotonic()


STEP = 10_000  # jobs or results per piece of work between the pacer's ticks


def write_missing(directory: Path, store: Store, seq: int, pacer: Pacer) -> None:
    """Write every part the snapshot at ``seq`` names that is not on disk yet (the child),
    and make their names durable before the snapshot naming them is."""
    for wf in store.workflows.values():
        assert wf.specs_part is not None, "assign() names every workflow's parts first"
        if not (directory / wf.specs_part).exists():
            write_file(directory / wf.specs_part, _specs(wf.jobs, pacer), pacer)
        at = 0
        for name, count in wf.results_parts:
            if not (directory / name).exists():
                write_file(directory / name, _results(wf.results[at:at + count], pacer), pacer)
            at += count
        # The state changes with every job: a new part each time (the name has the seq).
        write_file(directory / state_part(wf, seq), _state(wf.jobs, pacer), pacer)
    fsync_dir(directory)


def _state(jobs: list[Any], pacer: Pacer) -> bytes:
    """The jobs' state columns as a JSON object (integers and None only: orjson)."""
    fields = []
    for f in STATE_FIELDS:
        get, column = attrgetter(f), []
        for at in range(0, len(jobs), STEP):
            column += map(get, jobs[at:at + STEP])
            pacer.tick()
        fields.append(b'"%s":%s' % (f.encode(), orjson.dumps(column)))
        pacer.tick()
    return b"{" + b",".join(fields) + b"}"


def _results(results: list[Any], pacer: Pacer) -> bytes:
    """Results as a JSON list (json: a float may be NaN)."""
    return _list(results, pacer).encode()


def _specs(jobs: list[Any], pacer: Pacer) -> bytes:
    """The jobs' specs as ``job.spec_columns`` makes them, a piece at a time."""
    columns: dict[str, list[Any]] = {}
    for at in range(0, len(jobs), STEP):
        piece = spec_columns(jobs[at:at + STEP])
        for f, values in piece.items():
            if f in SPARSE:  # [index, value] pairs: indices within the piece
                values = [[i + at, v] for i, v in values]
            columns.setdefault(f, []).extend(values)
        pacer.tick()
    if not jobs:
        columns = spec_columns([])
    # The columns are plain (as CreateWorkflow.PLAIN_FIELDS says of the same columns in the
    # log): orjson encodes them several times faster than json.
    fields = [b"%s:%s" % (plain_json(f), _plain_list(values, pacer))
              for f, values in columns.items()]
    return b"{" + b",".join(fields) + b"}"


def _plain_list(values: list[Any], pacer: Pacer) -> bytes:
    """A list of plain values (strings, integers, booleans, None and lists of them) as JSON,
    a piece at a time; a value orjson refuses (an integer beyond 64 bits) goes through json.
    Faster than json with a dict per job, which the snapshot child paid for every job."""
    pieces = []
    for at in range(0, len(values), STEP):
        pieces.append(plain_json(values[at:at + STEP])[1:-1])
        pacer.tick()
    return b"[" + b",".join(p for p in pieces if p) + b"]"


def _list(values: list[Any], pacer: Pacer) -> str:
    """A list as JSON text, a piece at a time (json: a result's float may be NaN)."""
    pieces = []
    for at in range(0, len(values), STEP):
        pieces.append(json.dumps(values[at:at + STEP], separators=(",", ":"))[1:-1])
        pacer.tick()
    return f"[{','.join(p for p in pieces if p)}]"


def resolve(directory: Path, data: dict[str, Any]) -> None:
    """Read the parts a loaded snapshot names into it, in place (``codec.load_workflow`` then
    finds what an older snapshot held inline). Raises OSError or ValueError naming the part."""
    for d in data["store"]["workflows"]:
        if "specs_part" in d:
            d["job_specs"] = _read(directory / d["specs_part"], json.loads)
        if "state_part" in d:
            d["jobs"] = _read(directory / d["state_part"], orjson.loads)
        if d.get("results_parts"):
            results: list[Any] = []
            for name, count in d["results_parts"]:
                part = _read(directory / name, json.loads)
                if len(part) != count:
                    raise ValueError(f"{name}: {len(part)} results, the snapshot says {count}")
                results += part
            d["results"] = results + d["results"]


def named(data: dict[str, Any]) -> set[str]:
    """Every part a snapshot's data names."""
    out: set[str] = set()
    for d in data["store"]["workflows"]:
        out.update(p for p in (d.get("specs_part"), d.get("state_part")) if p)
        out.update(name for name, _ in d.get("results_parts", ()))
    return out


def collect(directory: Path, keep: set[str]) -> None:
    """Remove parts (and half-written ones) the newest snapshot does not name."""
    for p in directory.glob(f"{PREFIX}*"):
        if p.name not in keep:
            p.unlink(missing_ok=True)


def write_file(path: Path, data: bytes, pacer: Pacer | None = None) -> None:
    """Write ``data`` sealed to ``path`` atomically (a temporary file, fsync'ed, renamed); the
    caller fsyncs the directory."""
    os.replace(write_unplaced(path, data, pacer), path)


def write_unplaced(path: Path, data: bytes, pacer: Pacer | None = None) -> Path:
    """Write ``data`` sealed to the temporary file of ``path``, fsync'ed; returns it (the
    caller renames it into place when it may)."""
    tmp = path.with_suffix(".tmp")
    head = sealed.header(data, pacer.tick if pacer is not None else None)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.write(fd, head)
        # A little at a time, each piece made durable before the next: one fsync of hundreds
        # of MB makes every WAL fsync behind it wait, which is every answer (as Redis does
        # with its rewrites: incremental fsync).
        view = memoryview(data)
        for at in range(0, len(view), CHUNK):
            piece = view[at:at + CHUNK]
            while piece:
                piece = piece[os.write(fd, piece):]
            os.fsync(fd)
            if pacer is not None:
                pacer.tick()
        if not data:
            os.fsync(fd)
    finally:
        os.close(fd)
    return tmp


def _read(path: Path, loads: Any) -> Any:
    try:
        return loads(sealed.unseal(path.read_bytes()))
    except (OSError, ValueError) as e:
        raise ValueError(f"part {path.name}: {e}") from None
