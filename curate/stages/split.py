"""Split: assign each usable record to train or eval (the ``split`` column).

The status stays "ok" until the end of the build (pipeline.finalize), so later stages can still
reject, and a reviewer's accept can restore, a record without redoing the split. With eval files,
they are the eval split. Without, a seeded hash of each record's duplicate group (its cluster id,
the smallest content id among the group's members, else its own id) picks ``eval_fraction`` of
the inputs: a group never straddles the split, and since the key is content, not a row number, a
record keeps its side when other data is added, removed or reordered; only a record whose group
gains or loses members can move. General records get their split from the mix stage.
"""

from __future__ import annotations

from typing import Any

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
        group = pl.coalesce(pl.col("cluster_id"), pl.col("id"))
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


def since_baseline(
    frame: pl.DataFrame, previous: pl.DataFrame, previous_split: dict[str, Any], now_split: dict[str, Any]
) -> dict[str, Any]:
    """How the previous build's eval records fared in this one, and why any changed side.

    ``previous`` holds that build's ``id``, ``status`` and ``cluster_id``; ``*_split`` are the
    manifests' split sections (how eval was chosen). A record that was eval and is now train
    moved because the split settings changed, or because its duplicate group changed (its key
    is the group's smallest content id), or because eval now comes from files.
    """
    was_eval = (
        previous.filter(pl.col("status").cast(pl.Utf8) == "eval")
        .select("id", _group_key(previous).alias("before_key"))
        .unique("id", keep="first")
    )
    now = (
        frame.select(
            "id",
            pl.col("status").cast(pl.Utf8).alias("now"),
            _group_key(frame).alias("now_key"),
            pl.col("reasons").list.first().struct.field("code").alias("reason"),
        )
        .sort(pl.col("now").is_in(["eval", "train"]), descending=True, maintain_order=True)
        .unique("id", keep="first")
    )
    joined = was_eval.join(now, on="id", how="left")
    settings = ("eval_from", "fraction", "seed")
    settings_changed = any(previous_split.get(key) != now_split.get(key) for key in settings)
    moved = joined.filter(pl.col("now") == "train")
    why: dict[str, int] = {}
    for before_key, now_key in moved.select("before_key", "now_key").iter_rows():
        if now_split.get("eval_from") == "files":
            cause = "eval now comes from eval files"
        elif settings_changed:
            cause = "split settings changed (eval_fraction or seed)"
        elif before_key != now_key:
            cause = "its duplicate group changed"
        else:
            cause = "unexplained"
        why[cause] = why.get(cause, 0) + 1
    rejected = joined.filter(pl.col("now") == "rejected")
    return {
        "eval_before": was_eval.height,
        "still_eval": joined.filter(pl.col("now") == "eval").height,
        "changed_side": moved.height,
        "changed_side_why": dict(sorted(why.items())),
        "now_rejected": rejected.height,
        "now_rejected_by_reason": dict(sorted(rejected.group_by("reason").len().iter_rows())),
        "absent": joined.filter(pl.col("now").is_null()).height,
    }


def _group_key(frame: pl.DataFrame) -> pl.Expr:
    if "cluster_id" not in frame.columns:
        return pl.col("id")
    return pl.coalesce(pl.col("cluster_id").cast(pl.Utf8), pl.col("id"))
