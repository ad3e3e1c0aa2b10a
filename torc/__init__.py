"""torc-py: workflow management for HPC clusters (coordinator, workers, client)."""

import os

# The Slurm wrappers fork (the ``sh`` package) in processes that hold gRPC channels. With
# gRPC's fork support on, its poller thread is restarted in the child, finds its epoll fd closed
# before exec and aborts the child (grpc/grpc#43055): the Slurm command never runs. The child
# only execs, so it needs none of gRPC's fork handling. Set before anything imports grpc.
_FORK_SUPPORT = "GRPC_ENABLE_FORK_SUPPORT"
# What torc itself put into this process's environment: jobs and actions must not inherit it
# (a user's job that uses gRPC and forks would otherwise run with a setting it never chose).
OWN_ENVIRONMENT = frozenset() if _FORK_SUPPORT in os.environ else frozenset({_FORK_SUPPORT})
os.environ.setdefault(_FORK_SUPPORT, "false")


def user_environment() -> dict[str, str]:
    """This process's environment as the user set it (without what torc added)."""
    return {k: v for k, v in os.environ.items() if k not in OWN_ENVIRONMENT}


# Torc's Python API, the builder and the executor at the top level (``from torc import
# make_api, Workflow, TorcExecutor``), each imported when first asked for (PEP 562): the
# coordinator and the workers import ``torc`` without the client.
_LAZY = {
    **dict.fromkeys(("make_api", "iter_documents", "create_jobs", "map_function_to_jobs",
                     "check_function", "setup_logging"), "torc.client.torc_api.api"),
    "Workflow": "torc.client.builder",
    "TorcExecutor": "torc.client.executor",
}


def __getattr__(name: str) -> object:
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'torc' has no attribute {name!r}")
