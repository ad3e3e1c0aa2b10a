"""The gRPC service ``torc.v1.Torc``: one :class:`ServiceCore` (store, WAL, commit path,
permissions) and the RPC groups built on it, each a class of its own that is given the core
(composition: the groups share no state but the core's).
"""

from __future__ import annotations

from torc.proto import torc_pb2_grpc as pb_grpc
from torc.server.persistence.wal import Wal
from torc.server.rpc.service_core import ServiceCore
from torc.server.rpc.service_data import UserDataRpcs
from torc.server.rpc.service_graph import GraphRpcs
from torc.server.rpc.service_groups import AccessGroupRpcs
from torc.server.rpc.service_heartbeat import HeartbeatRpcs
from torc.server.rpc.service_jobs import JobRpcs
from torc.server.rpc.service_transfer import TransferRpcs
from torc.server.rpc.service_workers import WorkerRpcs
from torc.server.rpc.service_workflows import WorkflowRpcs
from torc.server.state.identity import Identities
from torc.server.state.store import Store

GROUPS = (WorkflowRpcs, WorkerRpcs, HeartbeatRpcs, JobRpcs, TransferRpcs, UserDataRpcs,
          AccessGroupRpcs, GraphRpcs)


def rpc_names(group: type) -> list[str]:
    """The RPCs a group implements: its methods named as ``torc.v1.Torc``'s (CamelCase)."""
    return [name for name in vars(group) if name[:1].isupper() and callable(vars(group)[name])]


class TorcService(pb_grpc.TorcServicer):
    """Implements ``torc.v1.Torc`` over one Store and one Wal: every RPC is one group's
    method, bound here by its name (what gRPC's registration looks up)."""

    def __init__(self, store: Store, wal: Wal, identities: Identities,
                 heartbeat_interval: float = 5.0, lost_after_intervals: float = 3.0,
                 snapshot_every: int = 200_000) -> None:
        self.core = ServiceCore(store, wal, identities, heartbeat_interval,
                                lost_after_intervals, snapshot_every)
        for group_type in GROUPS:
            group = group_type(self.core)
            for name in rpc_names(group_type):
                if not hasattr(pb_grpc.TorcServicer, name):
                    raise TypeError(f"{group_type.__name__}.{name} is no RPC of torc.v1.Torc")
                if name in vars(self):
                    raise TypeError(f"{name} is implemented twice")
                setattr(self, name, getattr(group, name))
