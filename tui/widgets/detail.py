"""The detail pane: one example's conversation with roles styled, token counts, every reason,
flag and signal, and the reviewer's decision in force."""

from __future__ import annotations

import math
from typing import Any

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from curate.review_store import Decision
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


def reasons_table(title: str, reasons: list[dict[str, Any]] | None, style: str) -> Table | None:
    if not reasons:
        return None
    table = Table(title=title, title_justify="left", show_header=False, box=None, expand=True, pad_edge=False)
    table.add_column("code", style=style, no_wrap=True)
    table.add_column("message", ratio=1)
    for reason in reasons:
        message = reason.get("message") or ""
        if reason.get("ref"):
            message += f" [{reason['ref']}]"
        table.add_row(str(reason.get("code")), message)
    return table


def render_details(details: dict[str, Any], decision: Decision | None) -> RenderableType:
    header = Text()
    header.append(f"{details.get('id')}", "bold")
    header.append(
        f"  {details.get('status')}", "bold red" if details.get("status") == "rejected" else "bold green"
    )
    header.append(f"  {details.get('origin') or ''}")
    if details.get("split"):
        header.append(f" ({details['split']})")
    header.append(f"\n{details.get('source')}:{details.get('line')}", "dim")
    if details.get("source_id"):
        header.append(f"  source id {details['source_id']}", "dim")
    if details.get("review"):
        header.append(
            f"\nlast build applied: {details['review']} by {details.get('reviewer') or '?'}", "italic"
        )
    parts: list[RenderableType] = [header]
    if decision is not None:
        note = f" — {decision.note}" if decision.note else ""
        parts.append(
            Text(f"decision: {decision.action} by {decision.reviewer} at {decision.at}{note}", "bold yellow")
        )
    for table in (
        reasons_table("reasons", details.get("reasons"), "bold red"),
        reasons_table("flags", details.get("flags"), "yellow"),
    ):
        if table is not None:
            parts.append(table)
    signals = Table(title="signals", title_justify="left", show_header=False, box=None, pad_edge=False)
    signals.add_column("name", style="dim", no_wrap=True)
    signals.add_column("value")
    for name, value in details.items():
        if name in _SHOWN or name in _HIDDEN_SIGNALS or value is None:
            continue
        shown = f"{value:.3f}" if isinstance(value, float) else str(value)
        signals.add_row(name, shown[:300])
    if signals.row_count:
        parts.append(signals)
    messages = None
    if decision is not None and decision.action == "edit" and decision.messages is not None:
        messages = decision.messages
        parts.append(Text("conversation (edited by the reviewer):", "bold yellow"))
    elif details.get("example"):
        messages = messages_of(details["example"])
    if messages is not None:
        parts.append(Text(""))
        parts.append(conversation(messages))
    elif details.get("example") or details.get("raw"):
        parts.append(Text("\nnot a chat conversation; as read:", "bold"))
        parts.append(Text(str(details.get("raw") or details.get("example"))))
    return Group(*parts)


class DetailPane(VerticalScroll):
    """Scrollable details of the row under the cursor."""

    def compose(self):  # type: ignore[no-untyped-def]
        yield Static(id="detail-body")

    def show(self, details: dict[str, Any] | None, decision: Decision | None) -> None:
        body = self.query_one("#detail-body", Static)
        if details is None:
            body.update(Text("no row matches the filter", "dim italic"))
        else:
            body.update(render_details(details, decision))
        self.scroll_home(animate=False)
