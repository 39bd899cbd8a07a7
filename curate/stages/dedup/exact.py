"""Exact dedup: one record per group of identical conversations (roles + normalised text).

Groups span every origin, so a training copy of an eval item is caught here too. The kept
record is chosen deterministically: eval before input before general (an eval item is never
the one dropped), then the higher quality score where the quality stage ran, then input order.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import numpy as np
import polars as pl

from curate.core.context import BuildContext
from curate.core.frame import reject

NAME = "exact_dedup"

ORIGIN_PRIORITY = {"eval": 0, "input": 1, "general": 2}


def priority(origin: pl.Expr) -> pl.Expr:
    """The origin's place in the keep order (shared with near dedup and the Ray engine)."""
    return origin.replace_strict(ORIGIN_PRIORITY, default=3, return_dtype=pl.Int8)


def kept_in_groups(grouped: pl.DataFrame) -> pl.DataFrame:
    """The kept row of each group of ``grouped`` (rows that share a ``dedup_key`` with another,
    with their ``_row``, ``_priority`` and, where the quality stage ran, ``quality_score``):
    ``_row`` and ``_kept_row``. Kept first: origin priority, then the higher quality score, then
    input order. Every engine calls this, over all copied rows or over one partition's."""
    keys = [pl.col("_priority")]
    if "quality_score" in grouped.columns:
        keys.append(-pl.col("quality_score").fill_null(0.0))
    keys.append(pl.col("_row"))
    return grouped.sort(keys).select("_row", pl.col("_row").first().over("dedup_key").alias("_kept_row"))


Grouping = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


def run(frame: pl.DataFrame, ctx: BuildContext, grouping: Grouping | None = None) -> pl.DataFrame:
    """``grouping``: given which rows are candidates, the rows in groups of copies and the row
    each group keeps (``kept_in_groups``), by another engine (Ray's hash-partitioned group-by);
    without it, found here."""
    n = frame.height
    candidate = frame.select(pl.col("dedup_key").is_not_null() & (pl.col("status") == "ok")).to_series()
    rows, kept_of_rows = (grouping or partial(_grouped_here, frame))(candidate.fill_null(False).to_numpy())
    kept_row = np.full(n, -1, dtype=np.int64)
    kept_row[rows] = kept_of_rows
    copied = pl.Series(kept_row >= 0)
    # A cluster is named by its kept record's row, so exact and near dedup share one id space.
    kept = pl.Series(kept_row).set(~copied, None)
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
        "groups": int(np.unique(kept_of_rows).size),
        "records_in_groups": len(rows),
    }
    return frame


def _grouped_here(frame: pl.DataFrame, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    # Most records have no copy: a hash pass finds the few that do, and only those are sorted.
    key = pl.when(pl.Series(candidate)).then(pl.col("dedup_key"))
    copied = frame.select(key.is_duplicated() & key.is_not_null()).to_series()
    rows = np.flatnonzero(copied.to_numpy())
    needed = ["dedup_key", *(["quality_score"] if "quality_score" in frame.columns else [])]
    ranked = kept_in_groups(
        frame.select(*needed, _priority=priority(pl.col("origin")))[rows].with_columns(
            _row=pl.Series(rows, dtype=pl.Int64)
        )  # the grouped rows only
    ).sort("_row")
    return ranked["_row"].to_numpy(), ranked["_kept_row"].to_numpy()
