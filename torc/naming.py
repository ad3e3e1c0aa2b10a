"""Job name patterns, shared by the coordinator's grouped graph, the dashboard and the TUI:
a parameter sweep's jobs (``work_17``, ``work_203``) share one pattern (``work_*``)."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\d+")


def name_pattern(name: str) -> str:
    """The name with each run of digits as ``*``."""
    return _DIGITS.sub("*", name)
