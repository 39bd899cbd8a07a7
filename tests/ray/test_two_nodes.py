"""The Ray engine on a two-node cluster (one CPU each, both on 127.0.0.1) gives the local
engine's build, row for row."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from curate.core.config import load_config
from curate.engines.recipe import BuildResult
from tests.ray.builds import assert_same_build, build, samples_config


def test_samples_same_as_local(ray_cluster: Any, local_samples: BuildResult) -> None:
    assert_same_build(build(samples_config(), "ray"), local_samples)


def test_alpaca_slice_same_as_local(ray_cluster: Any, alpaca_folder: Path, local_alpaca: BuildResult) -> None:
    assert_same_build(build(load_config(alpaca_folder / "curate.toml"), "ray"), local_alpaca)
