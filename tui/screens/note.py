"""`n`: a reviewer's note on an example (shown in the details and in a reject's reason message)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Label


class NoteScreen(ModalScreen[str | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel")]

    def __init__(self, current: str | None) -> None:
        super().__init__()
        self.current = current or ""

    def compose(self) -> ComposeResult:
        with Vertical(id="note-box", classes="dialog"):
            yield Label("Note on this example (Enter saves, Esc cancels)", classes="title")
            yield Input(self.current, placeholder="why: wrong tariff name, rude tone, ...", id="note")

    def on_input_submitted(self, event: Input.Submitted) -> None:
        text = event.value.strip()
        self.dismiss(text if text and text != self.current else None)

    def action_cancel(self) -> None:
        self.dismiss(None)
