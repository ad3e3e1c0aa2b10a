"""When and how the serving coordinator takes its snapshots: one child at a time, paced and in
the idle CPU class while serving, taken again outside it when a busy machine starves it, and
at full speed for the final one."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from pathlib import Path

from torc.server.persistence.recovery import NOT_PLACED, fork_snapshot
from torc.server.persistence.wal import Wal
from torc.server.state.store import Store

log = logging.getLogger("torc.coord")

# A periodic snapshot still running when the WAL has grown this many snapshot intervals past
# it is starved (every CPU busy with other work): it is taken again as an ordinary process.
OVERDUE = 4
POLL = 1.0  # seconds between looks at a running child


class Snapshotter:
    """Takes the coordinator's snapshots; ``snapshot`` for a periodic one, ``final`` for the
    one a clean stop takes (which first stops a periodic one still running)."""

    def __init__(self, data_dir: Path, boot: str, wal: Wal, store: Store,
                 cpu_share: float, every: int) -> None:
        self.data_dir, self.boot, self.wal, self.store = data_dir, boot, wal, store
        self.cpu_share, self.every = cpu_share, every
        # One at a time: the final one may start while a periodic one runs, and each removes
        # the parts the other's snapshot has not named yet (snapshot_parts).
        self.lock = asyncio.Lock()
        self.child: int | None = None  # the pid of a snapshot being written
        self.stopping = False

    async def snapshot(self) -> None:
        """A periodic snapshot: the child uses at most ``cpu_share`` of a CPU, and only CPU
        time nothing else wants, unless it starves."""
        async with self.lock:
            if await self._take(self.cpu_share, idle=True) and not self.stopping:
                await self._take(self.cpu_share, idle=False)

    async def final(self) -> None:
        """The clean stop's snapshot: nothing is served any more, so at full speed and as
        any other process (an idle-class child would starve on a busy machine)."""
        self.stopping = True
        if self.child is not None:
            # A periodic snapshot, paced, could take minutes: the final one replaces it.
            # What it wrote is named by no snapshot, and removed when the final one lands.
            try:
                os.kill(self.child, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it has just ended; its task sees that and lets the lock go
        async with self.lock:
            await self._take(1.0, idle=False)

    async def _take(self, cpu_share: float, idle: bool) -> bool:
        """Fork a snapshot child and wait for it; True when it was stopped for starving."""
        wal = self.wal
        t0 = time.perf_counter()
        seq = wal.last_seq
        continued_by = wal.request_rotation()
        wal.records_since_snapshot = 0
        pid, go = fork_snapshot(self.data_dir, self.store, seq, self.boot, cpu_share, idle)
        self.child = pid
        starved = False
        try:
            waiting = asyncio.get_running_loop().run_in_executor(None, os.waitpid, pid, 0)
            # The child may put its snapshot in place once the log holds everything it holds
            # and the segment that continues it exists; never before (a crash between the
            # two would serve changes nobody was told were kept).
            try:
                await wal.sync(seq)
                await wal.segment_ready(continued_by)
                os.write(go, b"1")
            except Exception as e:  # noqa: BLE001 - the log failed: the child abandons it
                log.error("the snapshot at seq %d is abandoned: %s", seq, e)
            finally:
                os.close(go)
            while True:
                done, _ = await asyncio.wait({waiting}, timeout=POLL)
                if done:
                    _, status = waiting.result()
                    break
                if (idle and not starved and not self.stopping
                        and wal.records_since_snapshot >= OVERDUE * self.every):
                    starved = True
                    os.kill(pid, signal.SIGKILL)
        finally:
            self.child = None
        code = os.waitstatus_to_exitcode(status)
        if code == -signal.SIGKILL and self.stopping:
            log.info("the snapshot at seq %d was stopped for the final one", seq)
            return False
        if code == -signal.SIGKILL and starved:
            log.warning("the snapshot at seq %d was starved of CPU by other work (%d WAL "
                        "records since); taking it again outside the idle class",
                        seq, wal.records_since_snapshot)
            return True
        if code == NOT_PLACED:
            log.info("the snapshot at seq %d was not put in place; the WAL is kept", seq)
            return False
        if code != 0:
            log.error("snapshot at seq %d failed (child exit %d); the WAL is kept", seq, code)
            return False
        removed = await wal.run_in_file_thread(wal.remove_segments_upto, seq)
        log.info("snapshot at seq %d in %.2fs, %d WAL segment(s) removed", seq,
                 time.perf_counter() - t0, removed)
        return False
