"""How torc's programs end once their work is done."""

from __future__ import annotations

import logging
import os
import sys


def exit_now(code: int, in_process: bool) -> None:
    """Exit with ``code`` once everything is said, written and stopped, without tearing the
    interpreter down: that clean-up (gRPC's threads, every module, a coordinator's store of
    every job) only kept whoever waits for the process waiting, a tenth of a second of each
    ``torc run``. Called from Python (``main(argv)``, ``in_process``), it raises SystemExit
    as before, for the caller to catch."""
    if in_process:
        sys.exit(code)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
