"""`e`: edit a conversation as JSON; saved only when it validates as the build would check it."""

from __future__ import annotations

from typing import Any

import orjson
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Label, TextArea

from curate.review.edits import validate_edit


def to_text(messages: Any) -> str:
    """One message per block, pretty enough to edit by hand (a pair: its prompt, chosen, rejected)."""
    return orjson.dumps(messages, option=orjson.OPT_INDENT_2).decode()


class EditorScreen(ModalScreen[Any]):
    BINDINGS = [
        Binding("ctrl+s", "save", "save", priority=True),
        Binding("escape", "cancel", "cancel", priority=True),
    ]

    def __init__(self, messages: Any, original: str | None) -> None:
        super().__init__()
        self.messages = messages
        self.original = original

    def compose(self) -> ComposeResult:
        with Vertical(id="editor-box", classes="dialog"):
            yield Label("Edit the messages (JSON). ctrl+s saves, Esc cancels.", classes="title")
            yield TextArea(to_text(self.messages), id="editor", show_line_numbers=True, tab_behavior="indent")
            yield Label("", id="editor-error", classes="error")

    def on_mount(self) -> None:
        self.query_one(TextArea).focus()

    def action_save(self) -> None:
        text = self.query_one(TextArea).text
        error = self.query_one("#editor-error", Label)
        try:
            messages = orjson.loads(text)
        except orjson.JSONDecodeError as problem:
            error.update(f"not valid JSON: {problem}")
            return
        if isinstance(self.messages, dict) and not isinstance(messages, dict):
            error.update('expected a pair: {"prompt": [...], "chosen": [...], "rejected": [...]}')
            return
        if not isinstance(self.messages, dict) and not isinstance(messages, list):
            error.update("expected a JSON list of messages")
            return
        if messages == self.messages:
            error.update("nothing changed: edit the messages, or Esc to leave")
            return
        fields, problems = validate_edit(messages, self.original)
        if fields is None:
            error.update("; ".join(f"{code}: {message}" for code, message in problems))
            return
        self.dismiss(messages)

    def action_cancel(self) -> None:
        self.dismiss(None)
