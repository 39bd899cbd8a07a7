"""SVG snapshots of the review app's screens (pytest-textual-snapshot).

Update after an intended change with `pytest tests/tui --snapshot-update`, and look at the
SVGs in tests/tui/__snapshots__ before committing them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.tui.builds import make_build
from tui.app import make_app

SIZE = (140, 36)


def _app(tmp_path: Path) -> Any:
    app = make_app(
        make_build(tmp_path / "build"),
        tmp_path / "reviews.sqlite",
        "tester",
        background=False,
        detail_delay=0,
    )
    app.sub_title = "build"  # not the temporary path, which changes every run
    return app


def test_main_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=SIZE)


def test_main_screen_filtered_to_rejected_with_a_decision(snap_compare: Any, tmp_path: Path) -> None:
    async def run_before(pilot: Any) -> None:
        pilot.app.apply_filter(pilot.app.model.with_filter(status="rejected"))
        pilot.app.model.decide([pilot.app.model.row_at(0)], "reject")  # its time is not on screen
        pilot.app.list.repaint()
        pilot.app.refresh_status()
        await pilot.press("j", "space")

    assert snap_compare(_app(tmp_path), terminal_size=SIZE, run_before=run_before)


def test_detail_of_a_soft_rejected_row(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=SIZE, press=["j"])


def test_help_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=(140, 44), press=["question_mark"])


def test_filter_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=(140, 44), press=["f"])


def test_editor_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=SIZE, press=["e"])


def test_bulk_confirmation(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=SIZE, press=["space", "space", "R"])


def test_duplicate_group_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=SIZE, press=["j", "j", "d"])


def test_leakage_screen(snap_compare: Any, tmp_path: Path) -> None:
    assert snap_compare(_app(tmp_path), terminal_size=SIZE, press=["j", "j", "j", "j", "c"])
