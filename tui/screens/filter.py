"""`f`: the filter form (status, reason code, score range, duplicate group, source, decision)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Input, Label, Select

from tui.model import ANY_GROUP, Filter


class FilterScreen(ModalScreen[Filter | None]):
    BINDINGS = [Binding("escape", "cancel", "cancel"), Binding("ctrl+s", "apply", "apply")]

    def __init__(self, current: Filter, statuses: list[str], codes: list[str], sources: list[str]) -> None:
        super().__init__()
        self.current = current
        self.statuses = statuses
        self.codes = codes
        self.sources = sources

    def compose(self) -> ComposeResult:
        c = self.current
        with Vertical(id="filter-box", classes="dialog"):
            yield Label("Filter (Enter or ctrl+s applies, Esc cancels)", classes="title")
            yield Label("status")
            yield Select([(s, s) for s in self.statuses], value=c.status or Select.NULL, id="status")
            yield Label("reason or flag code")
            yield Select([(s, s) for s in self.codes], value=c.reason or Select.NULL, id="reason")
            yield Label("quality score from .. to")
            with Horizontal(classes="row"):
                yield Input(
                    "" if c.score_min is None else f"{c.score_min:g}",
                    placeholder="min",
                    id="score-min",
                    type="number",
                )
                yield Input(
                    "" if c.score_max is None else f"{c.score_max:g}",
                    placeholder="max",
                    id="score-max",
                    type="number",
                )
            yield Label("duplicate group (a group id, or 'any')")
            group = "" if c.group is None else ("any" if c.group == ANY_GROUP else c.group)
            yield Input(group, placeholder="any / 3f2a…", id="group")
            yield Label("source")
            yield Select([(s, s) for s in self.sources], value=c.source or Select.NULL, id="source")
            yield Label("decision")
            yield Select(
                [("undecided", "none"), ("accepted", "accept"), ("rejected", "reject"), ("edited", "edit")],
                value=c.decision or Select.NULL,
                id="decision",
            )
            yield Label("", id="filter-error", classes="error")
            with Horizontal(classes="buttons"):
                yield Button("Apply", id="apply", variant="primary")
                yield Button("Clear", id="clear")
                yield Button("Cancel", id="cancel")

    def _select(self, name: str) -> str | None:
        value = self.query_one(f"#{name}", Select).value
        return None if value is Select.NULL or value is None else str(value)

    def _number(self, name: str) -> float | None:
        text = self.query_one(f"#{name}", Input).value.strip()
        return float(text) if text else None

    def action_apply(self) -> None:
        try:
            group_text = self.query_one("#group", Input).value.strip()
            group = None if not group_text else (ANY_GROUP if group_text.lower() == "any" else group_text)
            result = Filter(
                status=self._select("status"),
                reason=self._select("reason"),
                score_min=self._number("score-min"),
                score_max=self._number("score-max"),
                group=group,
                source=self._select("source"),
                decision=self._select("decision"),
                search=self.current.search,
            )
        except ValueError as error:
            self.query_one("#filter-error", Label).update(f"not a number: {error}")
            return
        self.dismiss(result)

    def action_cancel(self) -> None:
        self.dismiss(None)

    def on_input_submitted(self) -> None:
        self.action_apply()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id == "apply":
            self.action_apply()
        elif event.button.id == "clear":
            self.dismiss(Filter(search=self.current.search))
        else:
            self.dismiss(None)
