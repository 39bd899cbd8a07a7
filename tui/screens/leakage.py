"""`c`: a leaked example beside the protected item it matches, the overlapping span highlighted."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.diff import overlap_spans
from tui.screens.group import member_text


def highlighted(title: str, body: str, span: str | None) -> Text:
    text = Text()
    text.append(title + "\n\n", "bold")
    start = len(text)
    text.append(body)
    for span_start, span_end in overlap_spans(body, span or ""):
        text.stylize("bold black on yellow", start + span_start, start + span_end)
    return text


class LeakageScreen(Screen[None]):
    BINDINGS = [Binding("escape,q,c", "app.pop_screen", "back")]

    def __init__(self, row: dict[str, Any], protected: dict[str, Any] | None) -> None:
        super().__init__()
        self.row = row
        self.protected = protected

    def compose(self) -> ComposeResult:
        row = self.row
        method = row.get("leak_method") or "?"
        yield Static(
            f"leakage ({method}): {row.get('id')} matches item {row.get('leak_item')}"
            f" of {row.get('leak_source')}",
            classes="screen-title",
        )
        span = row.get("leak_span")
        with Horizontal(id="leak-columns"):
            with VerticalScroll(classes="member"):
                yield Static(
                    highlighted(f"training example {row.get('id')}", member_text(row.get("example")), span)
                )
            with VerticalScroll(classes="member"):
                if self.protected is None:
                    yield Static(
                        Text(
                            f"protected item {row.get('leak_item')} is not in this build's parquet\n\n"
                            f"overlap: {span or '?'}",
                            "italic",
                        )
                    )
                else:
                    title = f"protected item {row.get('leak_item')} ({self.protected.get('status')})"
                    yield Static(highlighted(title, member_text(self.protected.get("example")), span))
        yield Footer()
