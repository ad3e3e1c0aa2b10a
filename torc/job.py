"""Job-side helpers: ``torc.job.context()`` inside a job (see torc.client.job_context)."""

from torc.client.job_context import JobContext, context

__all__ = ["JobContext", "context"]
