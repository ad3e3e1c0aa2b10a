"""What a ``TorcExecutor`` job runs: ``python -m torc.client.executor_job``. It reads its
calls (each a cloudpickle of function and arguments, with the calls whose results it takes)
from its input user data, calls them in order, and stores their outcomes as its output user
data: each value, or exception with its traceback (the job then fails). Outcomes past the
executor's inline limit go to a file, the user data saying where."""

from __future__ import annotations

import base64
import sys
import traceback
from pathlib import Path
from typing import Any

import cloudpickle

from torc.client.job_context import JobContext, context


class Ref:
    """An argument that is another call's result (its key)."""

    def __init__(self, key: str) -> None:
        self.key = key


def pack(obj: Any, limit: int, spill: Path, name: str) -> dict[str, Any]:
    """``obj`` as user data: inline (base64 cloudpickle) up to ``limit`` bytes, else a file."""
    return pack_bytes(cloudpickle.dumps(obj), limit, spill, name)


def pack_bytes(data: bytes, limit: int, spill: Path, name: str) -> dict[str, Any]:
    """A pickle as user data (see ``pack``)."""
    if len(data) <= limit:
        return {"pickle": base64.b64encode(data).decode()}
    spill.mkdir(parents=True, exist_ok=True)
    path = spill / f"{name}.pkl"
    path.write_bytes(data)
    return {"file": str(path), "bytes": len(data)}


def unpack(d: dict[str, Any]) -> Any:
    """What ``pack`` stored."""
    if "file" in d:
        return cloudpickle.loads(Path(d["file"]).read_bytes())
    return cloudpickle.loads(base64.b64decode(d["pickle"]))


def _resolve(value: Any, results: dict[str, Any]) -> Any:
    if isinstance(value, Ref):
        return results[value.key]
    if isinstance(value, (list, tuple)):
        return type(value)(_resolve(v, results) for v in value)
    if isinstance(value, dict):
        return {k: _resolve(v, results) for k, v in value.items()}
    return value


def _failure(e: BaseException, limit: int, spill: Path, key: str) -> dict[str, Any]:
    """The outcome of a call that raised: the exception (or its text, when it does not
    pickle) and the traceback, which also goes to the job's stderr."""
    text = traceback.format_exc()
    print(text, file=sys.stderr, end="")
    try:
        error = pack(e, limit, spill, f"{key}.error")
    except Exception:
        error = pack(RuntimeError(f"{type(e).__name__}: {e}"), limit, spill, f"{key}.error")
    return {"ok": False, "error": error, "traceback": text}


def _one(call: dict[str, Any], data: dict[str, Any], done: dict[str, Any], limit: int,
         spill: Path) -> dict[str, Any]:
    key = call["key"]
    try:  # a function whose module this job cannot import fails here: said as its outcome
        fn, args, kwargs = unpack(call["call"])
        results = {}
        for unit, need in call["needs"]:
            outcome = done.get(need) or ((data.get(f"out_{unit}") or {}).get("outcomes")
                                         or {}).get(need)
            if not outcome or not outcome.get("ok"):
                raise RuntimeError(f"the call whose result this one takes ({need}) failed")
            results[need] = unpack(outcome["value"])
        value = fn(*_resolve(args, results), **_resolve(kwargs, results))
    except BaseException as e:  # the caller's Future raises it
        return _failure(e, limit, spill, key)
    packed = pack(value, limit, spill, key)
    if "file" in packed:  # said in the job's stdout: where a large result went
        print(f"torc executor: result of call {key} ({packed['bytes']:,} bytes, past the "
              f"{limit:,}-byte inline limit) in {packed['file']}")
    return {"ok": True, "value": packed}


def run(ctx: JobContext) -> int:
    """Run the unit's calls in order, store every outcome; 1 when any call failed."""
    data = ctx.input_data()
    (unit,) = (k[3:] for k in data if k.startswith("in_"))
    spec = data[f"in_{unit}"]
    limit, spill = spec["limit"], Path(spec["spill"])
    outcomes: dict[str, Any] = {}
    for call in spec["calls"]:
        outcomes[call["key"]] = _one(call, data, outcomes, limit, spill)
    ctx.write_output({"outcomes": outcomes}, f"out_{unit}")
    return 0 if all(o["ok"] for o in outcomes.values()) else 1


def main() -> None:
    sys.exit(run(context()))


if __name__ == "__main__":
    # Run as the imported module, not as __main__: the calls' pickles name its Ref class.
    from torc.client import executor_job

    executor_job.main()
