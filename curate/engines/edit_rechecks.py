"""Edits go through every row-level check again: after the review stage applies a reviewer's
edit (and checks its length and exact copies), the edited rows are scored afresh by quality (no
flag may quote text the edit removed), compared with the kept rows by near dedup, and matched
against the benchmarks and the eval split by leakage. A failing edit is rejected with that
stage's own code and keeps its ``review.edited`` flag.

This is the engine's step, not the review stage's: it calls other stages' code, and a stage
does not import its siblings.
"""

from __future__ import annotations

import polars as pl

from curate.core.context import BuildContext
from curate.ingest.store import with_examples
from curate.stages import review
from curate.stages.dedup import near as near_dedup
from curate.stages.leakage import stage as leakage
from curate.stages.quality.stage import assess
from curate.stages.quality.texts import drop_texts


def review_then_recheck(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    """The review stage as the recipe runs it: decisions applied, then edited rows checked again."""
    return recheck_edits(review.run(frame, ctx), ctx)


def recheck_edits(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    """The row-level stages again on the edited rows still usable: quality, near dedup, leakage
    (length and exact dedup ran in the review stage)."""
    if "review" not in frame.columns:
        return frame
    touched = (pl.col("review") == "edited").fill_null(False)
    if not frame.select(touched.any()).item():
        return frame
    frame = _rescore(frame, touched & (pl.col("status") == "ok"), ctx)
    frame = near_dedup.recheck(frame, touched, ctx)
    return leakage.recheck(frame, touched & (pl.col("status") == "ok"), ctx)


def _rescore(frame: pl.DataFrame, rows: pl.Expr, ctx: BuildContext) -> pl.DataFrame:
    """Score the edited rows afresh: their earlier quality flags described the old text."""
    config = ctx.config.quality
    if not config.enabled or "quality_score" not in frame.columns:
        return frame
    picked = frame.select(rows.fill_null(False)).to_series()
    if not picked.any():
        return frame
    old_quality = pl.element().struct.field("stage") == "quality"
    part = frame.filter(picked).with_columns(pl.col("flags").list.filter(~old_quality))
    scored = drop_texts(assess(with_examples(part), config))
    written = [c for c in scored.columns if c in frame.columns and (c.startswith("q_") or c in _SCORED)]
    rows_at = frame.select(pl.int_range(pl.len()).alias("_at")).filter(picked)["_at"]
    updates = scored.select(written).with_columns(_at=rows_at)
    merged = (
        frame.select(written)
        .with_row_index("_at")
        .with_columns(pl.col("_at").cast(rows_at.dtype))
        .update(updates, on="_at", include_nulls=True)
        .drop("_at")
    )
    return frame.with_columns(merged.get_columns())


_SCORED = ("quality_score", "flags", "reasons", "status")
