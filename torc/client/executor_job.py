"""What a ``TorcExecutor`` call's job runs: ``python -m torc.client.executor_job``. It reads
the call (a cloudpickle of function, arguments, and the calls whose results it takes) from
its input user data, calls it, and stores the outcome as its output user data: the value, or
the exception with its traceback (the job then fails). Outcomes past the executor's inline
limit go to a file, the user data saying where."""

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
    data = cloudpickle.dumps(obj)
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


def _failed(ctx: JobContext, call: dict[str, Any], e: BaseException) -> int:
    """Store the exception (and its traceback) as the call's outcome; the job fails."""
    text = traceback.format_exc()
    print(text, file=sys.stderr, end="")
    spill, limit, key = Path(call["spill"]), call["limit"], call["key"]
    try:
        error = pack(e, limit, spill, f"{key}.error")
    except Exception:  # an exception that does not pickle: its text goes instead
        error = pack(RuntimeError(f"{type(e).__name__}: {e}"), limit, spill, f"{key}.error")
    ctx.write_output({"ok": False, "error": error, "traceback": text}, f"out_{key}")
    return 1


def run(ctx: JobContext) -> int:
    data = ctx.input_data()
    (call,) = (v for k, v in data.items() if k.startswith("in_"))
    try:  # a function whose module this job cannot import fails here: said as its outcome
        fn, args, kwargs = unpack(call["call"])
        results = {}
        for key in call.get("needs", []):
            outcome = data[f"out_{key}"]
            if not outcome or not outcome.get("ok"):
                raise RuntimeError(f"the call whose result this one takes ({key}) failed")
            results[key] = unpack(outcome["value"])
        value = fn(*_resolve(args, results), **_resolve(kwargs, results))
    except BaseException as e:  # the caller's Future raises it
        return _failed(ctx, call, e)
    key = call["key"]
    packed = pack(value, call["limit"], Path(call["spill"]), key)
    if "file" in packed:  # said in the job's stdout: where a large result went
        print(f"torc executor: result of call {key} ({packed['bytes']:,} bytes, past the "
              f"{call['limit']:,}-byte inline limit) in {packed['file']}")
    ctx.write_output({"ok": True, "value": packed}, f"out_{key}")
    return 0


def main() -> None:
    sys.exit(run(context()))


if __name__ == "__main__":
    # Run as the imported module, not as __main__: the calls' pickles name its Ref class.
    from torc.client import executor_job

    executor_job.main()
