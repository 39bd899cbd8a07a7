"""`curate review`: the Textual app where people decide what the model learns.

``make_app`` is the one way to build the app, shared by the CLI and the tests. The app is thin:
the data and the decisions live in tui.model.ReviewModel and curate.review.store, and every
decision is committed to SQLite before the screen shows it.
"""

from __future__ import annotations

import builtins
import getpass
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from textual import on, work
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.css.query import NoMatches
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import Footer, Header, Input, Static

from curate.core.pairs import is_pair_example, pair_of, trl_record
from curate.review.store import DEFAULT_DB, ReviewStore
from tui.model import SORT_KEYS, Filter, ReviewModel, Sort, messages_of
from tui.screens.confirm import ConfirmScreen
from tui.screens.editor import EditorScreen
from tui.screens.filter import FilterScreen
from tui.screens.group import GroupScreen
from tui.screens.help import HelpScreen
from tui.screens.leakage import LeakageScreen
from tui.screens.note import NoteScreen
from tui.screens.pair import PairScreen
from tui.widgets.detail import DetailPane
from tui.widgets.example_list import ExampleList, ListHeader

DETAIL_DELAY_S = 0.06
# (example id, edited messages) -> the (code, message) checks the edit would fail at the next build.
EditChecks = Callable[[str, Any], list[tuple[str, str]]]
ACTION_WORDS = {
    "accept": "accepted",
    "reject": "rejected",
    "edit": "edited",
    "note": "noted",
    "swap": "swapped",
}


class ReviewApp(App[None]):
    CSS_PATH = "app.tcss"
    TITLE = "curate review"
    BINDINGS = [
        Binding("a", "decide('accept')", "accept"),
        Binding("r", "decide('reject')", "reject"),
        Binding("e", "edit", "edit"),
        Binding("u", "undo", "undo"),
        Binding("n", "note", "note"),
        Binding("space", "mark", "mark"),
        Binding("A", "bulk('accept')", "bulk accept", key_display="A"),
        Binding("R", "bulk('reject')", "bulk reject", key_display="R"),
        Binding("slash", "search", "search", key_display="/"),
        Binding("f", "filter", "filter"),
        Binding("s", "sort", "sort"),
        Binding("d", "group", "dups"),
        Binding("c", "leakage", "leak"),
        Binding("p", "pair", "a preference pair's answers side by side", show=False),
        Binding("w", "swap", "swap a pair's chosen and rejected answers", show=False),
        Binding("question_mark", "help", "help", key_display="?"),
        Binding("q", "quit", "quit"),
        Binding("j,down", "move(1)", "down", show=False, key_display="j/↓"),
        Binding("k,up", "move(-1)", "up", show=False, key_display="k/↑"),
        Binding("S", "reverse_sort", "reverse the sort", show=False),
        Binding("pagedown", "page(1)", "page down", show=False),
        Binding("pageup", "page(-1)", "page up", show=False),
        Binding("home,g", "jump(0)", "first row", show=False, key_display="home/g"),
        Binding("end,G", "jump(-1)", "last row", show=False, key_display="end/G"),
        Binding("x", "clear_marks", "clear the marks", show=False),
        Binding("escape", "clear_search", "clear the search", show=False),
    ]
    # Actions that act on the list: off while another screen (help, a group, a dialog) is on top.
    LIST_ACTIONS = frozenset(
        {
            "decide",
            "edit",
            "undo",
            "mark",
            "bulk",
            "search",
            "filter",
            "sort",
            "group",
            "leakage",
            "pair",
            "swap",
            "move",
            "reverse_sort",
            "page",
            "jump",
            "clear_marks",
            "clear_search",
        }
    )

    def __init__(
        self,
        model: ReviewModel,
        *,
        background: bool = True,
        detail_delay: float = DETAIL_DELAY_S,
        edit_checks: EditChecks | None = None,
    ) -> None:
        super().__init__()
        self.model = model
        self.edit_checks = edit_checks
        self.background = background
        self.detail_delay = detail_delay
        self._detail_timer: Timer | None = None
        self.sub_title = str(model.build)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        return not (action in self.LIST_ACTIONS and len(self.screen_stack) > 1)

    # -- layout ------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield Header()
        yield Static(id="counter")
        with Horizontal(id="panes"):
            with Vertical(id="list-pane"):
                yield ListHeader(id="list-header")
                yield ExampleList(self.model, id="list")
                yield Input(placeholder="search the text (Enter applies, Esc closes)", id="search")
            yield DetailPane(id="detail")
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#search", Input).display = False
        example_list = self.list
        example_list.focus()
        example_list.reload()
        self.refresh_status()
        if self.background:
            self.load_in_background()
        else:
            self.model.load_examples()
            self.loaded()

    @work(thread=True, exclusive=True, group="load")
    def load_in_background(self) -> None:
        self.model.load_examples()
        self.call_from_thread(self.loaded)

    def loaded(self) -> None:
        self.list.repaint()
        self.show_current()

    @property
    def list(self) -> ExampleList:
        return self.query_one("#list", ExampleList)

    def refresh_status(self) -> None:
        model = self.model
        parts = [f"reviewed {model.reviewed():,} / {model.total:,}", f"showing {len(model):,}"]
        if model.marks:
            parts.append(f"marked {len(model.marks):,}")
        described = model.filter.describe()
        if described:
            parts.append(f"filter: {described}")
        parts.append(f"sort: {model.sort.key}{' ▼' if model.sort.descending else ''}")
        parts.append(f"reviewer: {model.reviewer}")
        self.query_one("#counter", Static).update(" · ".join(parts))
        self.query_one("#list-header", ListHeader).show(model.sort.key, model.sort.descending)

    def show_current(self) -> None:
        if self._detail_timer is not None:
            self._detail_timer.stop()
            self._detail_timer = None
        try:
            row = self.list.current_row()
            pane = self.query_one("#detail", DetailPane)
        except NoMatches:  # a late timer while the app shuts down
            return
        if row is None:
            pane.show(None, None)
        elif not self.model.examples_loaded:
            pane.show_loading(self.model.index.row(row, named=True))
        else:
            pane.show(self.model.details(row), self.model.decision_for(row), self.model.note_for(row))

    @on(ExampleList.CursorMoved)
    def cursor_moved(self) -> None:
        # The list moves at once; the details follow when the keys pause (a held j stays smooth).
        if self.detail_delay <= 0:
            self.show_current()
            return
        if self._detail_timer is not None:
            self._detail_timer.stop()
        self._detail_timer = self.set_timer(self.detail_delay, self.show_current)

    @on(ListHeader.SortClicked)
    def header_clicked(self, event: ListHeader.SortClicked) -> None:
        same = self.model.sort.key == event.key
        self.set_sort(Sort(event.key, not self.model.sort.descending if same else False))

    # -- moving ------------------------------------------------------------------------------

    def action_move(self, delta: int) -> None:
        self.list.move(delta)

    def action_page(self, direction: int) -> None:
        self.list.page(direction)

    def action_jump(self, position: int) -> None:
        self.list.move_to(position if position >= 0 else len(self.model) - 1)

    # -- deciding ----------------------------------------------------------------------------

    def after_decision(self, message: str, advance: bool = True) -> None:
        self.list.repaint()
        self.refresh_status()
        if advance and self.list.cursor < len(self.model) - 1:
            self.list.move(1)
        else:
            self.show_current()
        self.notify(message, timeout=2)

    def action_decide(self, action: str) -> None:
        row = self.list.current_row()
        if row is None:
            return
        refusal = self.model.refusal(row, action)
        if refusal is not None:
            # Recorded, the build would drop it while the list showed a ✓: refused here instead.
            self.notify(f"not accepted: {refusal}", severity="warning", timeout=6)
            return
        self.model.decide([row], action)
        self.after_decision(f"{ACTION_WORDS[action]} {self.model.index['id'][row]}")

    def pair_in_force(self, row: int) -> dict[str, Any] | None:
        """The row's preference pair as the next build will see it (after an edit or a swap), or
        None when the row is not a pair."""
        decision = self.model.decision_for(row)
        if decision and decision.action in ("edit", "swap") and isinstance(decision.messages, dict):
            return dict(decision.messages)
        try:
            example = orjson.loads(self.model.example_text(row))
        except orjson.JSONDecodeError:
            return None
        return (
            trl_record(pair_of(example)) if isinstance(example, dict) and is_pair_example(example) else None
        )

    def swap_row(self) -> dict[str, Any] | None:
        """Swap the current pair's answers (recorded as ``swap`` with the swapped pair); the pair now."""
        row = self.list.current_row()
        record = None if row is None else self.pair_in_force(row)
        if row is None or record is None:
            self.notify("this row is not a preference pair: nothing to swap", severity="warning")
            return None
        swapped = {**record, "chosen": record["rejected"], "rejected": record["chosen"]}
        for a, b in (("score_chosen", "score_rejected"), ("score_rejected", "score_chosen")):
            swapped.pop(a, None)
            if b in record:
                swapped[a] = record[b]
        self.model.decide([row], "swap", messages=swapped)
        self.after_decision(f"swapped {self.model.index['id'][row]}", advance=False)
        return swapped

    def action_swap(self) -> None:
        self.swap_row()

    def action_pair(self) -> None:
        row = self.list.current_row()
        record = None if row is None else self.pair_in_force(row)
        if row is None or record is None:
            self.notify("this row is not a preference pair", severity="warning")
            return
        decision = self.model.decision_for(row)
        index = self.model.index
        self.push_screen(
            PairScreen(
                str(index["id"][row]),
                record,
                str(index["status"][row]),
                decision.action if decision else None,
            )
        )

    def action_edit(self) -> None:
        row = self.list.current_row()
        if row is None:
            return
        refusal = self.model.refusal(row, "edit")
        if refusal is not None:
            self.notify(f"cannot edit: {refusal}", severity="warning", timeout=6)
            return
        pair = self.pair_in_force(row)
        if pair is not None:  # a pair is edited whole: prompt, chosen and rejected
            self._edit(row, pair)
            return
        decision = self.model.decision_for(row)
        example = self.model.example_text(row)
        messages = decision.messages if decision and decision.action == "edit" and decision.messages else None
        messages = messages or messages_of(example)
        if messages is None:
            self.notify("this row is not a chat conversation: nothing to edit", severity="warning")
            return

        self._edit(row, messages)

    def _edit(self, row: int, payload: Any) -> None:
        def saved(result: Any) -> None:
            if result is None:
                return
            example_id = str(self.model.index["id"][row])
            self.model.decide([row], "edit", messages=result)
            problems = self.edit_checks(example_id, result) if self.edit_checks is not None else []
            if problems:
                # The decision stands (a reviewer may fix it, or mean it); the next build rejects it.
                failing = "; ".join(f"{code}: {message}" for code, message in problems)
                self.list.repaint()
                self.refresh_status()
                self.show_current()
                self.notify(
                    f"edited {example_id}, but the next build will reject it: {failing}",
                    severity="warning",
                    timeout=10,
                )
                return
            self.after_decision(f"edited {example_id}", advance=False)

        self.push_screen(EditorScreen(payload, self.model.example_text(row)), saved)

    def action_note(self) -> None:
        row = self.list.current_row()
        if row is None:
            return

        def saved(text: str | None) -> None:
            if text:
                self.model.decide([row], "note", note=text)
                self.after_decision(f"noted {self.model.index['id'][row]}", advance=False)

        self.push_screen(NoteScreen(self.model.note_for(row)), saved)

    def action_undo(self) -> None:
        ids = self.model.undo()
        self.list.repaint()
        self.refresh_status()
        self.show_current()
        self.notify(f"undid the decision on {len(ids)} example(s)" if ids else "nothing to undo", timeout=2)

    def action_mark(self) -> None:
        row = self.list.current_row()
        if row is None:
            return
        self.model.toggle_mark(row)
        self.refresh_status()
        self.list.repaint()
        self.list.move(1)

    def action_clear_marks(self) -> None:
        self.model.marks.clear()
        self.list.repaint()
        self.refresh_status()

    def action_bulk(self, action: str) -> None:
        model = self.model
        if model.marks:
            rows: list[int] = sorted(model.marks)
            what = f"the {len(rows):,} marked rows"
        else:
            rows = model.view.to_list()
            described = model.filter.describe() or "no filter"
            what = f"all {len(rows):,} rows in the filter ({described})"
        if not rows:
            self.notify("no rows to decide on", severity="warning")
            return

        blocked = model.blocked_rows(rows) if action == "accept" else []
        if blocked:
            skipped = set(blocked)
            rows = [row for row in rows if row not in skipped]
            what += f"; {len(blocked):,} hard-rejected rows (schema, length, dedup, leakage) are left out"
        if not rows:
            self.notify("none of these rows can be accepted: their rejections are hard", severity="warning")
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                return
            count = model.decide(rows, action)
            model.marks.clear()
            left_out = f"; {len(blocked):,} left out (hard rejections)" if blocked else ""
            self.after_decision(
                f"{ACTION_WORDS[action]} {count:,} examples{left_out} (u undoes them at once)", advance=False
            )

        self.push_screen(ConfirmScreen(f"{action.capitalize()} {what}?"), answered)

    # -- finding -----------------------------------------------------------------------------

    def action_search(self) -> None:
        box = self.query_one("#search", Input)
        box.value = self.model.filter.search
        box.display = True
        box.focus()

    @on(Input.Submitted, "#search")
    def search_submitted(self, event: Input.Submitted) -> None:
        event.input.display = False
        self.apply_filter(self.model.with_filter(search=event.value.strip()))
        self.list.focus()

    def action_clear_search(self) -> None:
        box = self.query_one("#search", Input)
        if box.display:
            box.display = False
            self.list.focus()
        elif self.model.filter.search:
            self.apply_filter(self.model.with_filter(search=""))

    def apply_filter(self, new_filter: Filter) -> None:
        keep = self.list.current_row()
        self.model.apply(new_filter)
        self.list.reload(keep)
        self.refresh_status()
        self.show_current()

    def set_sort(self, sort: Sort) -> None:
        keep = self.list.current_row()
        self.model.apply(sort=sort)
        self.list.reload(keep)
        self.refresh_status()

    def action_filter(self) -> None:
        model = self.model

        def chosen(result: Filter | None) -> None:
            if result is not None:
                self.apply_filter(result)

        self.push_screen(
            FilterScreen(
                model.filter, model.values_of("status"), model.codes_present(), model.values_of("source")
            ),
            chosen,
        )

    def action_sort(self) -> None:
        keys = list(SORT_KEYS)
        current = keys.index(self.model.sort.key) if self.model.sort.key in keys else 0
        self.set_sort(Sort(keys[(current + 1) % len(keys)], self.model.sort.descending))

    def action_reverse_sort(self) -> None:
        self.set_sort(Sort(self.model.sort.key, not self.model.sort.descending))

    # -- views -------------------------------------------------------------------------------

    def action_group(self) -> None:
        row = self.list.current_row()
        if row is None:
            return
        group = self.model.index["group"][row]
        if group is None:
            self.notify("this row is in no duplicate group", severity="warning")
            return
        members = self.model.rows_where(pl.col("cluster_id").cast(pl.Utf8) == group)
        self.push_screen(GroupScreen(str(group), list(members.iter_rows(named=True))))

    def action_leakage(self) -> None:
        row = self.list.current_row()
        if row is None:
            return
        details = self.model.details(row)
        item = details.get("leak_item")
        if not item:
            self.notify("no leakage match on this row", severity="warning")
            return
        same_item = (pl.col("source_id") == item) | (pl.col("id") == item)
        source = details.get("leak_source")
        found = self.model.rows_where(same_item & (pl.col("source") == source) if source else same_item)
        if found.height == 0 and source:
            found = self.model.rows_where(same_item & (pl.col("id") != details["id"]))
        protected = found.row(0, named=True) if found.height else None
        self.push_screen(LeakageScreen(details, protected))

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> builtins.list[tuple[str, str]]:
        keys = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            shown = binding.key_display or binding.key.replace("question_mark", "?").replace("slash", "/")
            keys.append((shown, binding.description))
        keys += [
            ("ctrl+p", "command palette: every action, sort by any column, filter presets"),
            ("click a title", "sort by that column (again: reverse)"),
            ("e, then ctrl+s", "save an edit (validated again; refused with the reason when invalid)"),
        ]
        return keys

    # -- command palette ---------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        yield SystemCommand("Accept", "accept the row under the cursor", lambda: self.action_decide("accept"))
        yield SystemCommand("Reject", "reject the row under the cursor", lambda: self.action_decide("reject"))
        yield SystemCommand("Edit", "edit the conversation", self.action_edit)
        yield SystemCommand("Note", "add a note to the row (kept with its decision)", self.action_note)
        yield SystemCommand("Undo", "undo the last decision (a bulk one at once)", self.action_undo)
        yield SystemCommand(
            "Accept marked or all in filter",
            "bulk accept, with a confirmation",
            lambda: self.action_bulk("accept"),
        )
        yield SystemCommand(
            "Reject marked or all in filter",
            "bulk reject, with a confirmation",
            lambda: self.action_bulk("reject"),
        )
        yield SystemCommand("Filter…", "status, reason, score, group, source, decision", self.action_filter)
        yield SystemCommand("Clear filter", "show every row", lambda: self.apply_filter(Filter()))
        yield SystemCommand(
            "Show undecided",
            "rows without a decision",
            lambda: self.apply_filter(self.model.with_filter(decision="none")),
        )
        yield SystemCommand(
            "Show rejected",
            "rows the build rejected",
            lambda: self.apply_filter(self.model.with_filter(status="rejected")),
        )
        for key in SORT_KEYS:
            yield SystemCommand(
                f"Sort by {key}",
                f"sort the list by {key}",
                lambda key=key: self.set_sort(Sort(key, self.model.sort.descending)),
            )
        yield SystemCommand("Duplicate group", "members side by side", self.action_group)
        yield SystemCommand("Leakage match", "the protected item this row matches", self.action_leakage)
        yield SystemCommand("Pair", "a preference pair's chosen and rejected side by side", self.action_pair)
        yield SystemCommand("Swap", "swap a preference pair's chosen and rejected answers", self.action_swap)
        yield SystemCommand("Help", "every key", self.action_help)


def default_reviewer(configured: str = "") -> str:
    if configured:
        return configured
    env = os.environ.get("CURATE_REVIEWER")
    if env:
        return env
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "reviewer"


def make_app(
    build: Path,
    db: Path | None = None,
    reviewer: str | None = None,
    *,
    background: bool = True,
    detail_delay: float = DETAIL_DELAY_S,
    edit_checks: EditChecks | None = None,
) -> ReviewApp:
    """The review app for a build folder (or an examples.parquet) and a decision store.

    ``background=False`` loads the text before the first paint and ``detail_delay=0`` redraws
    the details on every move: what tests and snapshots need to be deterministic.
    ``db`` defaults to ./reviews.sqlite in the folder the command runs from, the file a build run
    from that folder (its curate.toml there) applies. ``edit_checks(id, messages)`` lists the
    (code, message) checks a saved edit would fail at the next build; the CLI passes the
    engine's, since the app itself may not import the stages.
    """
    store = ReviewStore(db if db is not None else Path(DEFAULT_DB))
    model = ReviewModel(build, store, reviewer or default_reviewer())
    return ReviewApp(model, background=background, detail_delay=detail_delay, edit_checks=edit_checks)
