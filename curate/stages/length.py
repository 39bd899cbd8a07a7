"""Length: count tokens of every valid example and reject those over the limit."""

from __future__ import annotations

import polars as pl

from curate.core.context import BuildContext
from curate.core.frame import reject
from curate.stages.tokens import choose_tokenizer, count_frame_tokens

NAME = "length"


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    choice = choose_tokenizer(ctx.config.validate.tokenizer)
    ctx.findings["tokenizer"] = choice.as_dict()
    with ctx.task("counting tokens", len(frame)) as task:
        limit = ctx.config.validate.max_tokens
        tokens, exact = count_frame_tokens(
            frame,
            choice,
            limit,
            ctx.config.validate.exact_tokens_max_records,
            ctx.config.split.seed,
        )
        ctx.progress.advance(task, len(frame))
    ctx.findings["tokenizer"] = choice.as_dict()
    frame = frame.with_columns(tokens=tokens, tokens_exact=exact)
    return reject(
        frame,
        (pl.col("status") == "ok") & (pl.col("tokens") > limit),
        "length.too-long",
        pl.format("{} tokens; the limit is {}", pl.col("tokens"), pl.lit(limit)),
    )
