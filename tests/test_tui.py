"""``torc tui`` driven key by key through Textual's pilot (headless, the real application)
against a real coordinator and worker, and once in a real terminal (tmux)."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets import DataTable, Static, TabbedContent

from tests.conftest import Coordinator, job_states, start_worker, wait_for, write_spec
from torc.client.tui.app import TorcTui
from torc.client.tui.dialogs import Confirm, Prompt, TextViewer
from torc.client.tui.server import Connection

SIZE = (100, 32)


async def until(pilot: Any, cond: Callable[[], Any], timeout: float = 60) -> Any:
    """Let the app run until ``cond()`` holds (a condition, not a guess at a time)."""
    deadline = time.monotonic() + timeout
    while True:
        got = cond()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {cond}")
        await pilot.pause(0.05)


def table(app: TorcTui, name: str) -> DataTable:
    return app.screen.query_one(f"#{name}", DataTable)


def cells(app: TorcTui, name: str, column: int) -> list[str]:
    t = table(app, name)
    return [str(t.get_row_at(i)[column]) for i in range(t.row_count)]


def text_of(app: TorcTui, selector: str) -> str:
    return str(app.screen.query_one(selector, Static).render())


def viewer_text(app: TorcTui) -> str:
    assert isinstance(app.screen, TextViewer), app.screen
    return app.screen.text


async def type_text(pilot: Any, text: str) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, Prompt))
    for ch in text:
        await pilot.press(ch if ch != " " else "space")
    await pilot.press("enter")


async def confirm(pilot: Any) -> None:
    await until(pilot, lambda: isinstance(pilot.app.screen, Confirm))
    await pilot.press("y")


def _demo(c: Any, tmp_path: Path) -> int:
    (tmp_path / "in.txt").write_text("input\n")
    return c.create_workflow({"name": "demo", "files": [
        {"name": "in", "path": str(tmp_path / "in.txt")}], "jobs": [
        {"name": "prep", "command": "echo prepping; echo prep-warning >&2",
         "input_files": ["in"]},
        {"name": "work_{i}", "command": "echo work {i}", "depends_on": ["prep"],
         "parameters": {"i": "1:5"}},
        {"name": "bad", "command": "echo line1; echo oops-marker >&2; exit 3",
         "depends_on": ["prep"]}]})


def test_browse_a_finished_run_tab_by_tab(coordinator: Coordinator, tmp_path: Path) -> None:
    c = coordinator.client
    wf_id = _demo(c, tmp_path)
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=60) == 0

    async def scenario() -> None:
        app = TorcTui(Connection(coordinator.url, tmp_path / "unused"), user="")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: table(app, "jobs-table").row_count == 7)
            assert cells(app, "workflows", 1) == ["demo"]
            assert "jobs 1–7 of 7" in text_of(app, "#jobs-info")
            statuses = dict(zip(cells(app, "jobs-table", 1), cells(app, "jobs-table", 2),
                                strict=True))
            assert statuses["bad"] == "failed" and statuses["work_3"] == "completed"
            tabs = app.screen.query_one(TabbedContent)
            await pilot.press("tab")  # Jobs -> Files
            assert tabs.active == "files"
            await until(pilot, lambda: table(app, "files-table").row_count == 1)
            await pilot.press("tab")  # -> Events: the history, job events among it
            await until(pilot, lambda: "job_failed" in cells(app, "events-table", 1))
            kinds = cells(app, "events-table", 1)
            # newest first: the worker stopped after the workflow completed
            assert kinds[:2] == ["compute_node_stopped", "complete"]
            assert kinds.count("job_completed") == 6 and "created" in kinds
            await pilot.press("f")
            await type_text(pilot, "oops")  # nothing matches: the filter shows none
            await until(pilot, lambda: table(app, "events-table").row_count == 0)
            await pilot.press("f")
            await type_text(pilot, "failed")
            await until(pilot, lambda: set(cells(app, "events-table", 1)) == {
                "failed", "job_failed"})
            await pilot.press("tab")  # -> Results, newest first
            await until(pilot, lambda: table(app, "results-table").row_count == 7)
            await pilot.press("tab")  # -> DAG
            await until(pilot, lambda: "level 1" in text_of(app, "#dag-text"))
            dag = text_of(app, "#dag-text")
            assert "prep [completed]" in dag and "bad [failed]  ← prep" in dag
            await pilot.press("tab")  # back to Jobs
            assert tabs.active == "jobs"

            # A job's details, then its logs: stdout, Tab to stderr, search, jump.
            await pilot.press("down", "down", "down", "down", "down", "down")
            await pilot.press("enter")
            await until(pilot, lambda: isinstance(app.screen, TextViewer))
            assert "bad" in viewer_text(app) and "return_code" in viewer_text(app)
            await pilot.press("q")
            await pilot.press("l")
            await until(pilot, lambda: isinstance(app.screen, TextViewer))
            assert "line1" in viewer_text(app)
            await pilot.press("tab")
            assert "oops-marker" in viewer_text(app)
            await pilot.press("slash")
            await type_text(pilot, "oops")
            await until(pilot, lambda: "line 3 of" in text_of(app, "#status"))
            await pilot.press("n", "N", "g", "G", "pagedown", "pageup", "up", "down")
            await pilot.press("q")
            assert not isinstance(app.screen, TextViewer)

            # Filter the jobs (f), then the help (?).
            await pilot.press("f")
            await type_text(pilot, "status:failed")
            await until(pilot, lambda: cells(app, "jobs-table", 1) == ["bad"])
            await pilot.press("question_mark")
            await until(pilot, lambda: isinstance(app.screen, TextViewer))
            assert "reinitialize" in text_of(app, "#body")
            await pilot.press("q")
            app.save_screenshot(str(tmp_path / "tui.svg"))
            await pilot.press("q")
    asyncio.run(scenario())
    assert "demo" in (tmp_path / "tui.svg").read_text()


def test_workflow_keys_create_run_and_clean_up(coordinator: Coordinator,
                                               tmp_path: Path, monkeypatch: Any) -> None:
    """n (from a spec file), i, x (run here, its output live), I, R, s, C, d, and the user
    filter (w, a) and URL (u) keys."""
    monkeypatch.chdir(tmp_path)
    spec = write_spec(tmp_path, {"name": "made", "jobs": [
        {"name": "one", "command": "echo made-it"},
        {"name": "two", "command": "true", "depends_on": ["one"]}]})
    c = coordinator.client

    async def scenario() -> None:
        app = TorcTui(Connection(coordinator.url, tmp_path / "unused"), user="")
        async with app.run_test(size=SIZE) as pilot:
            await pilot.press("n")
            await type_text(pilot, str(spec))
            await until(pilot, lambda: cells(app, "workflows", 1) == ["made"])
            wf_id = int(cells(app, "workflows", 0)[0])
            await pilot.press("i")
            await until(pilot, lambda: job_states(c, wf_id) == {"one": "ready",
                                                                "two": "blocked"})
            await pilot.press("x")  # torc run ID, its output in a viewer
            await until(pilot, lambda: isinstance(app.screen, TextViewer)
                        and "exited with code 0" in viewer_text(app), timeout=120)
            await pilot.press("q")
            await until(pilot, lambda: cells(app, "jobs-table", 2) == ["completed"] * 2)
            await pilot.press("I")  # reinitialize: nothing changed, nothing reruns
            await confirm(pilot)
            await pilot.press("R")
            await confirm(pilot)
            await until(pilot, lambda: set(job_states(c, wf_id).values()) == {
                "uninitialized"})
            await pilot.press("i")
            await until(pilot, lambda: job_states(c, wf_id)["one"] == "ready")
            # s: torc workflows submit, its answer shown (no Slurm scheduler: it says so).
            await pilot.press("s")
            await confirm(pilot)
            await until(pilot, lambda: isinstance(app.screen, TextViewer)
                        and "[torc workflows submit" in viewer_text(app), timeout=120)
            assert "schedule" in viewer_text(app).lower()
            await pilot.press("q")
            await pilot.press("C")
            await confirm(pilot)
            await until(pilot, lambda: c.get_workflow(wf_id).canceled)
            # Only another user's workflows: none; then all users' again.
            await pilot.press("w")
            await type_text(pilot, "somebody-else")
            await until(pilot, lambda: table(app, "workflows").row_count == 0)
            await pilot.press("a")
            await until(pilot, lambda: table(app, "workflows").row_count == 1)
            await pilot.press("u")
            await type_text(pilot, "")  # an empty answer keeps the URL
            await pilot.press("d")
            await confirm(pilot)
            await until(pilot, lambda: table(app, "workflows").row_count == 0)
            assert c.list_workflows() == []
            await pilot.press("q")
    asyncio.run(scenario())


def test_live_events_and_job_keys(coordinator: Coordinator, tmp_path: Path) -> None:
    """While a worker (2 CPUs) runs: the Jobs table and the Events tab change without a key
    pressed; c cancels a running job (killed), y retries a failed one, t terminates one."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "live", "jobs": [
        {"name": "first", "command": "exit 7"},
        {"name": "stuck", "command": "exec sleep 300"},
        {"name": "after_stuck", "command": "true", "depends_on": ["stuck"]},
        {"name": "long", "command": "exec sleep 300"}]})
    c.initialize(wf_id)

    def row_of(app: TorcTui, name: str) -> int:
        return cells(app, "jobs-table", 1).index(name)

    async def on_job(pilot: Any, app: TorcTui, name: str, key: str) -> None:
        t = table(app, "jobs-table")
        t.focus()
        t.move_cursor(row=row_of(app, name))
        await pilot.press(key)
        await confirm(pilot)

    async def scenario() -> None:
        app = TorcTui(Connection(coordinator.url, tmp_path / "unused"), user="")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: table(app, "jobs-table").row_count == 4)
            worker = start_worker(coordinator.url, wf_id, tmp_path / "out", "--num-cpus", "2")
            try:
                # No key pressed: the job events bring the table up to date.
                await until(pilot, lambda: dict(zip(
                    cells(app, "jobs-table", 1), cells(app, "jobs-table", 2), strict=True))
                    == {"first": "failed", "stuck": "running", "after_stuck": "blocked",
                        "long": "running"})
                await on_job(pilot, app, "stuck", "c")  # one of the worker's 2 CPUs free
                await until(pilot, lambda: job_states(c, wf_id)["stuck"] == "canceled")
                # y while the worker still runs long: first runs again, fails again.
                await on_job(pilot, app, "first", "y")
                await until(pilot, lambda: len([r for r in c.list_results(
                    wf_id, all_runs=True) if r.job_name == "first"]) == 2)
                await on_job(pilot, app, "long", "t")
                await until(pilot, lambda: job_states(c, wf_id)["long"] == "terminated")
                assert worker.wait(timeout=120) == 0
                app.screen.query_one(TabbedContent).active = "events"
                await until(pilot, lambda: "job_terminated" in cells(app, "events-table", 1))
                assert "job_started" in cells(app, "events-table", 1)
            finally:
                worker.kill()
            await pilot.press("q")
    asyncio.run(scenario())
    assert job_states(c, wf_id) == {"first": "failed", "stuck": "canceled",
                                    "after_stuck": "canceled", "long": "terminated"}


def test_a_large_workflow_pages_from_the_coordinator(coordinator: Coordinator,
                                                     tmp_path: Path) -> None:
    """100,000 jobs: the Jobs tab holds one page of 200; [ and ] page through; the DAG
    groups all of them by name pattern (the coordinator groups: no job is read)."""
    c = coordinator.client
    wf_id = c.create_workflow({"name": "big", "jobs": [
        {"name": "case_{i}", "command": "true", "parameters": {"i": "1:100000"}}]})

    async def scenario() -> None:
        app = TorcTui(Connection(coordinator.url, tmp_path / "unused"), user="")
        async with app.run_test(size=(80, 24)) as pilot:
            await until(pilot, lambda: "of 100000" in text_of(app, "#jobs-info"))
            assert table(app, "jobs-table").row_count == 200
            await pilot.press("right", "right_square_bracket")
            await until(pilot, lambda: "jobs 201–400 of 100000" in text_of(app, "#jobs-info"))
            assert cells(app, "jobs-table", 1)[0] == "case_201"
            await pilot.press("left_square_bracket")
            await until(pilot, lambda: "jobs 1–200 of" in text_of(app, "#jobs-info"))
            app.screen.query_one(TabbedContent).active = "dag"
            await until(pilot, lambda: "case_* ×100000" in text_of(app, "#dag-text"),
                        timeout=120)
            assert "(100000 uninitialized)" in text_of(app, "#dag-text")
            await pilot.press("q")
    asyncio.run(scenario())
    assert wf_id


def test_server_keys_start_show_and_stop_a_coordinator(tmp_path: Path) -> None:
    """S starts a coordinator here (● in the server bar), O shows its output, K stops it
    (○); the TUI starts with nothing listening and says so."""
    async def scenario() -> None:
        app = TorcTui(Connection("127.0.0.1:9", tmp_path / "data"), user="")
        async with app.run_test(size=SIZE) as pilot:
            await until(pilot, lambda: "not connected" in text_of(app, "#server"))
            await pilot.press("S")
            await until(pilot, lambda: "●" in text_of(app, "#server"), timeout=60)
            assert app.connection.url != "127.0.0.1:9"
            app.client.create_workflow({"name": "here", "jobs": [
                {"name": "a", "command": "true"}]})
            await pilot.press("r")
            await until(pilot, lambda: cells(app, "workflows", 1) == ["here"])
            await pilot.press("O")
            await until(pilot, lambda: isinstance(app.screen, TextViewer))
            await pilot.press("q")
            await pilot.press("K")
            await confirm(pilot)
            await until(pilot, lambda: "○" in text_of(app, "#server"))
            await pilot.press("q")
    asyncio.run(scenario())
    assert (tmp_path / "data" / "coordinator.log").exists()


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_in_a_real_terminal_of_80_by_24(coordinator: Coordinator, tmp_path: Path) -> None:
    """tmux: start ``torc tui``, send keys, read the screen."""
    c = coordinator.client
    wf_id = _demo(c, tmp_path)
    c.initialize(wf_id)
    assert start_worker(coordinator.url, wf_id, tmp_path / "out").wait(timeout=60) == 0
    session = f"torc-tui-{os.getpid()}"
    env = {**os.environ, "TERM": "xterm-256color"}
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "80", "-y", "24",
                    f"{sys.executable} -m torc.client.cli --url {coordinator.url} tui"],
                   check=True, env=env, cwd=tmp_path)

    def screen() -> str:
        return subprocess.run(["tmux", "capture-pane", "-p", "-t", session],
                              capture_output=True, text=True).stdout

    try:
        wait_for(lambda: "demo" in screen() and "work_1" in screen(), timeout=60)
        assert "server 127.0.0.1" in screen()
        # A key at a time, each looked for on the screen, as a person types: keys sent in
        # the very first moments can be lost in Textual's start-up handshake with the
        # terminal (1 in 8 here when two come in one write; none once it has settled).
        subprocess.run(["tmux", "send-keys", "-t", session, "Tab"], check=True)
        wait_for(lambda: "in.txt" in screen(), timeout=60)  # the Files tab
        subprocess.run(["tmux", "send-keys", "-t", session, "Tab"], check=True)
        wait_for(lambda: "job_completed" in screen(), timeout=60)  # the Events tab
        subprocess.run(["tmux", "send-keys", "-t", session, "?"], check=True)
        wait_for(lambda: "Workflows" in screen() and "n new" in screen(), timeout=60)
        subprocess.run(["tmux", "send-keys", "-t", session, "q", "q"], check=True)
        wait_for(lambda: subprocess.run(["tmux", "has-session", "-t", session],
                                        capture_output=True).returncode != 0, timeout=60)
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_the_viewer_reads_logs_safely(tmp_path: Path) -> None:
    """A FIFO in a log's place does not hang the viewer; a binary file is a hex dump; a big
    one shows its last megabyte."""
    from torc.client.tui.texts import FILE_LIMIT, read_text

    os.mkfifo(tmp_path / "fifo")
    assert read_text(tmp_path / "fifo").startswith("(not a regular file")
    (tmp_path / "bin").write_bytes(b"\0\x01abc")
    assert "00 01 61 62 63" in read_text(tmp_path / "bin")
    (tmp_path / "big").write_bytes(b"x" * FILE_LIMIT + b"the end\n")
    text = read_text(tmp_path / "big")
    assert text.startswith(f"(the last {FILE_LIMIT} of {FILE_LIMIT + 8} bytes)")
    assert text.endswith("the end\n")
