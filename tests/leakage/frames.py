"""Small frames for leakage and mix tests: records written to JSONL, ingested like a build does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core.config import CurateConfig, LeakageSection, MixSection
from curate.core.context import BuildContext
from curate.ingest.inputs import InputSpec, ingest


def chat(user: str, assistant: str = "Here is my answer.", id: str | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]
    }
    if id is not None:
        record["id"] = id
    return record


def frame_of(tmp_path: Path, **files: list[dict[str, Any]]) -> pl.DataFrame:
    """Ingest ``input=[...]``, ``eval=[...]``, ``benchmark=[...]``, ``general=[...]`` records and set
    the split as the split stage does when eval files are given."""
    specs = []
    for origin, records in files.items():
        if not records:
            continue  # an empty input is a user error the reader reports
        path = tmp_path / f"{origin}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        specs.append(InputSpec(str(path), origin))
    frame, _ = ingest(specs, 16_000_000)
    split = (
        pl.when(pl.col("origin") == "eval")
        .then(pl.lit("eval"))
        .when(pl.col("origin") == "input")
        .then(pl.lit("train"))
        .otherwise(pl.lit(None, pl.Utf8))
    )
    return frame.with_columns(split=split)


def context(
    semantic: bool = False, leakage: dict[str, Any] | None = None, mix: dict[str, Any] | None = None
) -> BuildContext:
    config = CurateConfig(
        leakage=LeakageSection(**(leakage or {})),
        mix=MixSection(**(mix or {})),
    )
    return BuildContext(config=config, semantic=semantic)
