"""Shared fixtures: paths to the real datasets (skipped where absent) and a CLI runner."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

ROOT = Path(__file__).resolve().parents[1]
# CHATCURATE_SHARED_DATA points a worktree elsewhere than ../shared/data at the datasets.
SHARED_DATA = Path(os.environ.get("CHATCURATE_SHARED_DATA") or ROOT.parent / "shared" / "data")
SAMPLES = ROOT / "samples"


def shared_file(name: str) -> Path:
    """A file from ../shared/data, or a skip that says why."""
    path = SHARED_DATA / name
    if not path.exists():
        pytest.skip(f"{path} is absent: the shared real datasets are not on this machine")
    return path


@pytest.fixture
def run_curate(capsys: pytest.CaptureFixture[str]):
    """Run the `curate` CLI in-process; returns (exit code, stdout, stderr)."""
    from curate.cli import main

    def run(*args: str) -> tuple[int, str, str]:
        code = main([str(a) for a in args])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
