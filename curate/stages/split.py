"""Split: decide train and eval among the usable records.

With eval files, they are the eval split. Without, a seeded hash of each record's duplicate
group (its cluster id, else its id) picks ``eval_fraction`` of the inputs: a group never
straddles the split, and a record keeps its side as the data grows.
"""

from __future__ import annotations

import polars as pl
import xxhash

from curate.context import BuildContext

NAME = "split"


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    usable = pl.col("status") == "ok"
    has_eval_files = frame.filter(usable & (pl.col("origin") == "eval")).height > 0
    if has_eval_files:
        status = pl.when(usable & (pl.col("origin") == "eval")).then(pl.lit("eval"))
        ctx.findings["split"] = {"eval_from": "files"}
    else:
        fraction = ctx.config.split.eval_fraction
        seed = ctx.config.split.seed
        group = pl.coalesce(pl.col("cluster_id").cast(pl.Utf8), pl.col("id"))
        keys = frame.filter(usable & (pl.col("origin") == "input")).select(group.alias("g"))["g"].unique()
        draws = {key: xxhash.xxh3_64_intdigest(f"{seed}:{key}".encode()) / 2**64 for key in keys.to_list()}
        chosen = {key for key, draw in draws.items() if draw < fraction}
        if fraction > 0 and not chosen and len(draws) > 1:
            chosen = {min(draws, key=draws.__getitem__)}  # a tiny input still gets an eval example
        in_eval = group.is_in(pl.Series(sorted(chosen), dtype=pl.Utf8))
        status = pl.when(usable & (pl.col("origin") == "input") & in_eval).then(pl.lit("eval"))
        ctx.findings["split"] = {"eval_from": "fraction", "fraction": fraction, "seed": seed}
    status = status.when(usable & (pl.col("origin") == "input")).then(pl.lit("train"))
    return frame.with_columns(status=status.otherwise(pl.col("status")))
