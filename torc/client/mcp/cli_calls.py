"""A tool's work done by the ``torc`` CLI's own verb, in this process: the same client, the
same access rules (the caller's token) and the same JSON as ``torc -f json VERB``.

The CLI writes to ``sys.stdout``; over the stdio transport that is the protocol's channel,
so each call writes into a buffer of its own, one call at a time (tools may run in threads).
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
from typing import Any

from torc import logs

_ONE_AT_A_TIME = threading.Lock()


class ToolFailure(Exception):
    """The verb failed: its error message, for the assistant to read."""


def call(url: str, *argv: str) -> Any:
    """``torc --url URL -f json ARGV...``; its JSON (None when it printed nothing)."""
    from torc.client import cli
    out, err = io.StringIO(), io.StringIO()
    code: int | str | None = 0
    with _ONE_AT_A_TIME, contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            cli.main(["--url", url, "-f", "json", *argv])
        except SystemExit as e:
            code = e.code
        # The verb pointed logging at the buffer; point it back at the real stderr.
        logs.configure(logging.getLogger().level)
    if code not in (0, None):
        lines = [x for x in err.getvalue().splitlines() if x.strip()]
        message = next((x.removeprefix("error: ") for x in lines if x.startswith("error:")),
                       lines[-1] if lines else f"torc {' '.join(argv)} failed ({code})")
        raise ToolFailure(message)
    text = out.getvalue().strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return {"output": text}
