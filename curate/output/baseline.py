"""A previous build, read back to say how this build's split differs from it (``--baseline``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core.errors import CurateError
from curate.stages.split import since_baseline


def split_since(frame: pl.DataFrame, now_split: dict[str, Any], baseline: Path) -> dict[str, Any]:
    """The manifest's ``split.baseline``: what became of the baseline build's eval records."""
    try:
        manifest = orjson.loads((baseline / "manifest.json").read_bytes())
        columns = pl.read_parquet_schema(baseline / "examples.parquet")
        wanted = [c for c in ("id", "status", "cluster_id") if c in columns]
        previous = pl.read_parquet(baseline / "examples.parquet", columns=wanted)
    except (OSError, ValueError, pl.exceptions.PolarsError) as error:
        raise CurateError(f"not a readable build ({error})", str(baseline), "give a build folder") from None
    found = since_baseline(frame, previous, manifest.get("split", {}), now_split)
    return {"build": str(baseline), **found}
