"""`p`: a preference pair, its prompt above and the chosen and rejected answers side by side,
the words in which each answer differs from the other highlighted. `w` swaps them (the decision
is recorded as ``swap`` and applied by the next build); Esc goes back."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from tui.diff import changed_spans
from tui.widgets.detail import conversation


def answer_panel(title: str, answer: list[dict[str, Any]], other: list[dict[str, Any]], score: Any) -> Text:
    """One answer's turns, with the words that are not in the other answer highlighted."""
    text = Text()
    text.append(title, "bold green" if title.startswith("chosen") else "bold red")
    if score is not None:
        text.append(f"  score {score}", "dim")
    text.append("\n\n")
    body = "\n\n".join(str(m.get("content") or "") for m in answer)
    other_body = "\n\n".join(str(m.get("content") or "") for m in other)
    start = len(text)
    text.append(body if body.strip() else "(empty)")
    if body.strip():
        for span_start, span_end in changed_spans(other_body, body):
            text.stylize("bold black on yellow", start + span_start, start + span_end)
    return text


class PairScreen(Screen[None]):
    BINDINGS = [
        Binding("w", "swap", "swap chosen and rejected"),
        Binding("escape,q,p", "app.pop_screen", "back"),
    ]

    def __init__(self, example_id: str, record: dict[str, Any], status: str, decision: str | None) -> None:
        super().__init__()
        self.example_id = example_id
        self.record = record
        self.status = status
        self.decision = decision

    def compose(self) -> ComposeResult:
        yield Static(self._title(), id="pair-title", classes="screen-title")
        with VerticalScroll(id="pair-prompt"):
            yield Static(conversation(self.record["prompt"]), id="pair-prompt-text")
        with Horizontal(id="pair-answers"):
            with VerticalScroll(classes="member"):
                yield Static(id="pair-chosen")
            with VerticalScroll(classes="member"):
                yield Static(id="pair-rejected")
        yield Footer()

    def on_mount(self) -> None:
        self.show(self.record, self.decision)

    def _title(self) -> str:
        decided = f" · decision: {self.decision}" if self.decision else ""
        return (
            f"pair {self.example_id} · {self.status}{decided}; highlighted words are not in the other answer"
        )

    def show(self, record: dict[str, Any], decision: str | None) -> None:
        self.record, self.decision = record, decision
        chosen, rejected = record["chosen"], record["rejected"]
        self.query_one("#pair-title", Static).update(self._title())
        self.query_one("#pair-chosen", Static).update(
            answer_panel("chosen", chosen, rejected, record.get("score_chosen"))
        )
        self.query_one("#pair-rejected", Static).update(
            answer_panel("rejected", rejected, chosen, record.get("score_rejected"))
        )

    def action_swap(self) -> None:
        swap = getattr(self.app, "swap_row", None)
        if swap is not None:
            record = swap()
            if record is not None:
                self.show(record, "swap")
