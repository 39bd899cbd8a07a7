"""One real build with every kind of planted defect, shared by the report tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.check.curate_builds import Plan, build

HOSTILE = '<script>alert("x")</script><img src=x onerror="alert(1)">'
PLAN = Plan(
    good=150,
    eval=25,
    invalid=6,
    duplicates=8,
    leaked=3,
    placeholders=4,
    benchmark=8,
    general=60,
    seed=5,
    hostile=HOSTILE,
)


@pytest.fixture(scope="session")
def report_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build(tmp_path_factory.mktemp("report"), PLAN)
