"""Real builds shared by the gate tests: built once per session, read-only afterwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check.curate_builds import Plan, build

# Planted defects stay under the default warn levels: the build passes its own gates.
GOOD = Plan(good=160, eval=30, invalid=4, duplicates=6, leaked=2, placeholders=3, seed=1)
# Few records, most of them invalid or copies: an obviously bad build.
BAD = Plan(good=20, eval=0, invalid=30, duplicates=20, benchmark=0, seed=2)


@pytest.fixture(scope="session")
def good_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("good"), GOOD)


@pytest.fixture(scope="session")
def bad_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("bad"), BAD)
