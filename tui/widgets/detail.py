"""The detail pane: one example's conversation with roles styled, token counts, every reason,
flag and signal, and the reviewer's decision in force."""

from __future__ import annotations

import math
from typing import Any

from rich.text import Text
from textual.geometry import Size
from textual.scroll_view import ScrollView
from textual.strip import Strip

from curate.review.store import Decision
from tui.model import messages_of

ROLE_STYLE = {"system": "bold magenta", "user": "bold cyan", "assistant": "bold green", "tool": "bold yellow"}
# Columns shown in the header or the conversation; every other column is listed as a signal.
_SHOWN = {
    "id",
    "status",
    "origin",
    "source",
    "line",
    "reasons",
    "flags",
    "example",
    "raw",
    "source_id",
    "format",
    "split",
    "review",
    "reviewer",
}
_HIDDEN_SIGNALS = {"dedup_key", "row"}


def estimate_tokens(text: str) -> int:
    """The engine's estimate (ceil(UTF-8 bytes / 4) + 4 per message): per-message counts for display."""
    return math.ceil(len(text.encode()) / 4) + 4


def conversation(messages: list[dict[str, Any]], highlight: list[tuple[int, int, int]] | None = None) -> Text:
    """Messages as text, one styled role label per turn; ``highlight``: (message, start, end) spans."""
    text = Text()
    for index, message in enumerate(messages):
        role = str(message.get("role", "?"))
        content = message.get("content")
        body = content if isinstance(content, str) else ("" if content is None else str(content))
        label = f"{role}"
        if message.get("weight") == 0:
            label += " (weight 0)"
        text.append(f"{label}", ROLE_STYLE.get(role, "bold"))
        text.append(f"  ≈{estimate_tokens(body)} tok\n", "dim")
        start = len(text)
        text.append(body + "\n")
        for call in message.get("tool_calls") or []:
            text.append(f"→ tool call {call}\n", "yellow")
        for message_index, span_start, span_end in highlight or []:
            if message_index == index:
                text.stylize("bold black on yellow", start + span_start, start + span_end)
        text.append("\n")
    return text


def reasons_text(title: str, reasons: list[dict[str, Any]] | None, style: str) -> Text | None:
    """Reasons as plain styled lines: rich Tables cost several ms a frame, and this redraws per move."""
    if not reasons:
        return None
    text = Text(title + "\n", "bold underline")
    for reason in reasons:
        text.append(f"{reason.get('code')}", style)
        message = reason.get("message") or ""
        if reason.get("ref"):
            message += f" [{reason['ref']}]"
        text.append(f"  {message}\n")
    text.rstrip()
    return text


def render_details(details: dict[str, Any], decision: Decision | None, note: str | None = None) -> Text:
    text = Text()
    text.append(f"{details.get('id')}", "bold")
    text.append(
        f"  {details.get('status')}", "bold red" if details.get("status") == "rejected" else "bold green"
    )
    text.append(f"  {details.get('origin') or ''}")
    if details.get("split"):
        text.append(f" ({details['split']})")
    text.append(f"\n{details.get('source')}:{details.get('line')}", "dim")
    if details.get("source_id"):
        text.append(f"  source id {details['source_id']}", "dim")
    if details.get("review"):
        text.append(
            f"\nlast build applied: {details['review']} by {details.get('reviewer') or '?'}", "italic"
        )
    if decision is not None:
        text.append(f"\ndecision: {decision.action} by {decision.reviewer} at {decision.at}", "bold yellow")
    if note:
        text.append(f"\nnote: {note}", "yellow")
    for part in (
        reasons_text("reasons", details.get("reasons"), "bold red"),
        reasons_text("flags", details.get("flags"), "yellow"),
    ):
        if part is not None:
            text.append("\n")
            text.append_text(part)
    messages = None
    if decision is not None and decision.action == "edit" and decision.messages is not None:
        messages = decision.messages
        text.append("\nconversation (edited by the reviewer):", "bold yellow")
    elif details.get("example"):
        messages = messages_of(details["example"])
    if messages is not None:
        text.append("\n\n")
        text.append_text(conversation(messages))
    elif details.get("example") or details.get("raw"):
        text.append("\nnot a chat conversation; as read:\n", "bold")
        text.append(str(details.get("raw") or details.get("example")))
    signals = [
        (name, value)
        for name, value in details.items()
        if name not in _SHOWN and name not in _HIDDEN_SIGNALS and value is not None
    ]
    if signals:
        text.append("\n\nsignals\n", "bold underline")
        width = max(len(name) for name, _ in signals)
        for name, value in signals:
            shown = f"{value:.3f}" if isinstance(value, float) else str(value)
            text.append(f"{name:<{width}}  ", "dim")
            text.append(shown[:300] + "\n")
    return text


class DetailPane(ScrollView, can_focus=True):
    DEFAULT_CSS = """
    DetailPane { overflow-y: scroll; }
    """

    """Scrollable details of the row under the cursor, drawn line by line.

    A Static in a scroll container would re-lay-out the whole screen on every update (its
    height changes); here the text is wrapped once per update into strips and only this
    widget redraws, so moving the cursor costs one pane, not the screen.
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._text: Text = Text()
        self._lines: list[Strip] = []
        self._width = 0

    @property
    def text(self) -> Text:
        return self._text

    def _update(self, text: Text) -> None:
        self._text = text
        self._wrap()
        self.scroll_to(0, 0, animate=False, immediate=True)
        self.refresh()

    def _wrap(self) -> None:
        width = max(1, self.scrollable_content_region.width)
        self._width = width
        console = self.app.console
        options = console.options.update_width(width)
        lines = console.render_lines(self._text, options, pad=False)
        self._lines = [Strip(line) for line in lines]
        size = Size(width, len(self._lines))
        if size != self.virtual_size:
            # Setting virtual_size would lay out the whole screen; this pane's size is fixed by
            # the layout, so only its scrollbar needs to learn the new extent.
            self.set_reactive(DetailPane.virtual_size, size)
            self._scroll_update(size)

    def on_resize(self) -> None:
        if self.scrollable_content_region.width != self._width:
            self._wrap()

    def render_line(self, y: int) -> Strip:
        _, scroll_y = self.scroll_offset
        index = scroll_y + y
        width = self.scrollable_content_region.width
        if index >= len(self._lines):
            return Strip.blank(width, self.rich_style)
        return self._lines[index].adjust_cell_length(width, self.rich_style)

    def show(
        self, details: dict[str, Any] | None, decision: Decision | None, note: str | None = None
    ) -> None:
        if details is None:
            self._update(Text("no row matches the filter", "dim italic"))
        else:
            self._update(render_details(details, decision, note))

    def show_loading(self, summary: dict[str, Any]) -> None:
        """While the text is still loading: what the list already knows."""
        text = Text(f"{summary.get('id')}  {summary.get('status')}\n", "bold")
        text.append(", ".join(summary.get("codes") or []), "bold red")
        text.append("\n\nloading the conversation…", "dim italic")
        self._update(text)
