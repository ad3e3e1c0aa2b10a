"""A workflow's results, kept column by column.

Every job run leaves a result that lives as long as its workflow: a 2,000,000-job workflow
holds 2,000,000 of them. As named tuples of a dozen fields each, they made the coordinator's
memory grow steadily under load once the workflow's own create had no freed memory left to
reuse. Here the fields every result has are machine numbers in arrays (nine eight-byte
numbers a result, its global id among them), and the rest (a message, resource figures),
which few results carry, sit in a dict by position.

``Results`` reads like the list of ``Result`` it replaces: ``len``, indexing (``[-1]``),
slices and iteration give ``Result`` tuples, built when read; ``record`` adds one.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator, Sequence
from typing import overload

from torc.server.state.ids import Counters
from torc.server.state.job import Result

_BASE = 8  # job_id .. worker_id: every result has them
_DEFAULT_EXTRA = tuple(Result._field_defaults[f] for f in Result._fields[_BASE:-1])
_STRIDE = 7  # the six integers above, then the result's global id


class Results:
    """The results of one workflow, in the order they were recorded."""

    __slots__ = ("_ints", "_times", "_extra")

    def __init__(self, rows: Iterable[Sequence] = ()) -> None:
        """``rows``: results, or lists of their fields as snapshots and exports hold them."""
        # job_id, run_id, attempt_id, return_code, status, worker_id, id: seven per result.
        self._ints = array("q")
        self._times = array("d")  # start_time, end_time
        self._extra: dict[int, tuple] = {}  # position -> message and figures, when set
        n = len(Result._fields) - 1
        for row in rows:
            self.record(*row[:n], rid=row[n] if len(row) > n else 0)

    def record(self, job_id: int, run_id: int, attempt_id: int, return_code: int, status: int,
               start_time: float, end_time: float, worker_id: int, *extra: object,
               rid: int = 0) -> None:
        """Record one result from its fields (``Result``'s, in order, its global id as
        ``rid``), with no tuple made."""
        self._ints.extend((job_id, run_id, attempt_id, return_code, status, worker_id, rid))
        self._times.append(start_time)
        self._times.append(end_time)
        if extra and (extra[0] or any(v is not None for v in extra[1:])):
            self._extra[len(self._times) // 2 - 1] = extra + _DEFAULT_EXTRA[len(extra):]

    def __len__(self) -> int:
        return len(self._times) // 2

    def _one(self, i: int) -> Result:
        n, t = _STRIDE * i, 2 * i
        a = self._ints
        message, peak_mem, avg_mem, peak_cpu, avg_cpu = self._extra.get(i, _DEFAULT_EXTRA)
        return Result(a[n], a[n + 1], a[n + 2], a[n + 3], a[n + 4], self._times[t],
                      self._times[t + 1], a[n + 5], message, peak_mem, avg_mem, peak_cpu,
                      avg_cpu, a[n + 6])

    def number(self, counters: Counters) -> None:
        """Give every result without a global id (from an older snapshot, or imported) the
        next ones, in order."""
        a = self._ints
        for n in range(_STRIDE - 1, len(a), _STRIDE):
            if not a[n]:
                a[n] = counters.take_result()

    def find(self, rid: int) -> int | None:
        """The position of the result with global id ``rid`` (ids grow with position)."""
        lo, hi, a = 0, len(self), self._ints
        while lo < hi:
            mid = (lo + hi) // 2
            if a[_STRIDE * mid + _STRIDE - 1] < rid:
                lo = mid + 1
            else:
                hi = mid
        return lo if lo < len(self) and a[_STRIDE * lo + _STRIDE - 1] == rid else None

    @overload
    def __getitem__(self, i: int) -> Result: ...

    @overload
    def __getitem__(self, i: slice) -> list[Result]: ...

    def __getitem__(self, i: int | slice) -> Result | list[Result]:
        if isinstance(i, slice):
            return [self._one(k) for k in range(*i.indices(len(self)))]
        n = len(self)
        if i < 0:
            i += n
        if not 0 <= i < n:
            raise IndexError("result index out of range")
        return self._one(i)

    def __iter__(self) -> Iterator[Result]:
        return (self._one(k) for k in range(len(self)))

    def __reversed__(self) -> Iterator[Result]:
        return (self._one(k) for k in range(len(self) - 1, -1, -1))

    def __repr__(self) -> str:
        return f"Results({len(self)} results)"
