"""The build's training kind: chat examples (sft) or preference pairs, never both.

``[build] kind`` sets it; "auto" takes the kind most of the input records have. A record of the
other kind is rejected with ``pref.wrong-kind``. General chat data stays welcome in a preference
build (the trainer measures forgetting on it); benchmark items protect whatever their kind.
"""

from __future__ import annotations

import polars as pl

from curate.core.context import BuildContext
from curate.core.frame import reject
from curate.stages.preference.rows import is_pair

NAME = "kind"


def build_kind(frame: pl.DataFrame, ctx: BuildContext) -> str:
    configured = getattr(ctx.config.build, "kind", "auto")
    if configured != "auto":
        return str(configured)
    valid_inputs = frame.filter(pl.col("origin").is_in(["input", "eval"]) & pl.col("dedup_key").is_not_null())
    pairs = valid_inputs.select(is_pair().sum()).item()
    return "preference" if pairs > valid_inputs.height - pairs else "sft"


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    kind = build_kind(frame, ctx)
    if kind == "preference":  # sft builds' manifests stay as they were
        ctx.findings.setdefault("preference", {})["kind"] = kind
    ok = pl.col("status") == "ok"
    origin = pl.col("origin")
    if kind == "preference":
        chat = pl.col("dedup_key").is_not_null() & ~is_pair()
        wrong = ok & ((chat & origin.is_in(["input", "eval"])) | (is_pair() & (origin == "general")))
        message = (
            pl.when(origin == "general")
            .then(pl.lit("a preference pair in the general data: general data is chat examples (forgetting)"))
            .otherwise(pl.lit('a chat example in a preference build ([build] kind = "preference")'))
        )
    else:
        wrong = ok & is_pair() & (origin != "benchmark")
        message = pl.lit('a preference pair in an sft build ([build] kind = "sft")')
    return reject(frame, wrong, "pref.wrong-kind", message)
