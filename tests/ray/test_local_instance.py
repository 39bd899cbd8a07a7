"""The Ray engine on a local Ray instance gives the local engine's build, row for row, also
when a task dies once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest

from curate.core.config import load_config
from curate.engines.ray import FAIL_ONCE_ENV
from curate.engines.recipe import BuildResult
from tests.conftest import SAMPLES
from tests.ray.builds import assert_same_build, build, samples_config


def test_samples_same_as_local(ray_local: Any, local_samples: BuildResult) -> None:
    assert_same_build(build(samples_config(), "ray"), local_samples)


def test_alpaca_slice_same_as_local(ray_local: Any, alpaca_folder: Path, local_alpaca: BuildResult) -> None:
    built = build(load_config(alpaca_folder / "curate.toml"), "ray")
    codes = built.frame.select(pl.col("reasons").list.eval(pl.element().struct.field("code")).explode())
    planted = set(codes.to_series().drop_nulls())
    # The slice exercises every global step the engines must agree on.
    assert {"dedup.exact", "dedup.near", "leakage.ngram", "schema.invalid-json"} <= planted
    assert built.frame["split"].drop_nulls().unique().sort().to_list() == ["eval", "train"]
    assert_same_build(built, local_alpaca)


def test_a_task_that_dies_is_retried(
    ray_local: Any, local_samples: BuildResult, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    marker = tmp_path / "failed-once"
    monkeypatch.setenv(FAIL_ONCE_ENV, str(marker))
    built = build(samples_config(), "ray")
    assert marker.exists()  # a block task did die
    assert_same_build(built, local_samples)


def test_cli_ray_build_folder(ray_local: Any, run_curate: Any, tmp_path: Path) -> None:
    """`curate build --engine ray` writes the folder the local engine writes, and `curate check`
    reads it."""
    folders = {}
    for engine in ("local", "ray"):
        folders[engine] = tmp_path / engine
        code, _, err = run_curate(
            "build", SAMPLES / "curate.toml", "--out", folders[engine], "--engine", engine
        )
        assert code == 0, err
    for name in ("train.jsonl", "eval.jsonl", "general_eval.jsonl", "rejected.jsonl"):
        assert (folders["ray"] / name).read_bytes() == (folders["local"] / name).read_bytes(), name
    ray_rows = pl.read_parquet(folders["ray"] / "examples.parquet")
    local_rows = pl.read_parquet(folders["local"] / "examples.parquet")
    assert ray_rows.equals(local_rows)
    code, _, err = run_curate("check", folders["ray"], "--config", SAMPLES / "curate.toml")
    assert code in (0, 1), err
