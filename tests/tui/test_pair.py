"""The pair view: chosen and rejected side by side, `w` swaps them (recorded as swap), and the
next build applies the swap. A snapshot of the view on a real preference build."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from curate.review.store import ReviewStore
from tests.preference.pairs import build, pair, write_jsonl
from tui.app import make_app
from tui.screens.pair import PairScreen


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def _pairs() -> list[dict[str, Any]]:
    records = [pair(i, score_chosen=4, score_rejected=2) for i in range(12)]
    records[0]["rejected"] = [{"role": "assistant", "content": "Switch it off, then call us about case 0."}]
    return records


@pytest.fixture
def pair_build(tmp_path: Path) -> Path:
    data = write_jsonl(tmp_path / "pairs.jsonl", _pairs())
    return build(tmp_path, [data], "[split]\neval_fraction = 0.0\n")


def _app(folder: Path, db: Path) -> Any:
    app = make_app(folder, db, "tester", background=False, detail_delay=0)
    app.sub_title = "build"
    return app


@pytest.mark.anyio
async def test_swap_is_recorded_and_applied_by_the_next_build(pair_build: Path, tmp_path: Path) -> None:
    db = tmp_path / "reviews.sqlite"
    app = _app(pair_build, db)
    async with app.run_test(size=(140, 40)) as pilot:
        first = app.model.index["id"][app.list.current_row()]
        await pilot.press("p")
        assert isinstance(app.screen, PairScreen)
        before = app.screen.record
        await pilot.press("w")
        assert app.screen.record["chosen"] == before["rejected"]
        await pilot.press("escape")
        assert not isinstance(app.screen, PairScreen)
    with ReviewStore(db) as store:
        decision = store.decisions()[first]
    assert decision.action == "swap" and decision.messages["chosen"] == before["rejected"]
    assert decision.messages["score_chosen"] == before["score_rejected"]
    again = build(tmp_path, [tmp_path / "pairs.jsonl"], "[split]\neval_fraction = 0.0\n")
    lines = {r["id"]: r for r in map(orjson.loads, (again / "train.jsonl").read_bytes().splitlines())}
    assert lines[first]["chosen"] == before["rejected"] and lines[first]["rejected"] == before["chosen"]


@pytest.mark.anyio
async def test_w_twice_restores_the_pair(pair_build: Path, tmp_path: Path) -> None:
    app = _app(pair_build, tmp_path / "reviews.sqlite")
    async with app.run_test(size=(140, 40)) as pilot:
        row = app.list.current_row()
        original = app.pair_in_force(row)
        await pilot.press("w", "w")
        assert app.pair_in_force(row) == original


def test_pair_screen(snap_compare: Any, pair_build: Path, tmp_path: Path) -> None:
    assert snap_compare(_app(pair_build, tmp_path / "reviews.sqlite"), terminal_size=(140, 40), press=["p"])
