"""Pilot tests: every key of `curate review` does what the help says, and decisions reach the store."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from curate.review.store import ReviewStore
from tui.app import ReviewApp
from tui.screens.confirm import ConfirmScreen
from tui.screens.editor import EditorScreen, to_text
from tui.screens.filter import FilterScreen
from tui.screens.group import GroupScreen
from tui.screens.help import HelpScreen
from tui.screens.leakage import LeakageScreen
from tui.screens.note import NoteScreen
from tui.widgets.detail import DetailPane
from tui.widgets.example_list import ExampleList

pytestmark = pytest.mark.anyio
SIZE = (150, 40)


def decisions(db: Path) -> dict[str, str]:
    with ReviewStore(db, readonly=True) as store:
        return {i: d.action for i, d in store.decisions().items()}


def cursor_id(app: ReviewApp) -> str:
    row = app.query_one(ExampleList).current_row()
    assert row is not None
    return str(app.model.index["id"][row])


def counter(app: ReviewApp) -> str:
    return str(app.query_one("#counter").render())


async def test_opens_with_every_row_and_a_counter(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE):
        assert len(app.model) == 16
        assert counter(app).startswith("reviewed 0 / 16 · showing 16")
        assert cursor_id(app) == "a0000000000000001"


async def test_moving_with_j_k_arrows_pages_and_ends(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        example_list = app.query_one(ExampleList)
        await pilot.press("j", "j", "down")
        assert example_list.cursor == 3
        await pilot.press("k", "up")
        assert example_list.cursor == 1
        await pilot.press("G")
        assert example_list.cursor == 15
        await pilot.press("g")
        assert example_list.cursor == 0
        await pilot.press("pagedown")
        assert example_list.cursor == 15  # the whole list fits on one page
        await pilot.press("k", "k", "k", "k")
        assert cursor_id(app) == "f0000000000000003"


async def test_accept_and_reject_are_stored_at_once_and_advance(
    app_for: Callable[..., ReviewApp], db: Path
) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        assert decisions(db) == {"a0000000000000001": "accept"}  # in SQLite before the app closes
        await pilot.press("r")
        assert decisions(db) == {"a0000000000000001": "accept", "a0000000000000002": "reject"}
        assert app.query_one(ExampleList).cursor == 2
        assert counter(app).startswith("reviewed 2 / 16")


async def test_undo_cancels_the_last_decision(app_for: Callable[..., ReviewApp], db: Path) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a", "k", "r")
        assert decisions(db) == {"a0000000000000001": "reject"}
        await pilot.press("u")
        assert decisions(db) == {"a0000000000000001": "accept"}  # the earlier decision is back
        await pilot.press("u")
        assert decisions(db) == {}
    with ReviewStore(db, readonly=True) as store:
        assert [row["action"] for row in store.log()] == ["accept", "reject", "undo", "undo"]  # append-only


async def test_mark_then_bulk_accept_marked_rows_after_confirmation(
    app_for: Callable[..., ReviewApp], db: Path
) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space", "j", "space")
        assert len(app.model.marks) == 2
        await pilot.press("A")
        assert isinstance(app.screen, ConfirmScreen)
        assert "2 marked rows" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        assert decisions(db) == {"a0000000000000001": "accept", "a0000000000000003": "accept"}
        assert not app.model.marks
        await pilot.press("u")  # one undo takes back the whole bulk action
        assert decisions(db) == {}


async def test_bulk_reject_of_the_whole_filter_asks_and_no_means_no(
    app_for: Callable[..., ReviewApp], db: Path
) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        app.apply_filter(app.model.with_filter(status="rejected"))
        await pilot.press("R")
        assert isinstance(app.screen, ConfirmScreen)
        assert "all 4 rows in the filter (status=rejected)" in app.screen.question
        await pilot.press("n")
        assert decisions(db) == {}
        await pilot.press("R", "y")
        await pilot.pause()
        assert set(decisions(db).values()) == {"reject"} and len(decisions(db)) == 4


async def test_search_with_slash(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"SUBSCRIPTION", "enter")
        await pilot.pause()
        ids = {str(app.model.index["id"][r]) for r in app.model.view.to_list()}
        assert ids == {"a0000000000000003", "a0000000000000004", "e0000000000000001"}
        assert "/SUBSCRIPTION" in counter(app)
        await pilot.press("escape")  # clears the search
        assert len(app.model) == 16


async def test_filter_screen_by_duplicate_group_and_score(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("f")
        assert isinstance(app.screen, FilterScreen)
        await pilot.click("#group")
        await pilot.press(*"any")
        await pilot.click("#score-min")
        await pilot.press(*"0.86")
        await pilot.press("enter")
        await pilot.pause()
        assert [str(app.model.index["id"][r]) for r in app.model.view.to_list()] == ["a0000000000000003"]
        await pilot.press("f")
        await pilot.click("#clear")
        await pilot.pause()
        assert len(app.model) == 16


async def test_sort_cycles_columns_and_reverses(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("s", "s", "s", "s")  # order -> decision -> status -> reasons -> score
        assert app.model.sort.key == "score"
        await pilot.press("S")
        assert app.model.sort.descending
        await pilot.press("g")
        assert cursor_id(app) == "a0000000000000001"  # 0.93, the highest score
        await pilot.press("S")
        await pilot.press("g")
        assert cursor_id(app) == "a0000000000000002"  # 0.12, the lowest


async def test_edit_saves_a_valid_conversation(app_for: Callable[..., ReviewApp], db: Path) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        assert isinstance(app.screen, EditorScreen)
        editor = app.screen.query_one("#editor")
        messages = orjson.loads(editor.text)
        messages[1]["content"] = "Use 'Forgot password' on the sign-in page."
        editor.text = orjson.dumps(messages).decode()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert not isinstance(app.screen, EditorScreen)
    with ReviewStore(db, readonly=True) as store:
        decision = store.decisions()["a0000000000000001"]
    assert decision.action == "edit"
    assert decision.messages is not None and decision.messages[1]["content"].startswith("Use 'Forgot")


async def test_edit_refuses_an_invalid_conversation(app_for: Callable[..., ReviewApp], db: Path) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("e")
        editor = app.screen.query_one("#editor")
        messages = orjson.loads(editor.text)
        messages[1]["content"] = "   "
        editor.text = orjson.dumps(messages).decode()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert isinstance(app.screen, EditorScreen)  # still open, with the reason
        assert "schema.empty-content" in str(app.screen.query_one("#editor-error").render())
        editor.text = to_text(app.screen.messages)  # unchanged: refused, no decision
        await pilot.press("ctrl+s")
        assert "nothing changed" in str(app.screen.query_one("#editor-error").render())
        editor.text = "[not json"
        await pilot.press("ctrl+s")
        assert "not valid JSON" in str(app.screen.query_one("#editor-error").render())
        await pilot.press("escape")
        assert not isinstance(app.screen, EditorScreen)
    assert decisions(db) == {}


async def test_duplicate_group_view_shows_members_side_by_side(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("d")  # row 1 is in no group
        assert not isinstance(app.screen, GroupScreen)
        await pilot.press("j", "j", "j", "d")
        assert isinstance(app.screen, GroupScreen)
        assert [m["id"] for m in app.screen.members] == ["a0000000000000003", "a0000000000000004"]
        assert len(app.screen.query(".member")) == 2
        await pilot.press("escape")
        assert not isinstance(app.screen, GroupScreen)


async def test_leakage_view_finds_the_protected_item(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j", "j", "j", "c")
        assert isinstance(app.screen, LeakageScreen)
        assert app.screen.protected is not None and app.screen.protected["id"] == "b0000000000000001"
        await pilot.press("escape")
        await pilot.press("k", "c")  # no leakage on this row: a notice, no screen
        assert not isinstance(app.screen, LeakageScreen)


async def test_help_lists_every_binding(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        described = {description for _, description in app.screen.keys}
        for binding in ReviewApp.BINDINGS:
            assert binding.description in described  # type: ignore[union-attr]
        await pilot.press("a")  # list keys are off while help is on top
        assert app.model.reviewed() == 0
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_command_palette_runs_an_action(app_for: Callable[..., ReviewApp], db: Path) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("ctrl+p")
        await pilot.press(*"Reject")
        await pilot.pause(0.3)
        await pilot.press("enter")
        await pilot.pause()
        assert decisions(db) == {"a0000000000000001": "reject"}


async def test_quit_with_q(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("q")
        await pilot.pause()
        assert not app.is_running


async def test_background_load_fills_previews(app_for: Callable[..., ReviewApp]) -> None:
    app = app_for(background=True)
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.model.examples_loaded
        first = app.model.rows(0, 1)[0]
        assert first.preview == "How do I reset my password?"


async def test_note_with_n_is_stored_and_shown(app_for: Callable[..., ReviewApp], db: Path) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("n")
        assert isinstance(app.screen, NoteScreen)
        await pilot.press(*"wrong", "space", *"tariff", "enter")
        await pilot.pause()
        assert "note: wrong tariff" in str(app.query_one(DetailPane).text)
        await pilot.press("r")
    with ReviewStore(db, readonly=True) as store:
        decision = store.decisions()["a0000000000000001"]
        assert (decision.action, decision.note) == ("reject", "wrong tariff")  # the reject carries the note
        assert decisions(db) == {"a0000000000000001": "reject"}


async def test_every_key_is_safe_on_an_empty_view(app_for: Callable[..., ReviewApp], db: Path) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("slash", *"zzzz", "enter")
        await pilot.pause()
        assert len(app.model) == 0
        assert "no row matches" in str(app.query_one(DetailPane).text)
        await pilot.press("a", "r", "e", "n", "space", "d", "c", "j", "k", "G", "g", "s", "A")
        await pilot.pause()
        assert not isinstance(app.screen, ConfirmScreen)  # nothing to confirm
        assert decisions(db) == {}


async def test_pagedown_moves_the_cursor_a_page_and_scrolls_at_once(
    app_for: Callable[..., ReviewApp],
) -> None:
    app = app_for()
    async with app.run_test(size=(150, 12)) as pilot:  # a list shorter than the 16 rows
        example_list = app.query_one(ExampleList)
        page = example_list.size.height - 1
        await pilot.press("pagedown")
        assert example_list.cursor == page
        await pilot.press("pagedown")
        assert example_list.cursor == min(15, 2 * page)
        assert example_list.scroll_offset.y > 0  # scrolled to show the cursor, with no animation pending
        await pilot.press("home")
        assert example_list.cursor == 0 and example_list.scroll_offset.y == 0
