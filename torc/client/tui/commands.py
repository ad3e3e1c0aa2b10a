"""What the TUI's keys do: each asks for a confirmation where Torc's does (destructive ones),
then makes the same calls as the CLI (the same RPCs, the same access rules), and says what
happened. Running locally and submitting run the CLI itself (``torc run``, ``torc workflows
submit``) with their output shown live."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from torc.client.tui import texts
from torc.client.tui.dialogs import Confirm, Prompt, TextViewer

if TYPE_CHECKING:
    from torc.client.tui.screen import MainScreen


class Commands:
    """The keys' actions on the main screen's selected workflow and job."""

    def __init__(self, screen: MainScreen) -> None:
        self.screen = screen

    @property
    def tui(self) -> Any:
        return self.screen.tui

    async def _confirm(self, question: str, details: list[str] | tuple[str, ...] = ()
                       ) -> bool:
        return bool(await self.tui.push_screen_wait(Confirm(question, details)))

    def _workflow(self) -> int:
        if not self.screen.wf_id:
            self.screen.notify("no workflow selected", severity="warning")
        return self.screen.wf_id

    async def _done(self, what: str, result: Any) -> None:
        if result is not None:
            self.screen.notify(what)
        await self.screen.load_workflows()
        await self.screen.load_tab()

    # ----- workflows

    async def new(self) -> None:
        """``n``: a workflow from a spec file (YAML, JSON, JSON5, KDL)."""
        path = await self.tui.push_screen_wait(Prompt("spec file (YAML, JSON, JSON5 or KDL)"))
        if not path:
            return
        wf_id = await self.tui.call(self.tui.client.create_workflow, Path(path.strip()))
        if wf_id is not None:
            self.screen.notify(f"created workflow {wf_id}")
            await self.screen.load_workflows()
            await self.screen.select(wf_id)

    async def initialize(self) -> None:
        """``i``: set up dependencies and mark jobs ready."""
        wf = self._workflow()
        if wf:
            await self._done(f"workflow {wf} initialized",
                             await self.tui.call(self.tui.client.initialize, wf, Path.cwd()))

    async def reinitialize(self) -> None:
        """``I``: reset what changed and start a new run, after saying what will rerun."""
        wf = self._workflow()
        if not wf:
            return
        plan = await self.tui.call(self.tui.client.plan_reinitialize, wf, Path.cwd())
        if plan is None:
            return
        details = [f"job {j}: {why}" for j, why in plan] or ["no completed job runs again"]
        if await self._confirm(f"reinitialize workflow {wf}?", details):
            await self._done(f"workflow {wf} reinitialized",
                             await self.tui.call(self.tui.client.reinitialize, wf, Path.cwd()))

    async def reset(self) -> None:
        """``R``: every job back to uninitialized."""
        wf = self._workflow()
        if wf and await self._confirm(f"reset every job of workflow {wf} to uninitialized?"):
            await self._done(f"workflow {wf} reset",
                             await self.tui.call(self.tui.client.reset_status, wf))

    async def cancel(self) -> None:
        """``C``: nothing more starts; running jobs are killed; its allocations canceled."""
        wf = self._workflow()
        if wf and await self._confirm(f"cancel workflow {wf}? running jobs are killed"):
            await self._done(f"workflow {wf} canceled",
                             await self.tui.call(self.tui.client.cancel, wf))

    async def delete(self) -> None:
        """``d``: delete the workflow and everything recorded about it."""
        wf = self._workflow()
        if wf and await self._confirm(f"delete workflow {wf}? this cannot be undone"):
            if await self.tui.call(lambda: self.tui.client.delete_workflow(wf) or True):
                self.screen.notify(f"workflow {wf} deleted")
                self.screen.wf_id = 0
                await self.screen.load_workflows()

    async def run(self) -> None:
        """``x``: run it here (``torc run ID``: a local worker), its output shown live."""
        wf = self._workflow()
        if wf:
            await self._stream(f"run workflow {wf} here", ["run", str(wf)])

    async def submit(self) -> None:
        """``s``: initialize if needed and submit its Slurm allocations."""
        wf = self._workflow()
        if wf and await self._confirm(f"submit workflow {wf} to Slurm?"):
            await self._stream(f"submit workflow {wf}", ["workflows", "submit", str(wf)])

    async def _stream(self, title: str, verb: list[str]) -> None:
        """Run ``torc VERB`` against this coordinator; show its output as it comes."""
        viewer = TextViewer(title, [("output", "")])
        self.tui.push_screen(viewer)
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "torc.client.cli", "--url", self.tui.connection.url, *verb,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
            stdin=asyncio.subprocess.DEVNULL)
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            viewer.append(line.decode(errors="replace"))
        code = await proc.wait()
        viewer.append(f"\n[{' '.join(['torc', *verb])} exited with code {code}]\n")
        await self.screen.load_workflows()
        await self.screen.load_tab()

    # ----- jobs

    async def job_details(self, job_id: int) -> None:
        """``Enter`` on a job."""
        text = await self.tui.call(texts.job_details, self.tui.client, self.screen.wf_id,
                                   job_id)
        if text is not None:
            self.tui.push_screen(TextViewer(f"job {job_id}", [("details", text)]))

    async def logs(self) -> None:
        """``l``: the job's stdout and stderr (every attempt, the latest first)."""
        job = self.screen.selected_job()
        if job is None:
            return
        pages = await self.tui.call(texts.job_logs, self.tui.client, self.screen.wf_id, job,
                                    self.tui.output_dir)
        if pages is not None:
            self.tui.push_screen(TextViewer(f"logs of job {job}", pages))

    async def view_file(self, file_id: int) -> None:
        """``Enter`` on a file: its contents."""
        files = await self.tui.call(self.tui.client.list_files, self.screen.wf_id)
        match = [f for f in files or () if f.id == file_id]
        if match:
            text = await asyncio.to_thread(texts.read_text, Path(match[0].path))
            self.tui.push_screen(TextViewer(match[0].path, [("file", text)]))

    async def _job_change(self, verb: str, call: Any, *args: Any) -> None:
        job = self.screen.selected_job()
        if job is None:
            return
        if await self._confirm(f"{verb} job {job}?"):
            await self._done(f"job {job}: {verb} asked",
                             await self.tui.call(call, self.screen.wf_id, [job], *args))

    async def cancel_job(self) -> None:
        """``c``: the job (and what depends on it) is canceled; killed if running."""
        await self._job_change("cancel", self.tui.client.cancel_jobs)

    async def terminate_job(self) -> None:
        """``t``: as cancel, but the job ends terminated."""
        await self._job_change("terminate", self.tui.client.cancel_jobs, True)

    async def retry_job(self) -> None:
        """``y``: run a failed (canceled, terminated) job again, with what depends on it."""
        job = self.screen.selected_job()
        if job is not None and await self._confirm(f"retry job {job} (and its dependents)?"):
            await self._done(f"job {job} retried", await self.tui.call(
                lambda: self.tui.client.reset_status(self.screen.wf_id, job_ids=[job],
                                                     retry=True)))

    # ----- the server

    async def start_server(self) -> None:
        """``S``: start a coordinator here and use it."""
        url = await self.tui.call(self.tui.connection.start)
        if url:
            self.tui.connect(url)
            self.screen.notify(f"coordinator started at {url}")
            await self.screen.load_workflows()

    async def stop_server(self) -> None:
        """``K``: stop the coordinator this TUI started."""
        if self.tui.connection.managed is None:
            self.screen.notify("this TUI started no coordinator", severity="warning")
        elif await self._confirm("stop the coordinator this TUI started?"):
            await asyncio.to_thread(self.tui.connection.stop)
            self.tui.client_ok = False
            self.screen.show_server()

    async def server_output(self) -> None:
        """``O``: what the coordinator this TUI started wrote."""
        self.tui.push_screen(TextViewer("coordinator output",
                                        [("log", self.tui.connection.log())]))
