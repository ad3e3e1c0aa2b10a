"""torc-py: workflow management for HPC clusters (coordinator, workers, client)."""

import os

# The Slurm wrappers fork (the ``sh`` package) in processes that hold gRPC channels. With
# gRPC's fork support on, its poller thread is restarted in the child, finds its epoll fd closed
# before exec and aborts the child (grpc/grpc#43055): the Slurm command never runs. The child
# only execs, so it needs none of gRPC's fork handling. Set before anything imports grpc.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "false")
