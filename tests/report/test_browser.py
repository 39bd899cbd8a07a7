"""report.html in a real browser: headless Chromium renders it offline and the charts' bars show up
as pixels of the chart palette in the screenshot.

Skipped where Chromium is absent (.ci/run installs Debian's `chromium`). Set CURATE_SCREENSHOT_DIR
to keep the screenshots for a look.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import polars as pl
import pytest

from curate.report.charts import PALETTE, SERIES_COLOURS
from curate.report.write import write_reports

CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Chromium is not installed (apt-get install chromium; .ci/run installs it)"
)


def screenshot(page: Path, png: Path, profile: Path) -> dict[tuple[int, int, int], int]:
    """Render ``page`` with networking off and return the screenshot's pixel count per colour."""
    image_module = pytest.importorskip("PIL.Image")
    assert CHROMIUM is not None
    command = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run", "--hide-scrollbars",
        # Paint every tile before the shot (without these, parts of a tall page can stay blank).
        "--run-all-compositor-stages-before-draw", "--virtual-time-budget=5000",
        f"--user-data-dir={profile}", f"--screenshot={png}", "--window-size=1280,4000", page.as_uri(),
    ]  # fmt: skip
    result = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert png.is_file(), f"chromium wrote no screenshot (exit {result.returncode}): {result.stderr[-500:]}"
    if target := os.environ.get("CURATE_SCREENSHOT_DIR"):
        Path(target).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(target) / png.name)
    with image_module.open(png) as image:
        return {colour: n for n, colour in image.convert("RGB").getcolors(1 << 24)}


def rgb(colour: str) -> tuple[int, int, int]:
    return int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)


def test_charts_draw_in_headless_chromium(report_build: Path, tmp_path: Path) -> None:
    pixels = screenshot(report_build / "report.html", tmp_path / "report.png", tmp_path / "profile")
    drawn = {
        name: pixels.get(rgb(SERIES_COLOURS[name]), 0) for name in ("train", "eval", "reasons", "groups")
    }
    # A bar is at least a few hundred pixels; text and borders never use these exact colours.
    assert all(n > 300 for n in drawn.values()), drawn
    assert pixels.get(rgb(SERIES_COLOURS["general"]), 0) > 100  # general records in the mix chart


def test_a_report_without_data_draws_no_bars(report_build: Path, tmp_path: Path) -> None:
    # The control: the same page machinery with nothing to chart leaves the palette unused, so the
    # test above is measuring drawn bars and not, say, a legend.
    frame = pl.read_parquet(report_build / "examples.parquet").head(0)
    write_reports(tmp_path, {"counts": {"records": 0, "by_status": {}}}, frame)
    pixels = screenshot(tmp_path / "report.html", tmp_path / "empty.png", tmp_path / "profile")
    assert sum(pixels.get(rgb(colour), 0) for colour in PALETTE) < 100
