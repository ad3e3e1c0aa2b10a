"""The coordinator the TUI talks to: one at a URL, or one it started itself (``--standalone``,
``S``), which it stops (``K``) and whose output it shows (``O``). Torc's TUI manages a
torc-server the same way."""

from __future__ import annotations

from pathlib import Path

from torc.client.local import listens
from torc.client.run import EmbeddedCoordinator


class Connection:
    """Where the coordinator is, and the one this TUI started, if any."""

    def __init__(self, url: str, data_dir: Path) -> None:
        self.url = url
        self.data_dir = data_dir  # where a coordinator started here keeps its data
        self.managed: EmbeddedCoordinator | None = None

    def start(self, port: int = 0) -> str:
        """Start a coordinator here (its data in ``data_dir``; ``port`` 0: a free one) and
        use it."""
        if self.running:
            return self.url
        self.managed = EmbeddedCoordinator(self.data_dir, port)
        self.url = self.managed.start()
        return self.url

    def stop(self) -> None:
        """Stop the coordinator this TUI started (nothing else)."""
        if self.managed is not None:
            self.managed.stop()

    @property
    def running(self) -> bool:
        """Whether the coordinator this TUI started still runs."""
        return (self.managed is not None and self.managed.proc is not None
                and self.managed.proc.poll() is None)

    def reachable(self) -> bool:
        """Whether something listens at the URL."""
        return listens(self.url)

    def indicator(self) -> str:
        """Torc's marks: ● a coordinator this TUI started and that runs, ○ one it started
        that has stopped, nothing for another's."""
        if self.managed is None:
            return ""
        return "[green]●[/]" if self.running else "[yellow]○[/]"

    def log(self) -> str:
        """What the coordinator started here wrote (its log)."""
        try:
            return (self.data_dir / "coordinator.log").read_text(errors="replace")[-1_000_000:]
        except OSError as e:
            return f"no output: {e.strerror}"
