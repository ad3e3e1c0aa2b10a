"""Errors shared by the coordinator, the client and the spec loader.

Each carries the name of the gRPC status code it maps to, so the service can answer a client's
mistake with the right code and the CLI can print it as one line.
"""

from __future__ import annotations


class TorcError(Exception):
    """An error a user can act on; ``code`` is a gRPC status code name."""

    code = "FAILED_PRECONDITION"

    def __init__(self, message: str, code: str | None = None) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code

    @property
    def message(self) -> str:
        """The one-line description of the problem."""
        return str(self.args[0])


class InvalidArgument(TorcError):
    """The request (or spec) is malformed."""

    code = "INVALID_ARGUMENT"


class NotFound(TorcError):
    """A workflow, job, action or worker id that does not exist."""

    code = "NOT_FOUND"


class FailedPrecondition(TorcError):
    """The request is well-formed but illegal in the current state."""

    code = "FAILED_PRECONDITION"


class SpecError(InvalidArgument):
    """A workflow spec is invalid; the message names the file and the key or job."""
