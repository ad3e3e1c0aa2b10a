"""``torc exec`` shows what its commands print while they run: the new lines of each job's
stdout and stderr files (``job_stdio/``, where the worker writes them), prefixed with the
job's name when there are several, as ``docker compose logs -f`` does. Polled with the
progress display; a line is printed once it is complete, and what is left at the end is
printed then.

Which files: those of the run being shown (``_r{run}_`` in the name), each from its start.
A job can finish before the display starts (the worker is told the workflow before it is
initialized), so "what exists when following starts" is no boundary: a size taken then
hid a fast job's whole output. Files of earlier runs are never shown; a file the worker
truncates (an attempt's file rewritten) is read again from its start."""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path

_NAME = re.compile(r"job_wf(\d+)_j(\d+)_r(\d+)_a\d+\.([oe])$")
CHUNK = 1 << 16  # read per file and poll: a chatty job cannot hold the display up


class StdioStream:
    """Follows the stdio files of one workflow's jobs in an output directory."""

    def __init__(self, output_dir: Path, wf_id: int, run_id: int, names: dict[int, str],
                 say: Callable[[str], None]) -> None:
        self.dir = output_dir / "job_stdio"
        self.wf_id, self.run_id, self.names, self.say = wf_id, run_id, names, say
        self.offsets: dict[Path, int] = {}
        self.partial: dict[Path, bytes] = {}

    def _files(self) -> list[Path]:
        try:
            return sorted(p for p in self.dir.iterdir() if (m := _NAME.match(p.name))
                          and int(m[1]) == self.wf_id and int(m[3]) == self.run_id)
        except OSError:
            return []

    def poll(self) -> None:
        """Print the complete lines written since the last poll."""
        for path in self._files():
            at = self.offsets.get(path, 0)
            try:
                with open(path, "rb") as f:
                    if os.fstat(f.fileno()).st_size < at:  # truncated: a new start
                        at = 0
                        self.partial.pop(path, None)
                    f.seek(at)
                    data = f.read(CHUNK)
            except OSError:
                continue
            if not data:
                continue
            self.offsets[path] = at + len(data)
            text = self.partial.pop(path, b"") + data
            *lines, rest = text.split(b"\n")
            if rest:
                self.partial[path] = rest
            for line in lines:
                self._show(path, line)

    def finish(self) -> None:
        """Print everything left, complete lines or not."""
        self.poll()
        for path, rest in sorted(self.partial.items()):
            self._show(path, rest)
        self.partial.clear()

    def _show(self, path: Path, line: bytes) -> None:
        m = _NAME.match(path.name)
        assert m is not None
        text = line.decode(errors="replace")
        if len(self.names) > 1:
            stream = " (stderr)" if m[4] == "e" else ""
            text = f"{self.names.get(int(m[2]), m[2])}{stream} | {text}"
        self.say(text)
