"""Torc's ``torc.openapi_client`` names, for scripts written for Torc's Python client: the
``DefaultApi`` (what ``make_api`` returns) and the models it takes, over torc-py's gRPC."""

from torc.client.torc_api.default_api import DefaultApi
from torc.client.torc_api.models import (
    FileModel,
    JobModel,
    JobsModel,
    ListResponse,
    ResourceRequirementsModel,
    SlurmSchedulerModel,
    UserDataModel,
    WorkflowModel,
)

__all__ = ["DefaultApi", "FileModel", "JobModel", "JobsModel", "ListResponse",
           "ResourceRequirementsModel", "SlurmSchedulerModel", "UserDataModel",
           "WorkflowModel"]
