"""`d`: a duplicate group's members side by side, words that differ from the kept one highlighted."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import HorizontalScroll, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.diff import changed_spans
from tui.model import messages_of

MAX_MEMBERS = 12  # columns side by side; a larger group lists the rest by count


def member_text(example: str | None) -> str:
    messages = messages_of(example or "") or []
    return "\n\n".join(f"[{m.get('role')}]\n{m.get('content') or ''}" for m in messages) or (example or "")


def member_panel(member: dict[str, Any], kept_text: str, is_kept: bool) -> Text:
    text = Text()
    title = "kept" if is_kept else "member"
    text.append(f"{title} · {member['id']} · {member['status']}\n", "bold green" if is_kept else "bold")
    codes = ", ".join(r["code"] for r in member.get("reasons") or [])
    score = member.get("quality_score")
    text.append(f"{member.get('origin')} {member.get('source')}:{member.get('line')}", "dim")
    if score is not None:
        text.append(f"  score {score:.2f}", "dim")
    if codes:
        text.append(f"\n{codes}", "red")
    text.append("\n\n")
    body = member_text(member.get("example"))
    start = len(text)
    text.append(body)
    if not is_kept:
        for span_start, span_end in changed_spans(kept_text, body):
            text.stylize("bold black on yellow", start + span_start, start + span_end)
    return text


class GroupScreen(Screen[None]):
    BINDINGS = [Binding("escape,q,d", "app.pop_screen", "back")]

    def __init__(self, group: str, members: list[dict[str, Any]]) -> None:
        super().__init__()
        self.group = group
        self.members = members

    def compose(self) -> ComposeResult:
        count = len(self.members)
        yield Static(
            f"duplicate group {self.group}: {count} members; highlighted words differ from the kept one",
            classes="screen-title",
        )
        kept = next((m for m in self.members if not _dropped_as_duplicate(m)), self.members[0])
        kept_text = member_text(kept.get("example"))
        ordered = [kept] + [m for m in self.members if m is not kept]
        with HorizontalScroll(id="group-columns"):
            for member in ordered[:MAX_MEMBERS]:
                with VerticalScroll(classes="member"):
                    yield Static(member_panel(member, kept_text, member is kept))
        if count > MAX_MEMBERS:
            yield Static(f"... and {count - MAX_MEMBERS} more (filter group={self.group} to list them)")
        yield Footer()


def _dropped_as_duplicate(member: dict[str, Any]) -> bool:
    """Whether dedup rejected this member: the group keeps the one member it did not."""
    return any(str(reason.get("code", "")).startswith("dedup.") for reason in member.get("reasons") or [])
