"""Logging set-up shared by the three programs: Torc's level words (``error``, ``warn``,
``info``, ``debug``, ``trace``, and ``RUST_LOG``'s plain form), a log file beside stderr, and
JSON lines for log files that a collector reads (Torc's ``json_logs``)."""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from pathlib import Path

LEVELS = {"error": logging.ERROR, "warn": logging.WARNING, "warning": logging.WARNING,
          "info": logging.INFO, "debug": logging.DEBUG, "trace": logging.DEBUG,
          "critical": logging.CRITICAL, "off": logging.CRITICAL + 10}
FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def level(text: str) -> int:
    """A level word (any case) as a logging level; ValueError names the words."""
    try:
        return LEVELS[str(text).strip().lower()]
    except KeyError:
        raise ValueError(f"{text!r} is not a log level (error, warn, info, debug, "
                         "trace)") from None


def LOG_LEVEL(text: str) -> int:  # noqa: N802 - an argparse type, named like the others
    """``--log-level``'s type."""
    try:
        return level(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def from_environment(default: str = "info") -> str:
    """``RUST_LOG`` when it is a plain level (as Torc's programs read it), else ``default``;
    a filter such as ``torc=debug,h2=warn`` gives its first level."""
    rust = os.environ.get("RUST_LOG", "")
    for part in rust.split(","):
        word = part.rsplit("=", 1)[-1].strip().lower()
        if word in LEVELS:
            return word
    return default


class _JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {"time": self.formatTime(record), "level": record.levelname,
                 "logger": record.name, "message": record.getMessage()}
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry)


def configure(level_value: int | str, file: str | Path | None = None,
              json_lines: bool = False, stderr: bool = True) -> None:
    """Send logs at ``level_value`` and above to stderr and/or ``file`` (appended; JSON lines
    with ``json_lines``)."""
    numeric = level(level_value) if isinstance(level_value, str) else level_value
    handlers: list[logging.Handler] = []
    if stderr:
        handlers.append(logging.StreamHandler(sys.stderr))
        handlers[-1].setFormatter(logging.Formatter(FORMAT))
    if file is not None:
        Path(file).parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file)
        handler.setFormatter(_JsonLines() if json_lines else logging.Formatter(FORMAT))
        handlers.append(handler)
    logging.basicConfig(level=numeric, handlers=handlers, force=True)
    logging.getLogger("sh").setLevel(max(numeric, logging.WARNING))  # sh logs every command
