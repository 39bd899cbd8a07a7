"""Mix: general chat data into train at a fixed share, against catastrophic forgetting.

General rows reach this stage already validated, deduplicated against everything (dedup groups
span origins) and decontaminated (the leakage stage checks them like train rows). Of those still
usable, a seeded slice is held out as ``general_eval`` (the trainer's forgetting measure); then
enough are sampled into train that general records make up ``ratio`` of the final train set:

    n_general = round(ratio / (1 - ratio) * n_domain_train)

capped at what is left unless ``oversample = true``, in which case sampled rows are repeated
(``mix_repeats``). The rest keep a null split and ``finalize`` rejects them as
``mix.not-sampled``, so every general record is still accounted for.
"""

from __future__ import annotations

from typing import Any

import polars as pl
import xxhash

from curate.core.context import BuildContext
from curate.core.frame import LABEL

NAME = "mix"


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    config = ctx.config.mix
    if "split" not in frame.columns:
        frame = frame.with_columns(split=pl.lit(None, LABEL))
    usable = pl.col("status") == "ok"
    is_general = usable & (pl.col("origin") == "general")
    # Only the general rows' columns are read and written: joining picks onto the whole frame
    # copied every column of the frame to change a few.
    general = frame.lazy().with_row_index("_row").filter(is_general).select("_row", "id").collect()
    n_domain = frame.select(
        (usable & (pl.col("split") == "train") & (pl.col("origin") == "input")).sum()
    ).item()
    available = general.height
    heldout = _heldout_count(available, config.heldout_fraction, config.heldout_max)
    requested = round(config.ratio / (1.0 - config.ratio) * n_domain) if available else 0
    left = available - heldout
    sampled = requested if config.oversample and left else min(requested, left)
    # Position in a seeded shuffle decides: first the held-out slice, then the train sample.
    pos = pl.col("_pos") - heldout
    picks = general.with_columns(
        _pos=pl.Series(_seeded_order(general["id"].to_list(), config.seed), dtype=pl.Int64)
    )
    picks = picks.select(
        "_row",
        pl.when(pl.col("_pos") < heldout)
        .then(pl.lit("general_eval"))
        .when(pos < min(sampled, left))
        .then(pl.lit("train"))
        .otherwise(pl.lit(None, pl.Utf8))
        .cast(LABEL)
        .alias("_split"),
        pl.when((pl.col("_pos") >= heldout) & (pos < min(sampled, left)))
        .then(_repeats(pos, sampled, left))
        .cast(pl.Int32)
        .alias("_repeats"),
    )
    rows = picks["_row"]
    frame = frame.with_columns(
        frame["split"].cast(LABEL).scatter(rows, picks["_split"]),
        pl.Series("mix_repeats", [None], pl.Int32)
        .new_from_index(0, frame.height)
        .scatter(rows, picks["_repeats"]),
    )
    ctx.findings[NAME] = composition(frame, config.ratio, requested, heldout, config.oversample)
    return frame


def _heldout_count(available: int, fraction: float, cap: int) -> int:
    if available < 2 or fraction <= 0 or cap <= 0:
        return 0
    return max(1, min(cap, round(fraction * available)))  # a small set still gets a forgetting probe


def _seeded_order(ids: list[str], seed: int) -> list[int]:
    """Each record's position in a seeded shuffle keyed by its content id: stable as data grows."""
    keyed = sorted(range(len(ids)), key=lambda i: (xxhash.xxh3_64_intdigest(f"{seed}:{ids[i]}".encode()), i))
    position = [0] * len(ids)
    for pos, i in enumerate(keyed):
        position[i] = pos
    return position


def _repeats(pos: pl.Expr, sampled: int, left: int) -> pl.Expr:
    """Copies of each sampled record: 1, or more where oversampling asks for more than exists."""
    if left <= 0 or sampled <= left:
        return pl.lit(1, pl.Int32)
    base, extra = divmod(sampled, left)
    return (pl.lit(base) + (pos < extra).cast(pl.Int32)).cast(pl.Int32)


def composition(
    frame: pl.DataFrame, ratio: float, requested: int, heldout: int, oversample: bool
) -> dict[str, Any]:
    """What the manifest says under "mix": records and tokens per source, ratios, accounting."""
    usable = pl.col("status") == "ok"
    # Only the columns read here: filtering the whole frame copied every column of its rows.
    needed = [
        "status",
        "split",
        "origin",
        "reasons",
        "mix_repeats",
        *(["tokens"] if "tokens" in frame.columns else []),
    ]
    frame = frame.select(needed)
    train = frame.filter(usable & (pl.col("split") == "train"))
    copies = pl.col("mix_repeats").fill_null(1)
    tokens = pl.col("tokens") * copies if "tokens" in frame.columns else pl.lit(0)
    by_source = (
        train.with_columns(
            source_kind=pl.when(pl.col("origin") == "general")
            .then(pl.lit("general"))
            .otherwise(pl.lit("domain"))
        )
        .group_by("source_kind")
        .agg(copies.sum().alias("records"), tokens.sum().alias("tokens"))
    )
    records = {kind: 0 for kind in ("domain", "general")}
    token_counts = {kind: 0 for kind in ("domain", "general")}
    for kind, n, t in by_source.iter_rows():
        records[kind], token_counts[kind] = int(n), int(t or 0)
    total_records = sum(records.values())
    total_tokens = sum(token_counts.values())
    general = frame.filter(pl.col("origin") == "general")
    rejected_before = (
        general.filter(pl.col("status") == "rejected")
        .select(pl.col("reasons").list.first().struct.field("code").alias("code"))
        .group_by("code")
        .len()
        .sort("code")
    )
    not_sampled = general.filter(usable & pl.col("split").is_null()).height
    return {
        "ratio_requested": ratio,
        "ratio_achieved": round(records["general"] / total_records, 4) if total_records else 0.0,
        "records": records,
        "tokens": token_counts,
        "token_share": {
            k: round(v / total_tokens, 4) if total_tokens else 0.0 for k, v in token_counts.items()
        },
        "general_requested": requested,
        "general_short_by": max(0, requested - records["general"]),
        "oversample": oversample,
        "general_eval": heldout,
        # Every general record, by where it went: adds up to the general input count.
        "general_accounting": {
            "records": general.height,
            "train": general.filter(usable & (pl.col("split") == "train")).height,
            "general_eval": general.filter(usable & (pl.col("split") == "general_eval")).height,
            "not_sampled": not_sampled,
            "rejected_before_mix": dict(rejected_before.iter_rows()),
        },
    }
