"""Client side: the typed gRPC client and the ``torc`` CLI."""

from torc.client.stub import ClientError, TorcClient

__all__ = ["ClientError", "TorcClient"]
