"""Fixtures for the review app: a fixed build, a fresh store, and the app as the CLI makes it."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.tui.builds import make_build
from tui.app import ReviewApp, make_app


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"  # Textual runs on asyncio; the anyio plugin runs the async tests


@pytest.fixture
def build(tmp_path: Path) -> Path:
    return make_build(tmp_path / "build")


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "reviews.sqlite"


@pytest.fixture
def app_for(build: Path, db: Path) -> Callable[..., ReviewApp]:
    def make(**kwargs: object) -> ReviewApp:
        return make_app(build, db, "tester", background=bool(kwargs.get("background", False)), detail_delay=0)

    return make
