"""The app never shows a decision as applied when the build will drop it, and an edit says at
once which checks it fails."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from curate.engines.edit_checks import edit_checks
from curate.review.store import ReviewStore
from tests.review.test_edit_checks import GSM8K_TEST_ITEM
from tui.app import ReviewApp, make_app
from tui.screens.confirm import ConfirmScreen
from tui.widgets.example_list import ExampleList

pytestmark = pytest.mark.anyio
SIZE = (150, 40)


def decisions(db: Path) -> dict[str, str]:
    with ReviewStore(db, readonly=True) as store:
        return {i: d.action for i, d in store.decisions().items()}


def notices(app: ReviewApp) -> list[str]:
    return [str(n.message) for n in app._notifications]


async def test_accepting_a_hard_rejection_is_refused_at_the_keypress(
    app_for: Callable[..., ReviewApp], db: Path
) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "j", "j")  # a0000000000000004: a near duplicate
        assert str(app.model.index["id"][app.query_one(ExampleList).current_row()]) == "a0000000000000004"
        await pilot.press("a")
        assert decisions(db) == {}
        assert any("not accepted: rejected by dedup.near" in n for n in notices(app))
        await pilot.press("k", "k", "a")  # a0000000000000002: rejected by quality only
        assert decisions(db) == {"a0000000000000002": "accept"}


async def test_a_blocked_decision_from_earlier_is_not_drawn_as_applied(build: Path, db: Path) -> None:
    with ReviewStore(db) as store:
        store.record(["a0000000000000004"], "accept", "old-version")
    app = make_app(build, db, "tester", background=False, detail_delay=0)
    async with app.run_test(size=SIZE):
        row = app.model.index["id"].to_list().index("a0000000000000004")
        (shown,) = [v for v in app.model.rows(0, len(app.model)) if v.row == row]
        assert shown.decision == "blocked"


async def test_bulk_accept_leaves_out_the_hard_rejections(
    app_for: Callable[..., ReviewApp], db: Path
) -> None:
    app = app_for()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("j", "space", "j", "j", "space")  # rows 2 (quality) and 4 (dedup)
        await pilot.press("A")
        assert isinstance(app.screen, ConfirmScreen)
        assert "1 hard-rejected rows" in app.screen.question
        await pilot.press("y")
        await pilot.pause()
        assert decisions(db) == {"a0000000000000002": "accept"}


def small_build(tmp_path: Path) -> Path:
    from curate.cli import main

    chats = [
        ("Where is my order?", "The tracking link is in your confirmation email, under Track my parcel."),
        ("Do you ship to Canada?", "We ship to Canada, and duties are shown at checkout before you pay."),
    ]
    lines = [
        orjson.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
        for q, a in chats
    ]
    (tmp_path / "chats.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    bench = {
        "messages": [{"role": "user", "content": GSM8K_TEST_ITEM}, {"role": "assistant", "content": "18"}]
    }
    (tmp_path / "gsm8k_test.jsonl").write_bytes(orjson.dumps(bench) + b"\n")
    (tmp_path / "curate.toml").write_text(
        '[build]\ninputs = ["chats.jsonl"]\nbenchmarks = ["gsm8k_test.jsonl"]\n\n'
        '[split]\neval_fraction = 0.0\n\n[validate]\ntokenizer = "estimate"\n\n[review]\napply = false\n'
    )
    assert main(["build", str(tmp_path / "curate.toml"), "--out", str(tmp_path / "build")]) == 0
    return tmp_path / "build"


async def test_saving_an_edit_says_which_checks_it_fails_and_still_records_it(tmp_path: Path) -> None:
    build = small_build(tmp_path)
    db = tmp_path / "reviews.sqlite"
    app = make_app(build, db, "tester", background=False, detail_delay=0, edit_checks=edit_checks(build))
    async with app.run_test(size=SIZE) as pilot:
        target = str(app.model.index["id"][app.query_one(ExampleList).current_row()])
        await pilot.press("e")
        editor = app.screen.query_one("#editor")
        messages = orjson.loads(editor.text)
        messages[1]["content"] += f" While you wait, try this: {GSM8K_TEST_ITEM}"
        editor.text = orjson.dumps(messages).decode()
        await pilot.press("ctrl+s")
        await pilot.pause()
        assert decisions(db) == {target: "edit"}
        (warning,) = [n for n in notices(app) if "will reject it" in n]
        assert "leakage.ngram" in warning and "gsm8k_test.jsonl" in warning
