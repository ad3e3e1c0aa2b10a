"""Torc's Python API functions by Torc's names and signatures (``torc.api`` in Torc's
``python_client``): ``make_api``, ``iter_documents``, ``create_jobs``,
``map_function_to_jobs`` and ``check_function``."""

from __future__ import annotations

import importlib
import logging
import sys
from collections.abc import Callable, Generator, Iterable
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from torc.client.stub import TorcClient
from torc.client.torc_api.default_api import DefaultApi, _Names
from torc.client.torc_api.models import JobModel, JobsModel
from torc.errors import TorcError

RUN_FUNCTION = "pytorc run-function"  # the job commands Torc's mapped jobs run
RUN_POSTPROCESS = "pytorc run-postprocess"


def make_api(database_url: str | None = None) -> DefaultApi:
    """The API object for a coordinator: ``host:port``, or a URL whose host and port are
    taken (``http://host:50051/...``, as Torc's tutorials write theirs); None: the
    configured one (``TORC_URL``, the config file)."""
    url = database_url
    if url and "://" in url:
        parts = urlsplit(url)
        url = parts.netloc or None
    return DefaultApi(TorcClient(url))


def setup_logging(level: int = logging.INFO, **_: Any) -> None:
    """Log to the console at ``level`` (Torc's tutorials call it first)."""
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(message)s")


def iter_documents(func: Callable[..., Any], *args: Any, offset: int = 0,
                   **kwargs: Any) -> Generator[Any, None, None]:
    """Every item of a paged listing (``api.list_jobs``, ``api.list_user_data``...), page
    after page; ``limit`` bounds how many in all."""
    if kwargs.get("limit", 0) is None:
        kwargs.pop("limit")
    limit = kwargs.get("limit")
    received, has_more = 0, True
    while has_more and (limit is None or received < limit):
        result = func(*args, offset=offset, **kwargs)
        yield from result.items
        offset += result.count
        received += result.count
        has_more = result.has_more and result.count > 0


def create_jobs(api: DefaultApi, jobs: Iterable[JobModel],
                max_transfer_size: int = 10_000) -> list[JobModel]:
    """Add jobs to their workflow ``max_transfer_size`` a call; the created jobs, in order."""
    added: list[JobModel] = []
    batch: list[JobModel] = []
    for job in jobs:
        batch.append(job)
        if len(batch) >= max_transfer_size:
            added += api.create_jobs(JobsModel(jobs=batch)).jobs
            batch = []
    if batch:
        added += api.create_jobs(JobsModel(jobs=batch)).jobs
    return added


def check_function(module_name: str, func_name: str,
                   module_directory: str | None = None) -> tuple[ModuleType, Callable]:
    """The module and function, imported as a job will import them; TorcError saying why
    not (refused when the jobs are made, not when they run)."""
    added = module_directory is not None and module_directory not in sys.path
    if added:
        sys.path.insert(0, str(module_directory))
    try:
        module = importlib.import_module(module_name)
    except ImportError as e:
        where = f" (looked in {module_directory} too)" if module_directory else ""
        raise TorcError(f"cannot import module {module_name!r}{where}: {e}") from None
    finally:
        if added:
            sys.path.remove(str(module_directory))
    func = getattr(module, func_name, None)
    if not callable(func):
        raise TorcError(f"module {module_name!r} has no function {func_name!r}")
    return module, func


def _found_in(module: ModuleType, name: str) -> str | None:
    """The directory to put on sys.path to import ``name`` as it was imported here."""
    path = getattr(module, "__file__", None)
    if not path:
        return None
    top = Path(path).resolve().parent
    for _ in range(name.count(".") + (Path(path).name == "__init__.py")):
        top = top.parent
    return str(top)


def map_function_to_jobs(
    api: DefaultApi, workflow_id: int, module: str, func: str, params: list[dict],
    postprocess_func: str | None = None, module_directory: str | None = None,
    resource_requirements_id: int | None = None, scheduler_id: int | None = None,
    start_index: int = 1, name_prefix: str = "", depends_on_job_ids: list[int] | None = None,
) -> list[JobModel]:
    """A job for each item of ``params`` calling ``module.func(job_name, item)`` (with
    ``pytorc run-function``), its input and output as user data (``input_<name>``,
    ``output_<name>``); with ``postprocess_func``, a job ``postprocess`` calling it with every
    result (``postprocess_result`` holds what it returns). Torc's user data and jobs, sent in
    one addition. The created jobs."""
    found, _ = check_function(module, func, module_directory)
    if postprocess_func is not None:
        check_function(module, postprocess_func, module_directory)
    if module_directory is None:
        # Jobs run in their own directory: tell them where the module was found here.
        module_directory = _found_in(found, module)
    where = {"module_directory": module_directory} if module_directory is not None else {}
    names = _Names(api.client, workflow_id)
    shared = names.entry(JobModel(
        workflow_id, "", "", depends_on_job_ids=depends_on_job_ids,
        resource_requirements_id=resource_requirements_id, scheduler_id=scheduler_id))
    shared = {k: v for k, v in shared.items() if k not in ("name", "command")}
    user_data: list[dict[str, Any]] = []
    jobs: list[dict[str, Any]] = []
    outputs = []
    for i, item in enumerate(params, start=start_index):
        name = f"{name_prefix}{i}"
        user_data += [{"name": f"input_{name}", "data": {
                           "module": module, "func": func, "params": item, "job_name": name,
                           **where}},
                      {"name": f"output_{name}", "data": {}}]
        outputs.append(f"output_{name}")
        jobs.append({"name": name, "command": RUN_FUNCTION, **shared,
                     "input_user_data": [f"input_{name}"],
                     "output_user_data": [f"output_{name}"]})
    if postprocess_func is not None:
        user_data += [{"name": "input_postprocess", "data": {
                           "module": module, "func": postprocess_func, **where}},
                      {"name": "postprocess_result", "data": {}}]
        jobs.append({"name": "postprocess", "command": RUN_POSTPROCESS,
                     **{k: v for k, v in shared.items() if k != "depends_on"},
                     "input_user_data": ["input_postprocess", *outputs],
                     "output_user_data": ["postprocess_result"]})
    added = api.client.add_to_workflow(workflow_id, {"user_data": user_data, "jobs": jobs},
                                       source="map_function_to_jobs")
    return [JobModel(workflow_id, j["name"], j["command"], id=job_id, status="uninitialized")
            for j, job_id in zip(jobs, added.job_ids, strict=True)]
