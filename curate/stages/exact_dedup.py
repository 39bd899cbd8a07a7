"""Exact dedup: one record per group of identical conversations (roles + normalised text).

Groups span every origin, so a training copy of an eval item is caught here too. The kept
record is chosen deterministically: eval before input before general (an eval item is never
the one dropped), then the higher quality score where the quality stage ran, then input order.
"""

from __future__ import annotations

import polars as pl

from curate.context import BuildContext
from curate.frame import reject

NAME = "exact_dedup"

ORIGIN_PRIORITY = {"eval": 0, "input": 1, "general": 2}


def keep_order(frame: pl.DataFrame) -> list[pl.Expr]:
    """Sort keys that put the record to keep first within a group (shared with near dedup)."""
    keys = [pl.col("origin").replace_strict(ORIGIN_PRIORITY, default=3, return_dtype=pl.Int8)]
    if "quality_score" in frame.columns:
        keys.append(-pl.col("quality_score").fill_null(0.0))
    keys.append(pl.col("_row"))
    return keys


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    frame = frame.with_row_index("_row")
    candidates = pl.col("dedup_key").is_not_null() & (pl.col("status") == "ok")
    # Sort only the few columns the choice needs: the example text stays where it is.
    needed = [
        "_row",
        "dedup_key",
        "id",
        "origin",
        *(["quality_score"] if "quality_score" in frame.columns else []),
    ]
    ranked = (
        frame.select(needed)
        .filter(frame.select(candidates).to_series())
        .sort(keep_order(frame))
        .select(
            "_row",
            pl.col("_row").first().over("dedup_key").alias("_kept_row"),
            pl.col("id").first().over("dedup_key").alias("_kept_id"),
            pl.col("origin").first().over("dedup_key").alias("_kept_origin"),
            pl.len().over("dedup_key").alias("_group_size"),
        )
    )
    frame = frame.join(ranked, on="_row", how="left")
    # A cluster is named by its kept record's row, so exact and near dedup share one id space.
    frame = frame.with_columns(
        cluster_id=pl.when(pl.col("_group_size") > 1).then(pl.col("_kept_row").cast(pl.Int64)),
    )
    if ctx.config.dedup.exact:
        duplicate = pl.col("_kept_row").is_not_null() & (pl.col("_kept_row") != pl.col("_row"))
        frame = reject(
            frame,
            duplicate,
            "dedup.exact",
            pl.format("exact duplicate of {} ({} record)", pl.col("_kept_id"), pl.col("_kept_origin")),
            ref=pl.col("_kept_id"),
        )
    groups = frame.filter(pl.col("_group_size") > 1)
    ctx.findings["exact_dedup"] = {
        "groups": groups["cluster_id"].n_unique(),
        "records_in_groups": len(groups),
    }
    return frame.drop("_row", "_kept_row", "_kept_id", "_kept_origin", "_group_size")
