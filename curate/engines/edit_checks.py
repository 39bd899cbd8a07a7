"""Which checks a reviewer's edit would fail at the next build, asked the moment it is saved.

The review app may not import the stages (it sits beside the engine, not above it), so the CLI
hands it this function. It runs the very code the build runs on an edit (the review stage's
``apply_decisions``: validation, length, quality, exact and near dedup, leakage) over the
build's own rows, read back from examples.parquet as they stood before review.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core.config import CurateConfig, load_config
from curate.core.context import BuildContext
from curate.core.frame import LABEL, REASONS_DTYPE
from curate.engines.edit_rechecks import recheck_edits
from curate.review.store import Decision
from curate.stages.review import apply_decisions

EditChecks = Callable[[str, list[dict[str, Any]]], list[tuple[str, str]]]
USABLE = ("train", "eval", "general_eval")


def edit_checks(build: Path, config: CurateConfig | None = None) -> EditChecks:
    """A function (example id, edited messages) -> the (code, message) pairs of every check the
    edit would fail; empty when the next build would keep it. The build is read on first use."""
    folder = build if build.is_dir() else build.parent
    cache: dict[str, Any] = {}

    def check(example_id: str, messages: list[dict[str, Any]]) -> list[tuple[str, str]]:
        if "frame" not in cache:
            cache["frame"] = _pre_review_frame(folder)
            cache["config"] = config or _config_of(folder)
        frame: pl.DataFrame = cache["frame"]
        decision = Decision(example_id, "edit", "check", "", 0, messages=messages)
        ctx = BuildContext(config=cache["config"])
        # The build's own decisions are not applied here: only this edit is judged.
        out, summary = apply_decisions(frame, {example_id: decision}, ctx)
        out = recheck_edits(out, ctx)
        problems = [(item["decision"], item["why"]) for item in summary["not_applied"]]
        rows = out.filter(pl.col("id") == example_id)
        for reasons in rows.filter(pl.col("status") == "rejected")["reasons"].to_list():
            problems += [
                (r["code"], r["message"])
                for r in reasons
                if r["code"] not in _codes_before(frame, example_id)
            ]
        return list(dict.fromkeys(problems))

    return check


def _codes_before(frame: pl.DataFrame, example_id: str) -> set[str]:
    """Codes the row carried already (an edit cannot be blamed for them)."""
    rows = frame.filter(pl.col("id") == example_id)["reasons"].to_list()
    return {r["code"] for reasons in rows for r in reasons}


def _config_of(folder: Path) -> CurateConfig:
    try:
        manifest = orjson.loads((folder / "manifest.json").read_bytes())
    except (OSError, orjson.JSONDecodeError):
        return load_config(None)
    data = manifest.get("config") or {}
    sections = {key: value for key, value in data.items() if isinstance(value, dict) and key != "build"}
    return load_config(None, sections)


def _pre_review_frame(folder: Path) -> pl.DataFrame:
    """examples.parquet as the review stage sees it: written rows usable again ("ok", their split
    kept), benchmark rows protected, rejected rows as they were; earlier review marks undone."""
    frame = pl.read_parquet(folder / "examples.parquet")
    status = pl.col("status").cast(pl.Utf8)
    frame = frame.with_columns(
        status=pl.when(status.is_in(USABLE)).then(pl.lit("ok")).otherwise(status).cast(LABEL),
        split=pl.when(status == "general_eval")
        .then(pl.lit(None, pl.Utf8))
        .otherwise(pl.col("split").cast(pl.Utf8)),
    )
    # The frame's types, as the stages write them (the build folder holds plain strings).
    typed = [pl.col(c).cast(LABEL) for c in ("source", "origin", "format") if c in frame.columns]
    typed += [pl.col(c).cast(REASONS_DTYPE) for c in ("reasons", "flags") if c in frame.columns]
    return frame.with_columns(typed).drop([c for c in ("review", "reviewer") if c in frame.columns])
