"""The TUI's pop-ups: a yes/no confirmation, a one-line prompt, the help, and a text viewer
(logs, files, job details, a run's output) with Torc's log-viewer keys."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Input, Label, Static

HELP = """\
[b]Navigation[/b]   ↑/↓ move · ←/→ workflows ↔ details · Enter details
             Tab next tab (Jobs → Files → Events → Results → DAG)
             r refresh · A auto-refresh · q quit (or close) · ? this help
[b]Workflows[/b]    n new (spec file) · i initialize · I reinitialize · R reset · x run here
             s submit to Slurm · C cancel · d delete · w user filter · a all users · u server URL
[b]Jobs[/b]         Enter details · l logs · c cancel · t terminate · y retry · f filter
             \\[ ] previous/next page
[b]Events[/b]       f filter (kind or text)
[b]Logs, files[/b]  Tab stdout/stderr · ↑/↓ line · PgUp/PgDn 20 lines · g/G top/bottom
             / search · n/N next/previous match · q close
[b]Server[/b]       S start a coordinator here · K stop it · O its output
"""


class Confirm(ModalScreen[bool]):
    """Yes (``y``) or no (``n``, ``q``, Escape) to a question, with what it would touch."""

    BINDINGS = [Binding("y", "answer(True)", "yes"), Binding("n", "answer(False)", "no"),
                Binding("q,escape", "answer(False)", "no", show=False)]
    DEFAULT_CSS = """
    Confirm { align: center middle; }
    Confirm > Vertical { width: 80%; height: auto; max-height: 80%; border: heavy $warning;
                         background: $surface; padding: 0 1; }
    """

    def __init__(self, question: str, details: Sequence[str] = ()) -> None:
        super().__init__()
        self.question, self.details = question, list(details)

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(Text(self.question, style="bold"))
            for line in self.details[:15]:
                yield Label(Text("  " + line))
            if len(self.details) > 15:
                yield Label(f"  … and {len(self.details) - 15} more")
            yield Label(Text("y: yes   n: no", style="dim"))

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)


class Prompt(ModalScreen[str | None]):
    """One line of input (Enter), or nothing (Escape)."""

    BINDINGS = [Binding("escape", "cancel", "cancel")]
    DEFAULT_CSS = """
    Prompt { align: center middle; }
    Prompt > Vertical { width: 80%; height: auto; border: heavy $accent; background: $surface;
                        padding: 0 1; }
    """

    def __init__(self, question: str, value: str = "") -> None:
        super().__init__()
        self.question, self.value = question, value

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Label(self.question)
            yield Input(value=self.value, id="answer")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.dismiss(event.value)

    def action_cancel(self) -> None:
        self.dismiss(None)


class TextViewer(ModalScreen[None]):
    """Pages of text (one or more, ``Tab`` between them): scroll, jump, search."""

    BINDINGS = [
        Binding("q,escape", "close", "close"), Binding("tab", "next_page", "stdout/stderr"),
        Binding("g", "top", "top"), Binding("G", "bottom", "bottom"),
        Binding("up", "scroll(-1)", show=False), Binding("down", "scroll(1)", show=False),
        Binding("pageup", "scroll(-20)", show=False),
        Binding("pagedown", "scroll(20)", show=False),
        Binding("slash", "search", "search"), Binding("n", "match(1)", "next"),
        Binding("N", "match(-1)", "previous")]
    DEFAULT_CSS = """
    TextViewer > Vertical { border: heavy $accent; background: $surface; }
    TextViewer #title { height: 1; background: $accent; color: $text; }
    TextViewer VerticalScroll { height: 1fr; }
    TextViewer #status { height: 1; color: $text-muted; }
    """

    def __init__(self, title: str, pages: Sequence[tuple[str, str]]) -> None:
        """``pages``: (name, text) pairs, e.g. stdout and stderr."""
        super().__init__()
        self.title_text, self.pages = title, list(pages) or [("", "")]
        self.page = 0
        self.query_text = ""
        self.line = 0  # the line a search last found

    def compose(self) -> ComposeResult:
        with Vertical():
            yield Static(id="title")
            with VerticalScroll():
                yield Static(id="body", expand=True)
            yield Static(id="status")

    def on_mount(self) -> None:
        self._show()

    def append(self, text: str) -> None:
        """Add to the last page (a run's output as it comes); follows it when at the end."""
        name, old = self.pages[-1]
        self.pages[-1] = (name, old + text)
        if self.page == len(self.pages) - 1:
            scroll = self.query_one(VerticalScroll)
            at_end = scroll.scroll_y >= scroll.max_scroll_y - 1
            self._show(keep=True)
            if at_end:
                scroll.scroll_end(animate=False)

    @property
    def text(self) -> str:
        """The page shown."""
        return self.pages[self.page][1]

    def _show(self, keep: bool = False) -> None:
        name, text = self.pages[self.page]
        names = " | ".join(f"[{n}]" if i == self.page else n
                           for i, (n, _) in enumerate(self.pages))
        self.query_one("#title", Static).update(Text(f" {self.title_text}   {names}"))
        body = Text(text, no_wrap=True)
        if self.query_text:
            body.highlight_words([self.query_text], style="black on yellow")
        self.query_one("#body", Static).update(body)
        lines = text.count("\n") + 1
        found = f"  /{self.query_text}" if self.query_text else ""
        self.query_one("#status", Static).update(
            f" {lines} lines{found}   Tab: next page · g/G · / search · n/N · q: close")
        if not keep:
            self.query_one(VerticalScroll).scroll_home(animate=False)

    def action_close(self) -> None:
        self.dismiss(None)

    def action_next_page(self) -> None:
        self.page = (self.page + 1) % len(self.pages)
        self.line = 0
        self._show()

    def action_top(self) -> None:
        self.query_one(VerticalScroll).scroll_home(animate=False)

    def action_bottom(self) -> None:
        self.query_one(VerticalScroll).scroll_end(animate=False)

    def action_scroll(self, lines: int) -> None:
        scroll = self.query_one(VerticalScroll)
        scroll.scroll_to(y=max(0, scroll.scroll_y + lines), animate=False)

    def action_search(self) -> None:
        def found(answer: str | None) -> None:
            if answer:
                self.query_text = answer
                self.line = -1
                self._show(keep=True)
                self.action_match(1)
        self.app.push_screen(Prompt("search for", self.query_text), found)

    def action_match(self, step: int) -> None:
        """Scroll to the next (``1``) or previous (``-1``) line holding the search text."""
        if not self.query_text:
            return
        lines = self.text.split("\n")
        for k in range(1, len(lines) + 1):
            i = (self.line + step * k) % len(lines)
            if self.query_text in lines[i]:
                self.line = i
                self.query_one(VerticalScroll).scroll_to(y=max(0, i - 2), animate=False)
                self.query_one("#status", Static).update(
                    f" line {i + 1} of {len(lines)}  /{self.query_text}   n/N: next/previous")
                return
        self.notify(f"{self.query_text!r} not found", severity="warning")


class Help(TextViewer):
    """The keys (``?``)."""

    def __init__(self) -> None:
        super().__init__("torc tui: keys", [("help", "")])

    def _show(self, keep: bool = False) -> None:
        self.query_one("#title", Static).update(" torc tui: keys")
        self.query_one("#body", Static).update(Text.from_markup(HELP))
        self.query_one("#status", Static).update(" q: close")
