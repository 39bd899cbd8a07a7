"""Small frames for the dedup tests: records written to JSONL and ingested as a build does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core.config import load_config
from curate.core.context import BuildContext
from curate.ingest.inputs import InputSpec, ingest
from curate.stages.dedup import exact as exact_dedup
from curate.stages.dedup import near as near_dedup


def chat(user: str, assistant: str, **extra: Any) -> dict[str, Any]:
    return {
        "messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}],
        **extra,
    }


def sharegpt(user: str, assistant: str) -> dict[str, Any]:
    return {"conversations": [{"from": "human", "value": user}, {"from": "gpt", "value": assistant}]}


def frame_of(tmp_path: Path, **files: list[dict[str, Any]]) -> pl.DataFrame:
    """Ingest ``input=[...]``, ``eval=[...]``, ``general=[...]``, ``benchmark=[...]`` records."""
    specs = []
    for origin, records in files.items():
        path = tmp_path / f"{origin}.jsonl"
        path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
        specs.append(InputSpec(str(path), origin))
    frame, _ = ingest(specs, 16_000_000)
    return frame


def context(semantic: bool = False, **dedup: Any) -> BuildContext:
    return BuildContext(config=load_config(None, {"dedup": dedup}), semantic=semantic)


def dedup(frame: pl.DataFrame, ctx: BuildContext | None = None) -> pl.DataFrame:
    """Exact then near dedup, as the pipeline runs them."""
    ctx = ctx or context()
    return near_dedup.run(exact_dedup.run(frame, ctx), ctx)


def codes(row: dict[str, Any], column: str = "reasons") -> list[str]:
    return [reason["code"] for reason in row[column]]
