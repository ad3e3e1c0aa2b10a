"""What a ``TorcExecutor`` sends: each call pickled and keyed (the hash of its function and
arguments: the same call is the same key in every run of a script), and units, the jobs that
run one call or, with ``map(chunksize=...)``, several in one process."""

from __future__ import annotations

import hashlib
import shlex
import sys
import sysconfig
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import cloudpickle

from torc.client.executor_job import Ref, pack_bytes
from torc.errors import TorcError


@dataclass
class Call:
    """One call, ready to send: ``needs`` are the keys of calls whose results it takes."""

    fn: Any
    args: tuple
    kwargs: dict[str, Any]
    key: str
    needs: list[str] = field(default_factory=list)
    payload: bytes = b""  # its cloudpickle, made once


def prepare(fn: Any, args: tuple, kwargs: dict[str, Any], is_future: Any) -> Call:
    """The call with futures among its arguments (``is_future``; any depth of lists, tuples
    and dicts) as Refs, keyed; TorcError naming what cannot be sent."""
    _by_value(fn)
    needs: list[str] = []
    args, kwargs = _refs(args, needs, is_future), _refs(kwargs, needs, is_future)
    payload = _pickled(fn, args, kwargs)
    return Call(fn, args, kwargs, hashlib.sha256(payload).hexdigest()[:20], needs, payload)


def unit_key(calls: list[Call]) -> str:
    """A unit's key: its call's, or the hash of its calls' keys."""
    if len(calls) == 1:
        return calls[0].key
    return hashlib.sha256(" ".join(c.key for c in calls).encode()).hexdigest()[:20]


def unit_name(calls: list[Call]) -> str:
    """The job's name: its function's and its key (``square_1f3a...``)."""
    fn = getattr(calls[0].fn, "__name__", "call")
    return f"{fn}_{unit_key(calls)}".replace("<", "").replace(">", "")


def unit(calls: list[Call], unit_of: dict[str, str], limit: int, spill: Path,
         scheduler: str | None, rr: str | None) -> tuple[dict[str, Any], dict[str, Any]]:
    """The input user data entry and the job of a unit of calls."""
    key = unit_key(calls)
    needed = sorted({unit_of[n] for c in calls for n in c.needs} - {key})
    data = {"limit": limit, "spill": str(spill), "calls": [
        {"key": c.key, "needs": [[unit_of[n], n] for n in c.needs],
         "call": pack_bytes(c.payload, limit, spill, c.key)} for c in calls]}
    job: dict[str, Any] = {
        "name": unit_name(calls),
        "command": f"{shlex.quote(sys.executable)} -m torc.client.executor_job",
        "input_user_data": [f"in_{key}", *(f"out_{u}" for u in needed)],
        "output_user_data": [f"out_{key}"], "retry_on_worker_loss": 2,
        # A call whose input failed says so as its own outcome: its job runs anyway.
        "cancel_on_blocking_job_failure": False}
    if scheduler:
        job["scheduler"] = scheduler
    if rr:
        job["resource_requirements"] = rr
    return {"name": f"in_{key}", "data": data}, job


def _pickled(fn: Any, args: tuple, kwargs: dict[str, Any]) -> bytes:
    """The call as cloudpickle; TorcError naming the function or argument that is not
    serializable (a lock, an open file, a generator...)."""
    try:
        return cloudpickle.dumps((fn, args, kwargs))
    except Exception as e:
        name = getattr(fn, "__name__", repr(fn))
        parts = [("the function", fn), *((f"argument {i}", a) for i, a in enumerate(args)),
                 *((f"argument {k!r}", v) for k, v in kwargs.items())]
        for what, value in parts:
            try:
                cloudpickle.dumps(value)
            except Exception as inner:
                raise TorcError(f"{name}: {what} ({type(value).__name__}) cannot be sent to a "
                                f"job: {inner}") from None
        raise TorcError(f"{name}: the call cannot be sent to a job: {e}") from None


def _by_value(fn: Any) -> None:
    """Pickle the function's module by value unless it is installed (the standard library,
    site-packages): a job runs elsewhere, where a script's or a test's modules may not
    import; installed ones do, on the same cluster."""
    module = sys.modules.get(getattr(fn, "__module__", None) or "")
    path = getattr(module, "__file__", None)
    if module is None or path is None or module.__name__ == "__main__":
        return
    installed = (sys.prefix, sys.base_prefix, *sysconfig.get_paths().values())
    if not any(str(Path(path).resolve()).startswith(str(Path(p).resolve()))
               for p in installed):
        cloudpickle.register_pickle_by_value(module)


def _refs(value: Any, needs: list[str], is_future: Any) -> Any:
    """``value`` with each future as a Ref to its call (noted in ``needs``)."""
    if is_future(value):
        needs.append(value.key)
        return Ref(value.key)
    if isinstance(value, (list, tuple)):
        return type(value)(_refs(v, needs, is_future) for v in value)
    if isinstance(value, dict):
        return {k: _refs(v, needs, is_future) for k, v in value.items()}
    return value
