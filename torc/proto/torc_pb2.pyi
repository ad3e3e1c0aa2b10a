from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class JobStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    JOB_STATUS_UNSPECIFIED: _ClassVar[JobStatus]
    UNINITIALIZED: _ClassVar[JobStatus]
    BLOCKED: _ClassVar[JobStatus]
    READY: _ClassVar[JobStatus]
    PENDING: _ClassVar[JobStatus]
    RUNNING: _ClassVar[JobStatus]
    COMPLETED: _ClassVar[JobStatus]
    FAILED: _ClassVar[JobStatus]
    CANCELED: _ClassVar[JobStatus]
    TERMINATED: _ClassVar[JobStatus]
    DISABLED: _ClassVar[JobStatus]
    PENDING_FAILED: _ClassVar[JobStatus]

class ReportKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REPORT_KIND_UNSPECIFIED: _ClassVar[ReportKind]
    STARTED: _ClassVar[ReportKind]
    FINISHED: _ClassVar[ReportKind]
    RELEASED: _ClassVar[ReportKind]
JOB_STATUS_UNSPECIFIED: JobStatus
UNINITIALIZED: JobStatus
BLOCKED: JobStatus
READY: JobStatus
PENDING: JobStatus
RUNNING: JobStatus
COMPLETED: JobStatus
FAILED: JobStatus
CANCELED: JobStatus
TERMINATED: JobStatus
DISABLED: JobStatus
PENDING_FAILED: JobStatus
REPORT_KIND_UNSPECIFIED: ReportKind
STARTED: ReportKind
FINISHED: ReportKind
RELEASED: ReportKind

class UserData(_message.Message):
    __slots__ = ("id", "name", "data_json", "is_ephemeral")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    IS_EPHEMERAL_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    data_json: str
    is_ephemeral: bool
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., data_json: _Optional[str] = ..., is_ephemeral: _Optional[bool] = ...) -> None: ...

class PageRequest(_message.Message):
    __slots__ = ("workflow_id", "offset", "limit")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    offset: int
    limit: int
    def __init__(self, workflow_id: _Optional[int] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ...) -> None: ...

class ListUserDataResponse(_message.Message):
    __slots__ = ("user_data", "total")
    USER_DATA_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    user_data: _containers.RepeatedCompositeFieldContainer[UserData]
    total: int
    def __init__(self, user_data: _Optional[_Iterable[_Union[UserData, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class UserDataRef(_message.Message):
    __slots__ = ("workflow_id", "user_data_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    user_data_id: int
    def __init__(self, workflow_id: _Optional[int] = ..., user_data_id: _Optional[int] = ...) -> None: ...

class UpdateUserDataRequest(_message.Message):
    __slots__ = ("workflow_id", "user_data_id", "data_json")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_ID_FIELD_NUMBER: _ClassVar[int]
    DATA_JSON_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    user_data_id: int
    data_json: str
    def __init__(self, workflow_id: _Optional[int] = ..., user_data_id: _Optional[int] = ..., data_json: _Optional[str] = ...) -> None: ...

class LocateRequest(_message.Message):
    __slots__ = ("kind", "id")
    KIND_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    kind: str
    id: int
    def __init__(self, kind: _Optional[str] = ..., id: _Optional[int] = ...) -> None: ...

class FileInfo(_message.Message):
    __slots__ = ("id", "name", "path", "required", "mtime")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PATH_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_FIELD_NUMBER: _ClassVar[int]
    MTIME_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    path: str
    required: bool
    mtime: float
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., path: _Optional[str] = ..., required: _Optional[bool] = ..., mtime: _Optional[float] = ...) -> None: ...

class ListFilesResponse(_message.Message):
    __slots__ = ("files", "total")
    FILES_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    files: _containers.RepeatedCompositeFieldContainer[FileInfo]
    total: int
    def __init__(self, files: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class Identity(_message.Message):
    __slots__ = ("user", "admin", "multi_user")
    USER_FIELD_NUMBER: _ClassVar[int]
    ADMIN_FIELD_NUMBER: _ClassVar[int]
    MULTI_USER_FIELD_NUMBER: _ClassVar[int]
    user: str
    admin: bool
    multi_user: bool
    def __init__(self, user: _Optional[str] = ..., admin: _Optional[bool] = ..., multi_user: _Optional[bool] = ...) -> None: ...

class GroupMember(_message.Message):
    __slots__ = ("user", "role")
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    user: str
    role: str
    def __init__(self, user: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class AccessGroup(_message.Message):
    __slots__ = ("id", "name", "description", "created_at", "members", "workflow_ids")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    MEMBERS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_IDS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    description: str
    created_at: float
    members: _containers.RepeatedCompositeFieldContainer[GroupMember]
    workflow_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., created_at: _Optional[float] = ..., members: _Optional[_Iterable[_Union[GroupMember, _Mapping]]] = ..., workflow_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class CreateAccessGroupRequest(_message.Message):
    __slots__ = ("name", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ...) -> None: ...

class AccessGroupRef(_message.Message):
    __slots__ = ("group_id",)
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: int
    def __init__(self, group_id: _Optional[int] = ...) -> None: ...

class ListAccessGroupsRequest(_message.Message):
    __slots__ = ("user", "workflow_id")
    USER_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    user: str
    workflow_id: int
    def __init__(self, user: _Optional[str] = ..., workflow_id: _Optional[int] = ...) -> None: ...

class ListAccessGroupsResponse(_message.Message):
    __slots__ = ("groups",)
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    groups: _containers.RepeatedCompositeFieldContainer[AccessGroup]
    def __init__(self, groups: _Optional[_Iterable[_Union[AccessGroup, _Mapping]]] = ...) -> None: ...

class GroupMembershipRequest(_message.Message):
    __slots__ = ("group_id", "user", "role")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    group_id: int
    user: str
    role: str
    def __init__(self, group_id: _Optional[int] = ..., user: _Optional[str] = ..., role: _Optional[str] = ...) -> None: ...

class GroupWorkflowRequest(_message.Message):
    __slots__ = ("group_id", "workflow_id")
    GROUP_ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    group_id: int
    workflow_id: int
    def __init__(self, group_id: _Optional[int] = ..., workflow_id: _Optional[int] = ...) -> None: ...

class Empty(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class InitializeRequest(_message.Message):
    __slots__ = ("workflow_id", "file_mtimes", "files_checked")
    class FileMtimesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: float
        def __init__(self, key: _Optional[int] = ..., value: _Optional[float] = ...) -> None: ...
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    FILE_MTIMES_FIELD_NUMBER: _ClassVar[int]
    FILES_CHECKED_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    file_mtimes: _containers.ScalarMap[int, float]
    files_checked: bool
    def __init__(self, workflow_id: _Optional[int] = ..., file_mtimes: _Optional[_Mapping[int, float]] = ..., files_checked: _Optional[bool] = ...) -> None: ...

class ReinitializePlan(_message.Message):
    __slots__ = ("job_ids", "reasons")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    REASONS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    reasons: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, job_ids: _Optional[_Iterable[int]] = ..., reasons: _Optional[_Iterable[str]] = ...) -> None: ...

class UpdateJobRequest(_message.Message):
    __slots__ = ("workflow_id", "job_id", "priority", "resource_requirements", "num_cpus", "memory_bytes", "num_gpus", "num_nodes", "runtime_seconds", "command")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    NUM_CPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NUM_GPUS_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    job_id: int
    priority: int
    resource_requirements: str
    num_cpus: int
    memory_bytes: int
    num_gpus: int
    num_nodes: int
    runtime_seconds: float
    command: str
    def __init__(self, workflow_id: _Optional[int] = ..., job_id: _Optional[int] = ..., priority: _Optional[int] = ..., resource_requirements: _Optional[str] = ..., num_cpus: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., num_gpus: _Optional[int] = ..., num_nodes: _Optional[int] = ..., runtime_seconds: _Optional[float] = ..., command: _Optional[str] = ...) -> None: ...

class FailPendingJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "job_ids")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, workflow_id: _Optional[int] = ..., job_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class CancelJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "job_ids", "terminate")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    TERMINATE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    terminate: bool
    def __init__(self, workflow_id: _Optional[int] = ..., job_ids: _Optional[_Iterable[int]] = ..., terminate: _Optional[bool] = ...) -> None: ...

class WorkflowRef(_message.Message):
    __slots__ = ("workflow_id",)
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    def __init__(self, workflow_id: _Optional[int] = ...) -> None: ...

class CreateWorkflowRequest(_message.Message):
    __slots__ = ("spec_json", "source")
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    spec_json: str
    source: str
    def __init__(self, spec_json: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class Workflow(_message.Message):
    __slots__ = ("id", "name", "description", "project", "num_jobs", "run_id", "initialized", "canceled", "complete", "created_at", "metadata_json", "user", "slurm_schedulers_json", "archived")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    PROJECT_FIELD_NUMBER: _ClassVar[int]
    NUM_JOBS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    INITIALIZED_FIELD_NUMBER: _ClassVar[int]
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    METADATA_JSON_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    SLURM_SCHEDULERS_JSON_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    description: str
    project: str
    num_jobs: int
    run_id: int
    initialized: bool
    canceled: bool
    complete: bool
    created_at: float
    metadata_json: str
    user: str
    slurm_schedulers_json: str
    archived: bool
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., description: _Optional[str] = ..., project: _Optional[str] = ..., num_jobs: _Optional[int] = ..., run_id: _Optional[int] = ..., initialized: _Optional[bool] = ..., canceled: _Optional[bool] = ..., complete: _Optional[bool] = ..., created_at: _Optional[float] = ..., metadata_json: _Optional[str] = ..., user: _Optional[str] = ..., slurm_schedulers_json: _Optional[str] = ..., archived: _Optional[bool] = ...) -> None: ...

class ListWorkflowsRequest(_message.Message):
    __slots__ = ("offset", "limit", "user", "all")
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    USER_FIELD_NUMBER: _ClassVar[int]
    ALL_FIELD_NUMBER: _ClassVar[int]
    offset: int
    limit: int
    user: str
    all: bool
    def __init__(self, offset: _Optional[int] = ..., limit: _Optional[int] = ..., user: _Optional[str] = ..., all: _Optional[bool] = ...) -> None: ...

class ExportedWorkflow(_message.Message):
    __slots__ = ("document_json",)
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    document_json: str
    def __init__(self, document_json: _Optional[str] = ...) -> None: ...

class AddToWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id", "addition_json", "source")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    ADDITION_JSON_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    addition_json: str
    source: str
    def __init__(self, workflow_id: _Optional[int] = ..., addition_json: _Optional[str] = ..., source: _Optional[str] = ...) -> None: ...

class AddedToWorkflow(_message.Message):
    __slots__ = ("job_ids", "file_ids", "user_data_ids")
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    FILE_IDS_FIELD_NUMBER: _ClassVar[int]
    USER_DATA_IDS_FIELD_NUMBER: _ClassVar[int]
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    file_ids: _containers.RepeatedScalarFieldContainer[int]
    user_data_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, job_ids: _Optional[_Iterable[int]] = ..., file_ids: _Optional[_Iterable[int]] = ..., user_data_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class WorkflowSpecRequest(_message.Message):
    __slots__ = ("workflow_id", "with_jobs")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WITH_JOBS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    with_jobs: bool
    def __init__(self, workflow_id: _Optional[int] = ..., with_jobs: _Optional[bool] = ...) -> None: ...

class WorkflowSpec(_message.Message):
    __slots__ = ("spec_json",)
    SPEC_JSON_FIELD_NUMBER: _ClassVar[int]
    spec_json: str
    def __init__(self, spec_json: _Optional[str] = ...) -> None: ...

class ImportWorkflowRequest(_message.Message):
    __slots__ = ("document_json", "keep_state")
    DOCUMENT_JSON_FIELD_NUMBER: _ClassVar[int]
    KEEP_STATE_FIELD_NUMBER: _ClassVar[int]
    document_json: str
    keep_state: bool
    def __init__(self, document_json: _Optional[str] = ..., keep_state: _Optional[bool] = ...) -> None: ...

class ArchiveWorkflowRequest(_message.Message):
    __slots__ = ("workflow_id", "archived")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    ARCHIVED_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    archived: bool
    def __init__(self, workflow_id: _Optional[int] = ..., archived: _Optional[bool] = ...) -> None: ...

class ListWorkflowsResponse(_message.Message):
    __slots__ = ("workflows",)
    WORKFLOWS_FIELD_NUMBER: _ClassVar[int]
    workflows: _containers.RepeatedCompositeFieldContainer[Workflow]
    def __init__(self, workflows: _Optional[_Iterable[_Union[Workflow, _Mapping]]] = ...) -> None: ...

class ResetStatusRequest(_message.Message):
    __slots__ = ("workflow_id", "failed_only", "reinitialize", "job_ids", "retry")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    FAILED_ONLY_FIELD_NUMBER: _ClassVar[int]
    REINITIALIZE_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    RETRY_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    failed_only: bool
    reinitialize: bool
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    retry: bool
    def __init__(self, workflow_id: _Optional[int] = ..., failed_only: _Optional[bool] = ..., reinitialize: _Optional[bool] = ..., job_ids: _Optional[_Iterable[int]] = ..., retry: _Optional[bool] = ...) -> None: ...

class WorkflowStatus(_message.Message):
    __slots__ = ("workflow_id", "job_counts", "run_id", "complete", "canceled", "num_jobs")
    class JobCountsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_COUNTS_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    COMPLETE_FIELD_NUMBER: _ClassVar[int]
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    NUM_JOBS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    job_counts: _containers.ScalarMap[str, int]
    run_id: int
    complete: bool
    canceled: bool
    num_jobs: int
    def __init__(self, workflow_id: _Optional[int] = ..., job_counts: _Optional[_Mapping[str, int]] = ..., run_id: _Optional[int] = ..., complete: _Optional[bool] = ..., canceled: _Optional[bool] = ..., num_jobs: _Optional[int] = ...) -> None: ...

class Job(_message.Message):
    __slots__ = ("id", "name", "status", "command", "return_code", "run_id", "attempt_id", "priority", "depends_on", "resource_requirements", "invocation_script", "cancel_on_blocking_job_failure", "supports_termination", "scheduler", "worker_id", "failure_handler", "input_files", "output_files", "input_user_data", "output_user_data", "num_cpus", "memory_bytes", "num_gpus", "num_nodes", "runtime_seconds")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    PRIORITY_FIELD_NUMBER: _ClassVar[int]
    DEPENDS_ON_FIELD_NUMBER: _ClassVar[int]
    RESOURCE_REQUIREMENTS_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    CANCEL_ON_BLOCKING_JOB_FAILURE_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_TERMINATION_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    FAILURE_HANDLER_FIELD_NUMBER: _ClassVar[int]
    INPUT_FILES_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILES_FIELD_NUMBER: _ClassVar[int]
    INPUT_USER_DATA_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_USER_DATA_FIELD_NUMBER: _ClassVar[int]
    NUM_CPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NUM_GPUS_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    status: JobStatus
    command: str
    return_code: int
    run_id: int
    attempt_id: int
    priority: int
    depends_on: _containers.RepeatedScalarFieldContainer[int]
    resource_requirements: str
    invocation_script: str
    cancel_on_blocking_job_failure: bool
    supports_termination: bool
    scheduler: str
    worker_id: int
    failure_handler: str
    input_files: _containers.RepeatedScalarFieldContainer[int]
    output_files: _containers.RepeatedScalarFieldContainer[int]
    input_user_data: _containers.RepeatedScalarFieldContainer[int]
    output_user_data: _containers.RepeatedScalarFieldContainer[int]
    num_cpus: int
    memory_bytes: int
    num_gpus: int
    num_nodes: int
    runtime_seconds: float
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., status: _Optional[_Union[JobStatus, str]] = ..., command: _Optional[str] = ..., return_code: _Optional[int] = ..., run_id: _Optional[int] = ..., attempt_id: _Optional[int] = ..., priority: _Optional[int] = ..., depends_on: _Optional[_Iterable[int]] = ..., resource_requirements: _Optional[str] = ..., invocation_script: _Optional[str] = ..., cancel_on_blocking_job_failure: _Optional[bool] = ..., supports_termination: _Optional[bool] = ..., scheduler: _Optional[str] = ..., worker_id: _Optional[int] = ..., failure_handler: _Optional[str] = ..., input_files: _Optional[_Iterable[int]] = ..., output_files: _Optional[_Iterable[int]] = ..., input_user_data: _Optional[_Iterable[int]] = ..., output_user_data: _Optional[_Iterable[int]] = ..., num_cpus: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., num_gpus: _Optional[int] = ..., num_nodes: _Optional[int] = ..., runtime_seconds: _Optional[float] = ...) -> None: ...

class ListJobsRequest(_message.Message):
    __slots__ = ("workflow_id", "status", "offset", "limit", "job_ids", "name_regex", "sort_by", "descending")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    NAME_REGEX_FIELD_NUMBER: _ClassVar[int]
    SORT_BY_FIELD_NUMBER: _ClassVar[int]
    DESCENDING_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    status: JobStatus
    offset: int
    limit: int
    job_ids: _containers.RepeatedScalarFieldContainer[int]
    name_regex: str
    sort_by: str
    descending: bool
    def __init__(self, workflow_id: _Optional[int] = ..., status: _Optional[_Union[JobStatus, str]] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ..., job_ids: _Optional[_Iterable[int]] = ..., name_regex: _Optional[str] = ..., sort_by: _Optional[str] = ..., descending: _Optional[bool] = ...) -> None: ...

class ListJobsResponse(_message.Message):
    __slots__ = ("jobs", "total")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[Job]
    total: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[Job, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class JobGroup(_message.Message):
    __slots__ = ("level", "pattern", "jobs", "states")
    class StatesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    PATTERN_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    STATES_FIELD_NUMBER: _ClassVar[int]
    level: int
    pattern: str
    jobs: int
    states: _containers.ScalarMap[str, int]
    def __init__(self, level: _Optional[int] = ..., pattern: _Optional[str] = ..., jobs: _Optional[int] = ..., states: _Optional[_Mapping[str, int]] = ...) -> None: ...

class JobGraph(_message.Message):
    __slots__ = ("workflow_id", "total_jobs", "groups", "edge_from", "edge_to")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TOTAL_JOBS_FIELD_NUMBER: _ClassVar[int]
    GROUPS_FIELD_NUMBER: _ClassVar[int]
    EDGE_FROM_FIELD_NUMBER: _ClassVar[int]
    EDGE_TO_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    total_jobs: int
    groups: _containers.RepeatedCompositeFieldContainer[JobGroup]
    edge_from: _containers.RepeatedScalarFieldContainer[int]
    edge_to: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, workflow_id: _Optional[int] = ..., total_jobs: _Optional[int] = ..., groups: _Optional[_Iterable[_Union[JobGroup, _Mapping]]] = ..., edge_from: _Optional[_Iterable[int]] = ..., edge_to: _Optional[_Iterable[int]] = ...) -> None: ...

class JobResult(_message.Message):
    __slots__ = ("job_id", "job_name", "run_id", "attempt_id", "return_code", "status", "start_time", "end_time", "worker_id", "message", "peak_memory_bytes", "avg_memory_bytes", "peak_cpu_percent", "avg_cpu_percent", "id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_NAME_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVG_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    PEAK_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    AVG_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    job_name: str
    run_id: int
    attempt_id: int
    return_code: int
    status: JobStatus
    start_time: float
    end_time: float
    worker_id: int
    message: str
    peak_memory_bytes: int
    avg_memory_bytes: int
    peak_cpu_percent: float
    avg_cpu_percent: float
    id: int
    def __init__(self, job_id: _Optional[int] = ..., job_name: _Optional[str] = ..., run_id: _Optional[int] = ..., attempt_id: _Optional[int] = ..., return_code: _Optional[int] = ..., status: _Optional[_Union[JobStatus, str]] = ..., start_time: _Optional[float] = ..., end_time: _Optional[float] = ..., worker_id: _Optional[int] = ..., message: _Optional[str] = ..., peak_memory_bytes: _Optional[int] = ..., avg_memory_bytes: _Optional[int] = ..., peak_cpu_percent: _Optional[float] = ..., avg_cpu_percent: _Optional[float] = ..., id: _Optional[int] = ...) -> None: ...

class ListResultsRequest(_message.Message):
    __slots__ = ("workflow_id", "failed_only", "offset", "limit", "job_id", "run_id", "return_code", "all_runs", "result_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    FAILED_ONLY_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    ALL_RUNS_FIELD_NUMBER: _ClassVar[int]
    RESULT_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    failed_only: bool
    offset: int
    limit: int
    job_id: int
    run_id: int
    return_code: int
    all_runs: bool
    result_id: int
    def __init__(self, workflow_id: _Optional[int] = ..., failed_only: _Optional[bool] = ..., offset: _Optional[int] = ..., limit: _Optional[int] = ..., job_id: _Optional[int] = ..., run_id: _Optional[int] = ..., return_code: _Optional[int] = ..., all_runs: _Optional[bool] = ..., result_id: _Optional[int] = ...) -> None: ...

class ListResultsResponse(_message.Message):
    __slots__ = ("results", "total")
    RESULTS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    results: _containers.RepeatedCompositeFieldContainer[JobResult]
    total: int
    def __init__(self, results: _Optional[_Iterable[_Union[JobResult, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class ActionExecution(_message.Message):
    __slots__ = ("worker_id", "start_time", "end_time", "success", "message", "stdout_path", "stderr_path", "run_id")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    STDOUT_PATH_FIELD_NUMBER: _ClassVar[int]
    STDERR_PATH_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: int
    start_time: float
    end_time: float
    success: bool
    message: str
    stdout_path: str
    stderr_path: str
    run_id: int
    def __init__(self, worker_id: _Optional[int] = ..., start_time: _Optional[float] = ..., end_time: _Optional[float] = ..., success: _Optional[bool] = ..., message: _Optional[str] = ..., stdout_path: _Optional[str] = ..., stderr_path: _Optional[str] = ..., run_id: _Optional[int] = ...) -> None: ...

class Action(_message.Message):
    __slots__ = ("id", "trigger_type", "action_type", "persistent", "trigger_count", "required_triggers", "pending", "executed", "job_names", "config_json", "executions")
    ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    PERSISTENT_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_COUNT_FIELD_NUMBER: _ClassVar[int]
    REQUIRED_TRIGGERS_FIELD_NUMBER: _ClassVar[int]
    PENDING_FIELD_NUMBER: _ClassVar[int]
    EXECUTED_FIELD_NUMBER: _ClassVar[int]
    JOB_NAMES_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    EXECUTIONS_FIELD_NUMBER: _ClassVar[int]
    id: int
    trigger_type: str
    action_type: str
    persistent: bool
    trigger_count: int
    required_triggers: int
    pending: bool
    executed: bool
    job_names: _containers.RepeatedScalarFieldContainer[str]
    config_json: str
    executions: _containers.RepeatedCompositeFieldContainer[ActionExecution]
    def __init__(self, id: _Optional[int] = ..., trigger_type: _Optional[str] = ..., action_type: _Optional[str] = ..., persistent: _Optional[bool] = ..., trigger_count: _Optional[int] = ..., required_triggers: _Optional[int] = ..., pending: _Optional[bool] = ..., executed: _Optional[bool] = ..., job_names: _Optional[_Iterable[str]] = ..., config_json: _Optional[str] = ..., executions: _Optional[_Iterable[_Union[ActionExecution, _Mapping]]] = ...) -> None: ...

class ListActionsResponse(_message.Message):
    __slots__ = ("actions",)
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[Action]
    def __init__(self, actions: _Optional[_Iterable[_Union[Action, _Mapping]]] = ...) -> None: ...

class Resources(_message.Message):
    __slots__ = ("num_cpus", "memory_bytes", "num_gpus", "num_nodes", "time_left_seconds")
    NUM_CPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NUM_GPUS_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    TIME_LEFT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    num_cpus: int
    memory_bytes: int
    num_gpus: int
    num_nodes: int
    time_left_seconds: float
    def __init__(self, num_cpus: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., num_gpus: _Optional[int] = ..., num_nodes: _Optional[int] = ..., time_left_seconds: _Optional[float] = ...) -> None: ...

class Worker(_message.Message):
    __slots__ = ("id", "workflow_id", "hostname", "slurm_job_id", "node_name", "resources", "start_time", "last_heartbeat", "active", "pid", "running_job_ids", "lost", "role", "scheduler", "output_dir")
    ID_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    SLURM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    LAST_HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    RUNNING_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    LOST_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    id: int
    workflow_id: int
    hostname: str
    slurm_job_id: str
    node_name: str
    resources: Resources
    start_time: float
    last_heartbeat: float
    active: bool
    pid: int
    running_job_ids: _containers.RepeatedScalarFieldContainer[int]
    lost: bool
    role: str
    scheduler: str
    output_dir: str
    def __init__(self, id: _Optional[int] = ..., workflow_id: _Optional[int] = ..., hostname: _Optional[str] = ..., slurm_job_id: _Optional[str] = ..., node_name: _Optional[str] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., start_time: _Optional[float] = ..., last_heartbeat: _Optional[float] = ..., active: _Optional[bool] = ..., pid: _Optional[int] = ..., running_job_ids: _Optional[_Iterable[int]] = ..., lost: _Optional[bool] = ..., role: _Optional[str] = ..., scheduler: _Optional[str] = ..., output_dir: _Optional[str] = ...) -> None: ...

class ListWorkersResponse(_message.Message):
    __slots__ = ("workers", "total")
    WORKERS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_FIELD_NUMBER: _ClassVar[int]
    workers: _containers.RepeatedCompositeFieldContainer[Worker]
    total: int
    def __init__(self, workers: _Optional[_Iterable[_Union[Worker, _Mapping]]] = ..., total: _Optional[int] = ...) -> None: ...

class RegisterWorkerRequest(_message.Message):
    __slots__ = ("workflow_id", "hostname", "slurm_job_id", "node_name", "resources", "pid", "role", "instance_id", "scheduler", "output_dir")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    HOSTNAME_FIELD_NUMBER: _ClassVar[int]
    SLURM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    NODE_NAME_FIELD_NUMBER: _ClassVar[int]
    RESOURCES_FIELD_NUMBER: _ClassVar[int]
    PID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    INSTANCE_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_DIR_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    hostname: str
    slurm_job_id: str
    node_name: str
    resources: Resources
    pid: int
    role: str
    instance_id: str
    scheduler: str
    output_dir: str
    def __init__(self, workflow_id: _Optional[int] = ..., hostname: _Optional[str] = ..., slurm_job_id: _Optional[str] = ..., node_name: _Optional[str] = ..., resources: _Optional[_Union[Resources, _Mapping]] = ..., pid: _Optional[int] = ..., role: _Optional[str] = ..., instance_id: _Optional[str] = ..., scheduler: _Optional[str] = ..., output_dir: _Optional[str] = ...) -> None: ...

class RegisterWorkerResponse(_message.Message):
    __slots__ = ("worker_id", "heartbeat_interval", "coordinator_id", "settings_json")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_FIELD_NUMBER: _ClassVar[int]
    COORDINATOR_ID_FIELD_NUMBER: _ClassVar[int]
    SETTINGS_JSON_FIELD_NUMBER: _ClassVar[int]
    worker_id: int
    heartbeat_interval: float
    coordinator_id: str
    settings_json: str
    def __init__(self, worker_id: _Optional[int] = ..., heartbeat_interval: _Optional[float] = ..., coordinator_id: _Optional[str] = ..., settings_json: _Optional[str] = ...) -> None: ...

class UnregisterWorkerRequest(_message.Message):
    __slots__ = ("worker_id",)
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    worker_id: int
    def __init__(self, worker_id: _Optional[int] = ...) -> None: ...

class ClaimJobRequest(_message.Message):
    __slots__ = ("workflow_id", "worker_id", "available", "max_jobs", "wait_seconds", "peek", "claim_id", "ahead", "max_ahead", "count_fitting")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    AVAILABLE_FIELD_NUMBER: _ClassVar[int]
    MAX_JOBS_FIELD_NUMBER: _ClassVar[int]
    WAIT_SECONDS_FIELD_NUMBER: _ClassVar[int]
    PEEK_FIELD_NUMBER: _ClassVar[int]
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    AHEAD_FIELD_NUMBER: _ClassVar[int]
    MAX_AHEAD_FIELD_NUMBER: _ClassVar[int]
    COUNT_FITTING_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    worker_id: int
    available: Resources
    max_jobs: int
    wait_seconds: float
    peek: bool
    claim_id: int
    ahead: Resources
    max_ahead: int
    count_fitting: bool
    def __init__(self, workflow_id: _Optional[int] = ..., worker_id: _Optional[int] = ..., available: _Optional[_Union[Resources, _Mapping]] = ..., max_jobs: _Optional[int] = ..., wait_seconds: _Optional[float] = ..., peek: _Optional[bool] = ..., claim_id: _Optional[int] = ..., ahead: _Optional[_Union[Resources, _Mapping]] = ..., max_ahead: _Optional[int] = ..., count_fitting: _Optional[bool] = ...) -> None: ...

class ClaimedJob(_message.Message):
    __slots__ = ("id", "name", "command", "invocation_script", "run_id", "attempt_id", "num_cpus", "memory_bytes", "num_gpus", "num_nodes", "runtime_seconds", "supports_termination", "stdio_mode", "delete_stdio_on_success", "output_files", "failure_handler_json", "after_job_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    COMMAND_FIELD_NUMBER: _ClassVar[int]
    INVOCATION_SCRIPT_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    NUM_CPUS_FIELD_NUMBER: _ClassVar[int]
    MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    NUM_GPUS_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    RUNTIME_SECONDS_FIELD_NUMBER: _ClassVar[int]
    SUPPORTS_TERMINATION_FIELD_NUMBER: _ClassVar[int]
    STDIO_MODE_FIELD_NUMBER: _ClassVar[int]
    DELETE_STDIO_ON_SUCCESS_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_FILES_FIELD_NUMBER: _ClassVar[int]
    FAILURE_HANDLER_JSON_FIELD_NUMBER: _ClassVar[int]
    AFTER_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    name: str
    command: str
    invocation_script: str
    run_id: int
    attempt_id: int
    num_cpus: int
    memory_bytes: int
    num_gpus: int
    num_nodes: int
    runtime_seconds: float
    supports_termination: bool
    stdio_mode: str
    delete_stdio_on_success: bool
    output_files: _containers.RepeatedCompositeFieldContainer[FileInfo]
    failure_handler_json: str
    after_job_id: int
    def __init__(self, id: _Optional[int] = ..., name: _Optional[str] = ..., command: _Optional[str] = ..., invocation_script: _Optional[str] = ..., run_id: _Optional[int] = ..., attempt_id: _Optional[int] = ..., num_cpus: _Optional[int] = ..., memory_bytes: _Optional[int] = ..., num_gpus: _Optional[int] = ..., num_nodes: _Optional[int] = ..., runtime_seconds: _Optional[float] = ..., supports_termination: _Optional[bool] = ..., stdio_mode: _Optional[str] = ..., delete_stdio_on_success: _Optional[bool] = ..., output_files: _Optional[_Iterable[_Union[FileInfo, _Mapping]]] = ..., failure_handler_json: _Optional[str] = ..., after_job_id: _Optional[int] = ...) -> None: ...

class ClaimJobResponse(_message.Message):
    __slots__ = ("jobs", "workflow_done", "canceled", "actions_pending", "ready_jobs", "unfinished_jobs", "initialized", "next_jobs", "fitting_jobs")
    JOBS_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_DONE_FIELD_NUMBER: _ClassVar[int]
    CANCELED_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_PENDING_FIELD_NUMBER: _ClassVar[int]
    READY_JOBS_FIELD_NUMBER: _ClassVar[int]
    UNFINISHED_JOBS_FIELD_NUMBER: _ClassVar[int]
    INITIALIZED_FIELD_NUMBER: _ClassVar[int]
    NEXT_JOBS_FIELD_NUMBER: _ClassVar[int]
    FITTING_JOBS_FIELD_NUMBER: _ClassVar[int]
    jobs: _containers.RepeatedCompositeFieldContainer[ClaimedJob]
    workflow_done: bool
    canceled: bool
    actions_pending: bool
    ready_jobs: int
    unfinished_jobs: int
    initialized: bool
    next_jobs: _containers.RepeatedCompositeFieldContainer[ClaimedJob]
    fitting_jobs: int
    def __init__(self, jobs: _Optional[_Iterable[_Union[ClaimedJob, _Mapping]]] = ..., workflow_done: _Optional[bool] = ..., canceled: _Optional[bool] = ..., actions_pending: _Optional[bool] = ..., ready_jobs: _Optional[int] = ..., unfinished_jobs: _Optional[int] = ..., initialized: _Optional[bool] = ..., next_jobs: _Optional[_Iterable[_Union[ClaimedJob, _Mapping]]] = ..., fitting_jobs: _Optional[int] = ...) -> None: ...

class ClaimActionRequest(_message.Message):
    __slots__ = ("workflow_id", "worker_id", "trigger_types", "action_types", "claim_id")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_TYPES_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPES_FIELD_NUMBER: _ClassVar[int]
    CLAIM_ID_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    worker_id: int
    trigger_types: _containers.RepeatedScalarFieldContainer[str]
    action_types: _containers.RepeatedScalarFieldContainer[str]
    claim_id: int
    def __init__(self, workflow_id: _Optional[int] = ..., worker_id: _Optional[int] = ..., trigger_types: _Optional[_Iterable[str]] = ..., action_types: _Optional[_Iterable[str]] = ..., claim_id: _Optional[int] = ...) -> None: ...

class ClaimedAction(_message.Message):
    __slots__ = ("id", "trigger_type", "action_type", "commands", "config_json", "run_id")
    ID_FIELD_NUMBER: _ClassVar[int]
    TRIGGER_TYPE_FIELD_NUMBER: _ClassVar[int]
    ACTION_TYPE_FIELD_NUMBER: _ClassVar[int]
    COMMANDS_FIELD_NUMBER: _ClassVar[int]
    CONFIG_JSON_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    id: int
    trigger_type: str
    action_type: str
    commands: _containers.RepeatedScalarFieldContainer[str]
    config_json: str
    run_id: int
    def __init__(self, id: _Optional[int] = ..., trigger_type: _Optional[str] = ..., action_type: _Optional[str] = ..., commands: _Optional[_Iterable[str]] = ..., config_json: _Optional[str] = ..., run_id: _Optional[int] = ...) -> None: ...

class ClaimActionResponse(_message.Message):
    __slots__ = ("actions",)
    ACTIONS_FIELD_NUMBER: _ClassVar[int]
    actions: _containers.RepeatedCompositeFieldContainer[ClaimedAction]
    def __init__(self, actions: _Optional[_Iterable[_Union[ClaimedAction, _Mapping]]] = ...) -> None: ...

class ReportActionResultRequest(_message.Message):
    __slots__ = ("workflow_id", "worker_id", "action_id", "execution")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    EXECUTION_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    worker_id: int
    action_id: int
    execution: ActionExecution
    def __init__(self, workflow_id: _Optional[int] = ..., worker_id: _Optional[int] = ..., action_id: _Optional[int] = ..., execution: _Optional[_Union[ActionExecution, _Mapping]] = ...) -> None: ...

class JobReport(_message.Message):
    __slots__ = ("job_id", "kind", "run_id", "attempt_id", "return_code", "status", "start_time", "end_time", "message", "peak_memory_bytes", "avg_memory_bytes", "peak_cpu_percent", "avg_cpu_percent", "recovery_return_code", "output_mtimes", "after_job_id")
    class OutputMtimesEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: int
        value: float
        def __init__(self, key: _Optional[int] = ..., value: _Optional[float] = ...) -> None: ...
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    RUN_ID_FIELD_NUMBER: _ClassVar[int]
    ATTEMPT_ID_FIELD_NUMBER: _ClassVar[int]
    RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    PEAK_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    AVG_MEMORY_BYTES_FIELD_NUMBER: _ClassVar[int]
    PEAK_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    AVG_CPU_PERCENT_FIELD_NUMBER: _ClassVar[int]
    RECOVERY_RETURN_CODE_FIELD_NUMBER: _ClassVar[int]
    OUTPUT_MTIMES_FIELD_NUMBER: _ClassVar[int]
    AFTER_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    kind: ReportKind
    run_id: int
    attempt_id: int
    return_code: int
    status: JobStatus
    start_time: float
    end_time: float
    message: str
    peak_memory_bytes: int
    avg_memory_bytes: int
    peak_cpu_percent: float
    avg_cpu_percent: float
    recovery_return_code: int
    output_mtimes: _containers.ScalarMap[int, float]
    after_job_id: int
    def __init__(self, job_id: _Optional[int] = ..., kind: _Optional[_Union[ReportKind, str]] = ..., run_id: _Optional[int] = ..., attempt_id: _Optional[int] = ..., return_code: _Optional[int] = ..., status: _Optional[_Union[JobStatus, str]] = ..., start_time: _Optional[float] = ..., end_time: _Optional[float] = ..., message: _Optional[str] = ..., peak_memory_bytes: _Optional[int] = ..., avg_memory_bytes: _Optional[int] = ..., peak_cpu_percent: _Optional[float] = ..., avg_cpu_percent: _Optional[float] = ..., recovery_return_code: _Optional[int] = ..., output_mtimes: _Optional[_Mapping[int, float]] = ..., after_job_id: _Optional[int] = ...) -> None: ...

class ReportStatusRequest(_message.Message):
    __slots__ = ("workflow_id", "worker_id", "reports", "claim")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    REPORTS_FIELD_NUMBER: _ClassVar[int]
    CLAIM_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    worker_id: int
    reports: _containers.RepeatedCompositeFieldContainer[JobReport]
    claim: ClaimJobRequest
    def __init__(self, workflow_id: _Optional[int] = ..., worker_id: _Optional[int] = ..., reports: _Optional[_Iterable[_Union[JobReport, _Mapping]]] = ..., claim: _Optional[_Union[ClaimJobRequest, _Mapping]] = ...) -> None: ...

class ReportStatusResponse(_message.Message):
    __slots__ = ("rejected", "workflow_done", "actions_pending", "jobs", "next_jobs", "refused_job_ids")
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    WORKFLOW_DONE_FIELD_NUMBER: _ClassVar[int]
    ACTIONS_PENDING_FIELD_NUMBER: _ClassVar[int]
    JOBS_FIELD_NUMBER: _ClassVar[int]
    NEXT_JOBS_FIELD_NUMBER: _ClassVar[int]
    REFUSED_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    rejected: _containers.RepeatedScalarFieldContainer[str]
    workflow_done: bool
    actions_pending: bool
    jobs: _containers.RepeatedCompositeFieldContainer[ClaimedJob]
    next_jobs: _containers.RepeatedCompositeFieldContainer[ClaimedJob]
    refused_job_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, rejected: _Optional[_Iterable[str]] = ..., workflow_done: _Optional[bool] = ..., actions_pending: _Optional[bool] = ..., jobs: _Optional[_Iterable[_Union[ClaimedJob, _Mapping]]] = ..., next_jobs: _Optional[_Iterable[_Union[ClaimedJob, _Mapping]]] = ..., refused_job_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class HeartbeatRequest(_message.Message):
    __slots__ = ("worker_id", "running_job_ids")
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    RUNNING_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    worker_id: int
    running_job_ids: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, worker_id: _Optional[int] = ..., running_job_ids: _Optional[_Iterable[int]] = ...) -> None: ...

class HeartbeatResponse(_message.Message):
    __slots__ = ("cancel_job_ids", "shutdown", "wake")
    CANCEL_JOB_IDS_FIELD_NUMBER: _ClassVar[int]
    SHUTDOWN_FIELD_NUMBER: _ClassVar[int]
    WAKE_FIELD_NUMBER: _ClassVar[int]
    cancel_job_ids: _containers.RepeatedScalarFieldContainer[int]
    shutdown: bool
    wake: bool
    def __init__(self, cancel_job_ids: _Optional[_Iterable[int]] = ..., shutdown: _Optional[bool] = ..., wake: _Optional[bool] = ...) -> None: ...

class Allocation(_message.Message):
    __slots__ = ("workflow_id", "slurm_job_id", "scheduler", "action_id", "num_nodes", "state", "submitted_at", "updated_at")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    SLURM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SUBMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    UPDATED_AT_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    slurm_job_id: str
    scheduler: str
    action_id: int
    num_nodes: int
    state: str
    submitted_at: float
    updated_at: float
    def __init__(self, workflow_id: _Optional[int] = ..., slurm_job_id: _Optional[str] = ..., scheduler: _Optional[str] = ..., action_id: _Optional[int] = ..., num_nodes: _Optional[int] = ..., state: _Optional[str] = ..., submitted_at: _Optional[float] = ..., updated_at: _Optional[float] = ...) -> None: ...

class RecordAllocationRequest(_message.Message):
    __slots__ = ("workflow_id", "worker_id", "action_id", "slurm_job_id", "scheduler", "num_nodes")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    ACTION_ID_FIELD_NUMBER: _ClassVar[int]
    SLURM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    SCHEDULER_FIELD_NUMBER: _ClassVar[int]
    NUM_NODES_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    worker_id: int
    action_id: int
    slurm_job_id: str
    scheduler: str
    num_nodes: int
    def __init__(self, workflow_id: _Optional[int] = ..., worker_id: _Optional[int] = ..., action_id: _Optional[int] = ..., slurm_job_id: _Optional[str] = ..., scheduler: _Optional[str] = ..., num_nodes: _Optional[int] = ...) -> None: ...

class ListAllocationsResponse(_message.Message):
    __slots__ = ("allocations",)
    ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    def __init__(self, allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ...) -> None: ...

class UpdateRemoteWorkersRequest(_message.Message):
    __slots__ = ("workflow_id", "add", "remove")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    ADD_FIELD_NUMBER: _ClassVar[int]
    REMOVE_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    add: _containers.RepeatedScalarFieldContainer[str]
    remove: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, workflow_id: _Optional[int] = ..., add: _Optional[_Iterable[str]] = ..., remove: _Optional[_Iterable[str]] = ...) -> None: ...

class RemoteWorkers(_message.Message):
    __slots__ = ("hosts",)
    HOSTS_FIELD_NUMBER: _ClassVar[int]
    hosts: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, hosts: _Optional[_Iterable[str]] = ...) -> None: ...

class SyncStatusRequest(_message.Message):
    __slots__ = ("workflow_id", "dry_run")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    DRY_RUN_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    dry_run: bool
    def __init__(self, workflow_id: _Optional[int] = ..., dry_run: _Optional[bool] = ...) -> None: ...

class OrphanedJob(_message.Message):
    __slots__ = ("job_id", "job_name", "worker_id", "slurm_job_id")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_NAME_FIELD_NUMBER: _ClassVar[int]
    WORKER_ID_FIELD_NUMBER: _ClassVar[int]
    SLURM_JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: int
    job_name: str
    worker_id: int
    slurm_job_id: str
    def __init__(self, job_id: _Optional[int] = ..., job_name: _Optional[str] = ..., worker_id: _Optional[int] = ..., slurm_job_id: _Optional[str] = ...) -> None: ...

class SyncStatusResponse(_message.Message):
    __slots__ = ("changed_allocations", "lost_worker_ids", "orphaned_jobs")
    CHANGED_ALLOCATIONS_FIELD_NUMBER: _ClassVar[int]
    LOST_WORKER_IDS_FIELD_NUMBER: _ClassVar[int]
    ORPHANED_JOBS_FIELD_NUMBER: _ClassVar[int]
    changed_allocations: _containers.RepeatedCompositeFieldContainer[Allocation]
    lost_worker_ids: _containers.RepeatedScalarFieldContainer[int]
    orphaned_jobs: _containers.RepeatedCompositeFieldContainer[OrphanedJob]
    def __init__(self, changed_allocations: _Optional[_Iterable[_Union[Allocation, _Mapping]]] = ..., lost_worker_ids: _Optional[_Iterable[int]] = ..., orphaned_jobs: _Optional[_Iterable[_Union[OrphanedJob, _Mapping]]] = ...) -> None: ...

class WatchEventsRequest(_message.Message):
    __slots__ = ("workflow_id", "history", "mark_history_end", "job_events")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    HISTORY_FIELD_NUMBER: _ClassVar[int]
    MARK_HISTORY_END_FIELD_NUMBER: _ClassVar[int]
    JOB_EVENTS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    history: bool
    mark_history_end: bool
    job_events: bool
    def __init__(self, workflow_id: _Optional[int] = ..., history: _Optional[bool] = ..., mark_history_end: _Optional[bool] = ..., job_events: _Optional[bool] = ...) -> None: ...

class WorkflowEvent(_message.Message):
    __slots__ = ("workflow_id", "timestamp", "kind", "message", "history_end", "job_id", "job_status")
    WORKFLOW_ID_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    HISTORY_END_FIELD_NUMBER: _ClassVar[int]
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    JOB_STATUS_FIELD_NUMBER: _ClassVar[int]
    workflow_id: int
    timestamp: float
    kind: str
    message: str
    history_end: bool
    job_id: int
    job_status: str
    def __init__(self, workflow_id: _Optional[int] = ..., timestamp: _Optional[float] = ..., kind: _Optional[str] = ..., message: _Optional[str] = ..., history_end: _Optional[bool] = ..., job_id: _Optional[int] = ..., job_status: _Optional[str] = ...) -> None: ...
