"""`?`: every key binding of the app, in one table."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "close")]

    def __init__(self, keys: list[tuple[str, str]]) -> None:
        super().__init__()
        self.keys = keys

    def compose(self) -> ComposeResult:
        table = Table(title="curate review — keys", show_header=True, header_style="bold", expand=True)
        table.add_column("key", style="bold cyan", no_wrap=True)
        table.add_column("does")
        for key, description in self.keys:
            table.add_row(key, description)
        with VerticalScroll(id="help-box", classes="dialog"):
            yield Static(table)
            yield Static(
                "Decisions are saved the moment they are made; the next `curate build` applies them.",
                classes="hint",
            )

    def action_dismiss(self) -> None:  # type: ignore[override]
        self.dismiss(None)
