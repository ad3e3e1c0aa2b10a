"""The TUI's main screen: the server bar, the user filter, the workflows pane and the
details tabs (Jobs → Files → Events → Results → DAG), with Torc's keys. What each key does
to a workflow or a job is in :mod:`torc.client.tui.commands`; the tables' contents come from
:mod:`torc.client.tui.rows`."""

from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static, TabbedContent, TabPane

from torc.client.tui import dag, rows
from torc.client.tui.commands import Commands
from torc.client.tui.dialogs import Help, Prompt

if TYPE_CHECKING:
    from torc.client.tui.app import TorcTui

TABS = ("jobs", "files", "events", "results", "dag")
EVENTS_SHOWN = 500  # rows of the Events tab (newest first); more are kept to filter
EVENTS_KEPT = 5000


class MainScreen(Screen[None]):
    """Workflows on top, the selected one's details below."""

    BINDINGS = [
        Binding("q", "app.quit", "quit"), Binding("question_mark", "help", "help"),
        Binding("tab", "next_tab", "next tab", priority=True),
        Binding("left", "focus_workflows", show=False, priority=True),
        Binding("right", "focus_details", show=False, priority=True),
        Binding("r", "refresh", "refresh"), Binding("A", "auto_refresh", "auto-refresh"),
        Binding("w", "user_filter", "user"), Binding("a", "all_users", "all users"),
        Binding("u", "url", "URL", show=False),
        Binding("n", "cmd('new')", "new"), Binding("i", "cmd('initialize')", "init"),
        Binding("I", "cmd('reinitialize')", "reinit"), Binding("R", "cmd('reset')", "reset"),
        Binding("x", "cmd('run')", "run"), Binding("s", "cmd('submit')", "submit"),
        Binding("C", "cmd('cancel')", "cancel"), Binding("d", "cmd('delete')", "delete"),
        Binding("l", "cmd('logs')", "logs", show=False),
        Binding("c", "cmd('cancel_job')", show=False),
        Binding("t", "cmd('terminate_job')", show=False),
        Binding("y", "cmd('retry_job')", show=False),
        Binding("f", "filter", "filter", show=False),
        Binding("left_square_bracket", "page(-1)", show=False),
        Binding("right_square_bracket", "page(1)", show=False),
        Binding("S", "cmd('start_server')", show=False),
        Binding("K", "cmd('stop_server')", show=False),
        Binding("O", "cmd('server_output')", show=False)]
    DEFAULT_CSS = """
    #keys { height: 1; background: $primary; color: $text; }
    #server, #user { height: 1; }
    #workflows { height: 35%; border: round $secondary; }
    #workflows:focus-within { border: round $accent; }
    TabbedContent { height: 1fr; }
    .info { height: 1; color: $text-muted; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.wf_id = 0  # the workflow whose details show
        self.first_job = 0  # the Jobs tab's first row
        self.total = 0
        self.job_filter = rows.JobFilter()
        self.event_filter = ""
        self.events: deque[Any] = deque(maxlen=EVENTS_KEPT)
        self.events_dirty = False
        self.jobs_dirty = False
        self.auto = None
        self.commands = Commands(self)

    @property
    def tui(self) -> TorcTui:
        """The app, typed."""
        return self.app  # type: ignore[return-value]

    def compose(self) -> ComposeResult:
        yield Static(Text(" torc ─ ?: help | n: new | i: init | I: reinit | R: reset | x: run "
                          "| s: submit | C: cancel | d: delete", no_wrap=True), id="keys")
        yield Static(id="server")
        yield Static(id="user")
        yield DataTable(id="workflows", cursor_type="row", zebra_stripes=True)
        with TabbedContent(id="details", initial="jobs"):
            with TabPane("Jobs", id="jobs"):
                yield Static(classes="info", id="jobs-info")
                yield DataTable(id="jobs-table", cursor_type="row", zebra_stripes=True)
            with TabPane("Files", id="files"):
                yield DataTable(id="files-table", cursor_type="row")
            with TabPane("Events", id="events"):
                yield Static(classes="info", id="events-info")
                yield DataTable(id="events-table", cursor_type="row")
            with TabPane("Results", id="results"):
                yield DataTable(id="results-table", cursor_type="row")
            with TabPane("DAG", id="dag"):
                with VerticalScroll(id="dag-scroll"):
                    yield Static(id="dag-text")
        yield Footer()

    def on_mount(self) -> None:
        for name, columns in (("workflows", rows.WORKFLOW_COLUMNS),
                              ("jobs-table", rows.JOB_COLUMNS),
                              ("files-table", rows.FILE_COLUMNS),
                              ("events-table", rows.EVENT_COLUMNS),
                              ("results-table", rows.RESULT_COLUMNS)):
            self.query_one(f"#{name}", DataTable).add_columns(*columns)
        self.set_interval(0.5, self.flush)  # live changes reach the screen twice a second
        self.show_server()
        self.query_one("#workflows", DataTable).focus()
        self.run_worker(self.load_workflows(), exclusive=True, group="workflows")

    # ----- what shows

    def show_server(self) -> None:
        """The server bar and the user filter."""
        c = self.tui.connection
        note = "" if self.tui.client_ok else "  [red]not connected: u to change, S to start " \
                                             "a coordinator here[/]"
        self.query_one("#server", Static).update(
            f" server {c.url} {c.indicator()}  S: start | K: stop | O: output{note}")
        who = "all users" if self.tui.all_users else self.tui.user or "(everyone)"
        auto = "  auto-refresh on" if self.auto is not None else ""
        self.query_one("#user", Static).update(
            f" user filter: {who}  (w: change, a: all users){auto}")

    async def load_workflows(self) -> None:
        """Fill the workflows pane; keep the selection."""
        got = await self.tui.call(rows.workflows, self.tui.client, self.tui.user,
                                  self.tui.all_users)
        self.show_server()
        if got is None:
            return
        table = self.query_one("#workflows", DataTable)
        fill(table, got)
        if self.wf_id:
            try:
                table.move_cursor(row=table.get_row_index(str(self.wf_id)))
            except Exception:  # the workflow went away
                pass
        elif got:
            await self.select(got[0][0])

    async def select(self, wf_id: int) -> None:
        """Show ``wf_id``'s details (Enter): its tables, and its events as they happen."""
        if wf_id == self.wf_id:
            return
        self.wf_id, self.first_job = wf_id, 0
        self.events.clear()
        self.events_dirty = True
        self.tui.follow(wf_id, self.on_workflow_event)
        await self.load_tab()
        if self.total > dag.GROUP_PAST:  # the coordinator groups it now, not on Tab to DAG
            self.run_worker(self.tui.call(self.tui.client.job_graph, wf_id), group="warm",
                            exclusive=True)

    async def load_tab(self, tab: str | None = None) -> None:
        """(Re)load the active tab (or ``tab``) of the selected workflow."""
        tab = tab or self.query_one(TabbedContent).active
        wf = self.wf_id
        if not wf:
            return
        if tab == "jobs":
            got = await self.tui.call(rows.job_page, self.tui.client, wf, self.first_job,
                                      self.job_filter)
            if got is not None:
                page, self.total = got
                fill(self.query_one("#jobs-table", DataTable), page)
                shown = f"{self.first_job + 1}–{self.first_job + len(page)}" if page else "none"
                flt = f"  filter {self.job_filter}" if str(self.job_filter) else ""
                self.query_one("#jobs-info", Static).update(
                    f" workflow {wf}: jobs {shown} of {self.total}{flt}   "
                    "Enter: details · l: logs · c/t/y: cancel/terminate/retry · f: filter · "
                    "[ ]: pages")
        elif tab == "files":
            got = await self.tui.call(rows.files, self.tui.client, wf)
            if got is not None:
                fill(self.query_one("#files-table", DataTable), got)
        elif tab == "results":
            got = await self.tui.call(rows.results, self.tui.client, wf)
            if got is not None:
                fill(self.query_one("#results-table", DataTable), got)
        elif tab == "dag":
            got = await self.tui.call(rows.dag_lines, self.tui.client, wf,
                                      max(40, self.size.width - 4))
            if got is not None:
                text = Text()
                for line, status in got:
                    text.append(line + "\n", rows.COLOURS.get(status, ""))
                self.query_one("#dag-text", Static).update(text)
        elif tab == "events":
            self.show_events()

    def show_events(self) -> None:
        """The Events tab: newest first, filtered, at most EVENTS_SHOWN rows."""
        table = self.query_one("#events-table", DataTable)
        flt = self.event_filter.lower()
        shown = []
        for ev in reversed(self.events):
            if flt and flt not in ev.kind.lower() and flt not in ev.message.lower():
                continue
            shown.append((None, (rows.when(ev.timestamp), Text(ev.kind, style=rows.COLOURS.get(
                ev.job_status, "bold")), ev.message)))
            if len(shown) >= EVENTS_SHOWN:
                break
        fill(table, shown)
        live = "[green]live[/]" if self.tui.streaming else "[yellow]connecting[/]"
        flt_text = f"  filter {self.event_filter!r}" if self.event_filter else ""
        self.query_one("#events-info", Static).update(
            f" workflow {self.wf_id}: {len(shown)} events {live}{flt_text}   f: filter")

    def on_workflow_event(self, ev: Any) -> None:
        """An event of the selected workflow arrived (on the app's loop)."""
        self.events.append(ev)
        self.events_dirty = True
        if ev.job_id or ev.kind in ("initialized", "reinitialized", "reset", "canceled",
                                    "complete", "jobs_changed"):
            self.jobs_dirty = True

    async def flush(self) -> None:
        """Bring the screen up to date with what arrived (bounded: twice a second)."""
        tab = self.query_one(TabbedContent).active
        if self.events_dirty and tab == "events":
            self.events_dirty = False
            self.show_events()
        if self.jobs_dirty:
            self.jobs_dirty = False
            if tab in ("jobs", "results", "dag"):
                await self.load_tab(tab)
            await self.load_workflows()

    # ----- keys

    def action_help(self) -> None:
        self.app.push_screen(Help())

    def action_next_tab(self) -> None:
        tabs = self.query_one(TabbedContent)
        tabs.active = TABS[(TABS.index(tabs.active) + 1) % len(TABS)]
        self.action_focus_details()

    def action_focus_workflows(self) -> None:
        self.query_one("#workflows", DataTable).focus()

    def action_focus_details(self) -> None:
        tab = self.query_one(TabbedContent).active
        target = "#dag-scroll" if tab == "dag" else f"#{tab}-table"
        self.query_one(target).focus()

    async def on_tabbed_content_tab_activated(self, event: TabbedContent.TabActivated) -> None:
        await self.load_tab(event.pane.id)

    async def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        key = event.row_key.value
        if event.data_table.id == "workflows" and key is not None:
            await self.select(int(key))
            self.action_focus_details()
        elif event.data_table.id == "jobs-table" and key is not None:
            self.run_worker(self.commands.job_details(int(key)), group="commands")
        elif event.data_table.id == "files-table" and key is not None:
            self.run_worker(self.commands.view_file(int(key)), group="commands")

    async def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        if event.data_table.id == "workflows" and event.row_key.value is not None:
            await self.select(int(event.row_key.value))

    async def action_refresh(self) -> None:
        await self.load_workflows()
        await self.load_tab()

    def action_auto_refresh(self) -> None:
        """Torc's ``A``: refresh everything every 30 seconds (events are live anyway)."""
        if self.auto is None:
            self.auto = self.set_interval(30, self.action_refresh)
        else:
            self.auto.stop()
            self.auto = None
        self.show_server()

    def action_user_filter(self) -> None:
        def chosen(user: str | None) -> None:
            if user is not None:
                self.tui.user, self.tui.all_users = user.strip(), False
                self.run_worker(self.load_workflows(), exclusive=True, group="workflows")
        self.app.push_screen(Prompt("show the workflows of user (empty: everyone's)",
                                    self.tui.user), chosen)

    def action_all_users(self) -> None:
        self.tui.all_users = not self.tui.all_users
        self.run_worker(self.load_workflows(), exclusive=True, group="workflows")

    def action_url(self) -> None:
        def chosen(url: str | None) -> None:
            if url:
                self.tui.connect(url.strip())
                self.wf_id = 0
                self.run_worker(self.load_workflows(), exclusive=True, group="workflows")
        self.app.push_screen(Prompt("coordinator URL (host:port)", self.tui.connection.url),
                             chosen)

    def action_filter(self) -> None:
        tab = self.query_one(TabbedContent).active
        if tab == "events":
            def events(text: str | None) -> None:
                if text is not None:
                    self.event_filter = text.strip()
                    self.show_events()
            self.app.push_screen(Prompt("show events whose kind or text has",
                                        self.event_filter), events)
            return

        def jobs(text: str | None) -> None:
            if text is None:
                return
            try:
                self.job_filter = rows.JobFilter.parse(text)
            except ValueError as e:
                self.notify(str(e), severity="error")
                return
            self.first_job = 0
            self.query_one(TabbedContent).active = "jobs"
            self.run_worker(self.load_tab("jobs"), exclusive=True, group="tab")
        self.app.push_screen(Prompt("filter jobs: status:VALUE or name:REGEX (empty: none)",
                                    str(self.job_filter)), jobs)

    async def action_page(self, step: int) -> None:
        new = self.first_job + step * rows.PAGE
        if 0 <= new < max(self.total, 1):
            self.first_job = new
            await self.load_tab("jobs")

    def action_cmd(self, name: str) -> None:
        # In a worker: a command waits for its confirmation (push_screen_wait).
        self.run_worker(getattr(self.commands, name)(), group="commands")

    def selected_job(self) -> int | None:
        """The job under the Jobs tab's cursor, when that tab shows."""
        if self.query_one(TabbedContent).active != "jobs":
            self.notify("select a job in the Jobs tab first", severity="warning")
            return None
        table = self.query_one("#jobs-table", DataTable)
        if not table.row_count:
            return None
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return int(key) if key is not None else None


def fill(table: DataTable, got: list[tuple[Any, tuple]]) -> None:
    """Replace a table's rows, keeping the cursor's row number."""
    row = table.cursor_row
    table.clear()
    for key, cells in got:
        table.add_row(*cells, key=None if key is None else str(key))
    if got:
        table.move_cursor(row=min(row, len(got) - 1))
