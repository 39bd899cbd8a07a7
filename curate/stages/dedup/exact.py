"""Exact dedup: one record per group of identical conversations (roles + normalised text).

Groups span every origin, so a training copy of an eval item is caught here too. The kept
record is chosen deterministically: eval before input before general (an eval item is never
the one dropped), then the higher quality score where the quality stage ran, then input order.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.core.context import BuildContext
from curate.core.frame import reject

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
    n = frame.height
    candidates = pl.col("dedup_key").is_not_null() & (pl.col("status") == "ok")
    # Most records have no copy: a hash pass finds the few that do, and only those are sorted.
    key = pl.when(candidates).then(pl.col("dedup_key"))
    copied = frame.select(key.is_duplicated() & key.is_not_null()).to_series()
    rows = np.flatnonzero(copied.to_numpy())
    needed = ["dedup_key", "id", "origin", *(["quality_score"] if "quality_score" in frame.columns else [])]
    ranked = (
        frame.select(needed)[rows]  # only the few columns the choice needs, of the grouped rows
        .with_columns(_row=pl.Series(rows, dtype=pl.Int64))
        .sort(keep_order(frame))
        .select("_row", pl.col("_row").first().over("dedup_key").alias("_kept_row"))
    )
    kept_row = np.full(n, -1, dtype=np.int64)
    kept_row[ranked["_row"].to_numpy()] = ranked["_kept_row"].to_numpy()
    grouped = pl.Series(kept_row >= 0)
    # A cluster is named by its kept record's row, so exact and near dedup share one id space.
    kept = pl.Series(kept_row).set(~grouped, None)
    frame = frame.with_columns(cluster_id=kept)
    if ctx.config.dedup.exact:
        duplicate = copied & pl.Series(kept_row != np.arange(n))
        kept_of_duplicates = kept.set(~duplicate, None)
        frame = frame.with_columns(
            _kept_id=frame["id"].gather(kept_of_duplicates),
            _kept_origin=frame["origin"].gather(kept_of_duplicates),
        )
        frame = reject(
            frame,
            pl.lit(duplicate),
            "dedup.exact",
            pl.format("exact duplicate of {} ({} record)", pl.col("_kept_id"), pl.col("_kept_origin")),
            ref=pl.col("_kept_id"),
        ).drop("_kept_id", "_kept_origin")
    ctx.findings["exact_dedup"] = {
        "groups": int(np.unique(kept_row[rows]).size),
        "records_in_groups": len(rows),
    }
    return frame
