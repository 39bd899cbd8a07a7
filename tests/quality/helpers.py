"""Build small frames through the real ingest path and run the quality stage on them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core.config import load_config
from curate.core.context import BuildContext
from curate.ingest.inputs import InputSpec, ingest
from curate.stages.quality import stage as quality


def chat(user: str, *answers: str, system: str | None = None) -> dict[str, Any]:
    """A conversation: the user turn, then assistant answers alternating with follow-ups."""
    messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    messages.append({"role": "user", "content": user})
    for index, answer in enumerate(answers):
        if index:
            messages.append({"role": "user", "content": "And then?"})
        messages.append({"role": "assistant", "content": answer})
    return {"messages": messages}


def frame_of(
    tmp_path: Path, records: list[Any], origin: str = "input", name: str = "data.jsonl"
) -> pl.DataFrame:
    path = tmp_path / name
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    frame, _ = ingest([InputSpec(str(path), origin, None)], 16_000_000)
    return frame


def run_quality(frame: pl.DataFrame, **settings: Any) -> tuple[pl.DataFrame, dict[str, Any]]:
    ctx = BuildContext(load_config(None, {"quality": settings} if settings else None))
    out = quality.run(frame, ctx)
    return out, ctx.findings.get("quality", {})


def codes(frame: pl.DataFrame, column: str = "flags") -> list[set[str]]:
    """The reason codes of each row's flags (or reasons), in row order."""
    return [{item["code"] for item in row} for row in frame[column].to_list()]
