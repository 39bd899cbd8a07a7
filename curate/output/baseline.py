"""A previous build, read back to say how this build's split differs from it (``--baseline``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from curate.output.build_folder import read_examples, read_manifest, require_build
from curate.stages.split import since_baseline


def split_since(frame: pl.DataFrame, now_split: dict[str, Any], baseline: Path) -> dict[str, Any]:
    """The manifest's ``split.baseline``: what became of the baseline build's eval records."""
    require_build(baseline)
    manifest = read_manifest(baseline)
    previous = read_examples(baseline, ("id", "status", "cluster_id"))
    found = since_baseline(frame, previous, manifest.get("split", {}), now_split)
    return {"build": str(baseline), **found}
