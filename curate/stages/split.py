"""Split: assign each usable record to train or eval (the ``split`` column).

The status stays "ok" until the end of the build (pipeline.finalize), so later stages can still
reject, and a reviewer's accept can restore, a record without redoing the split. With eval files,
they are the eval split. Without, a seeded hash of each record's duplicate group (its cluster id,
else its id) picks ``eval_fraction`` of the inputs: a group never straddles the split, and a
record keeps its side as the data grows. General records get their split from the mix stage.
"""

from __future__ import annotations

import polars as pl
import xxhash

from curate.core.context import BuildContext
from curate.core.frame import LABEL

NAME = "split"


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    usable = pl.col("status") == "ok"
    is_input = pl.col("origin") == "input"
    has_eval_files = frame.filter(usable & (pl.col("origin") == "eval")).height > 0
    if has_eval_files:
        in_eval = pl.lit(False)
        ctx.findings["split"] = {"eval_from": "files"}
    else:
        fraction = ctx.config.split.eval_fraction
        seed = ctx.config.split.seed
        group = pl.coalesce(pl.col("cluster_id").cast(pl.Utf8), pl.col("id"))
        keys = frame.filter(usable & is_input).select(group.alias("g"))["g"].unique()
        draws = {key: xxhash.xxh3_64_intdigest(f"{seed}:{key}".encode()) / 2**64 for key in keys.to_list()}
        chosen = {key for key, draw in draws.items() if draw < fraction}
        if fraction > 0 and not chosen and len(draws) > 1:
            chosen = {min(draws, key=draws.__getitem__)}  # a tiny input still gets an eval example
        in_eval = group.is_in(pl.Series(sorted(chosen), dtype=pl.Utf8).implode())
        ctx.findings["split"] = {"eval_from": "fraction", "fraction": fraction, "seed": seed}
    split = (
        pl.when(pl.col("origin") == "eval")
        .then(pl.lit("eval"))
        .when(is_input & in_eval)
        .then(pl.lit("eval"))
        .when(is_input)
        .then(pl.lit("train"))
        .otherwise(pl.lit(None, pl.Utf8))
    )
    return frame.with_columns(split=split.cast(LABEL))
