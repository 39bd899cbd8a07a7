"""A virtual list of examples: draws only the lines on screen, asking the model for those rows.

Textual's DataTable keeps a Python row object per record (see benchmarks/tui_open.py for what
that costs at 100,000 rows); this widget's size is just a number (the view's length), and each
frame it renders only the visible window, fetched from the model in one call.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.text import Text
from textual import events
from textual.geometry import Region, Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widgets import Static

from tui.model import DECISION_MARK, ReviewModel, RowView

# (title, sort key, width; 0 = the rest of the line)
COLUMNS: tuple[tuple[str, str, int], ...] = (
    ("", "decision", 3),
    ("status", "status", 10),
    ("reasons", "reasons", 24),
    ("score", "score", 6),
    ("tokens", "tokens", 7),
    ("group", "group", 7),
    ("first user turn", "preview", 0),
)

STATUS_STYLE = {
    "train": "green",
    "eval": "cyan",
    "general_eval": "cyan",
    "rejected": "red",
    "protected": "magenta",
    "ok": "green",
}
DECISION_STYLE = {
    "accept": "bold green",
    "reject": "bold red",
    "edit": "bold yellow",
    "blocked": "bold magenta",
}


def _cell(text: str, width: int) -> str:
    if width <= 0:
        return text
    return text[: width - 1].ljust(width - 1) + " " if len(text) >= width else text.ljust(width)


def format_row(item: RowView, width: int) -> Text:
    """One row as styled text, exactly ``width`` cells wide."""
    line = Text(no_wrap=True, overflow="crop")
    mark = "•" if item.marked else " "
    line.append(mark, "bold yellow")
    line.append(
        _cell(DECISION_MARK.get(item.decision or "", " "), 2), DECISION_STYLE.get(item.decision or "", "")
    )
    line.append(_cell(item.status, 10), STATUS_STYLE.get(item.status, ""))
    line.append(_cell(",".join(item.codes), 24), "yellow" if item.codes else "")
    line.append(_cell("" if item.score is None else f"{item.score:.2f}", 6).rjust(6))
    line.append(_cell("" if item.tokens is None else f"{item.tokens:,}", 7).rjust(7))
    line.append(_cell("" if item.group is None else str(item.group), 7).rjust(7), "blue")
    line.append(" ")
    line.append(item.preview if item.preview is not None else "…", "" if item.preview is not None else "dim")
    line.truncate(width, pad=True)
    return line


class ListHeader(Static):
    """Column titles; the sort column carries an arrow. Click a title to sort by it."""

    class SortClicked(Message):
        def __init__(self, key: str) -> None:
            super().__init__()
            self.key = key

    def show(self, key: str, descending: bool) -> None:
        text = Text(no_wrap=True, overflow="crop", style="bold")
        for title, column_key, width in COLUMNS:
            label = title + ((" ▼" if descending else " ▲") if column_key == key else "")
            if width == 0:
                text.append(" " + label)
            elif column_key in ("score", "tokens", "group"):
                text.append(_cell(label, width).rjust(width))
            else:
                text.append(_cell(label, width))
        self.update(text)

    def on_click(self, event: events.Click) -> None:
        x = 0
        for _, key, width in COLUMNS:
            if width == 0 or event.x < x + width:
                self.post_message(self.SortClicked(key))
                return
            x += width


class ExampleList(ScrollView, can_focus=True, inherit_bindings=False):
    """The list pane. The app owns the key bindings (so no inherited ones: ScrollableContainer's
    would catch up/down/pagedown and animate the view without moving the cursor); this widget
    draws and moves the cursor."""

    DEFAULT_CSS = """
    ExampleList { background: $surface; }
    """
    COMPONENT_CLASSES: ClassVar[set[str]] = {"example-list--cursor"}

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class CursorMoved(Message):
        def __init__(self, position: int) -> None:
            super().__init__()
            self.position = position

    def __init__(self, model: ReviewModel, **kwargs: object) -> None:
        super().__init__(**kwargs)  # type: ignore[arg-type]
        self.model = model
        self._window: tuple[int, list[RowView]] = (0, [])

    # -- data ----------------------------------------------------------------------------

    def reload(self, keep_row: int | None = None) -> None:
        """The view changed (filter, sort, decisions): resize, keep the cursor on its row."""
        self._window = (0, [])
        self.virtual_size = Size(self.size.width, len(self.model))
        position = self.model.position_of(keep_row) if keep_row is not None else None
        if position is None:
            position = min(self.cursor, max(0, len(self.model) - 1))
        self.move_to(position)
        self.refresh()

    def repaint(self) -> None:
        """Same rows, new content (a decision or previews arrived)."""
        self._window = (0, [])
        self.refresh()

    def _rows(self, start: int) -> list[RowView]:
        first, rows = self._window
        height = max(1, self.size.height)
        if not (first <= start and start + height <= first + len(rows)) or not rows:
            rows = self.model.rows(start, start + height + 1)
            self._window = (start, rows)
            first = start
        return rows[start - first :]

    # -- drawing -------------------------------------------------------------------------

    def render_line(self, y: int) -> Strip:
        _, scroll_y = self.scroll_offset
        position = scroll_y + y
        width = self.size.width
        if position >= len(self.model):
            return Strip.blank(width, self.rich_style)
        rows = self._rows(scroll_y)
        index = position - scroll_y
        if index >= len(rows):
            return Strip.blank(width, self.rich_style)
        text = format_row(rows[index], width)
        base = self.rich_style
        if position == self.cursor:
            base = base + self.get_component_rich_style("example-list--cursor")
        segments = [
            Segment(segment.text, base + segment.style if segment.style else base)
            for segment in text.render(self.app.console)
            if segment.text != "\n"
        ]
        return Strip(segments).adjust_cell_length(width, base)

    # -- moving --------------------------------------------------------------------------

    def move_to(self, position: int) -> None:
        count = len(self.model)
        position = max(0, min(position, count - 1)) if count else 0
        previous = self.cursor
        self.cursor = position
        before = self.scroll_offset.y
        if count:
            self.scroll_to_region(Region(0, position, 1, 1), animate=False, immediate=True)
        if self.scroll_offset.y == before:
            # Only two lines change when the list does not scroll: redraw just those.
            for line in {previous, position}:
                self.refresh(Region(0, line - before, self.size.width, 1))
        else:
            self.refresh()
        self.post_message(self.CursorMoved(position))

    def move(self, delta: int) -> None:
        self.move_to(self.cursor + delta)

    def page(self, direction: int) -> None:
        self.move(direction * max(1, self.size.height - 1))

    def on_click(self, event: events.Click) -> None:
        _, scroll_y = self.scroll_offset
        self.move_to(scroll_y + event.y)

    def on_resize(self, event: events.Resize) -> None:
        self.virtual_size = Size(event.size.width, len(self.model))
        self._window = (0, [])

    def current_row(self) -> int | None:
        if not len(self.model):
            return None
        return self.model.row_at(min(self.cursor, len(self.model) - 1))
