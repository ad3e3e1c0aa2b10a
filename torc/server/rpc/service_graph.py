"""``GetJobGraph``: a workflow's graph grouped by level and name pattern, with each group's
counts by state. The grouping is worked out once per workflow and job count in a thread (a
million names and dependencies take a while; the event loop keeps claiming meanwhile); each
call then only counts states, a slice at a time so that claims get in between slices."""

from __future__ import annotations

import asyncio
import weakref
from collections import Counter

import grpc

from torc import states as S
from torc.proto import torc_pb2 as pb
from torc.server.rpc.service_core import ServiceCore
from torc.server.state import graph
from torc.server.state.workflow import Workflow

SLICE = 50_000  # jobs counted between two turns of the event loop
KEPT = 8  # workflows whose shapes are kept (the ones drawn last)


class Shapes:
    """The grouping of each workflow drawn lately, for as long as its job count holds (a
    deleted workflow's goes with it: only a weak reference is kept)."""

    def __init__(self) -> None:
        self._by_wf: dict[int, tuple[weakref.ref, int, graph.Shape]] = {}

    async def of(self, wf: Workflow) -> graph.Shape:
        """The workflow's shape, worked out in a thread when its job count changed."""
        for wf_id in [k for k, (ref, _, _) in self._by_wf.items() if ref() is None]:
            del self._by_wf[wf_id]
        while True:
            got = self._by_wf.get(wf.id)
            n = len(wf.jobs)
            if got is not None and got[0]() is wf and got[1] == n:
                self._by_wf[wf.id] = self._by_wf.pop(wf.id)  # now the last drawn
                return got[2]
            names = [j.name for j in wf.jobs]
            deps = [j.deps for j in wf.jobs]
            shape = await asyncio.to_thread(graph.shape_of, names, deps)
            self._by_wf.pop(wf.id, None)
            self._by_wf[wf.id] = (weakref.ref(wf), n, shape)
            while len(self._by_wf) > KEPT:  # dicts keep insertion order: oldest first
                del self._by_wf[next(iter(self._by_wf))]


class GraphRpcs:
    """The grouped job graph."""

    def __init__(self, core: ServiceCore) -> None:
        self.core = core
        self.shapes = Shapes()

    async def GetJobGraph(self, request: pb.WorkflowRef,
                          context: grpc.aio.ServicerContext) -> pb.JobGraph:
        wf = await self.core.read(context, request.workflow_id)
        shape = await self.shapes.of(wf)
        counts: list[Counter[int]] = [Counter() for _ in shape.groups]
        n = len(shape.group_of)
        for start in range(0, n, SLICE):
            if start:
                await asyncio.sleep(0)
            end = min(start + SLICE, n)  # jobs added meanwhile wait for the next shape
            graph.count(shape, start, [j.status for j in wf.jobs[start:end]], counts)
        reply = pb.JobGraph(workflow_id=request.workflow_id, total_jobs=n)
        for (level, pattern), c in zip(shape.groups, counts, strict=True):
            reply.groups.add(level=level, pattern=pattern, jobs=sum(c.values()),
                             states={S.name(k): v for k, v in c.items()})
        reply.edge_from.extend(a for a, _ in shape.edges)
        reply.edge_to.extend(b for _, b in shape.edges)
        return reply
