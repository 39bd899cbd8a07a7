"""Word n-gram statistics per row: the repetition and echo signals.

Each row's words are hashed into a list of 64-bit integers; a 3-gram key is three consecutive
hashes combined, built for every row at once by adding shifted slices of the hash lists. Counting
distinct keys and intersecting a row's answer keys with its prompt keys are then list operations
on integers within the row: no global explode, group-by or join, so the work and the memory stay
proportional to the rows at hand.
"""

from __future__ import annotations

from typing import Final

import polars as pl

N: Final = 3
# Odd 64-bit multipliers mixing the word hashes by position (wrapping arithmetic), so "a b c"
# and "c b a" get different keys.
_MIX: Final = (1, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)
_SEED: Final = 7


def hashes(words: str) -> pl.Expr:
    """Each row's words as 64-bit hashes (a list column, in word order; null stays null)."""
    return pl.col(words).list.eval(pl.element().hash(seed=_SEED))


def keys(hashed: pl.Expr, n: int = N) -> pl.Expr:
    """Each row's word n-gram keys, in order, from its word hashes (rows shorter than n: none)."""
    if n == 1:
        return hashed
    count = (hashed.list.len().cast(pl.Int64) - (n - 1)).clip(lower_bound=0)
    key = hashed.list.slice(0, count)
    for offset in range(1, n):
        key = key + hashed.list.slice(offset, count) * pl.lit(_MIX[offset], pl.UInt64)
    return key


def repetition_and_echo(frame: pl.DataFrame, answer_words: str, prompt_words: str) -> pl.DataFrame:
    """Per row: the repeated share of the answer's 3-grams, the answer-prompt 3-gram overlap, and
    the number of distinct answer words the prompt lacks.

    Echo divides the shared distinct 3-grams by the larger side's count, so an answer quoting one
    sentence of a long prompt, or a long answer quoting the prompt once, stays low. New words tell
    a restating answer ("Nauru is the smallest country ...") from a copy.
    """
    empty = pl.lit([], pl.List(pl.UInt64))
    hashed = frame.select(
        hashes(answer_words).fill_null(empty).alias("a1"), hashes(prompt_words).fill_null(empty).alias("p1")
    )
    grams = hashed.select(
        pl.col("a1").list.set_difference("p1").list.len().alias("new_words"),  # distinct, as sets are
        keys(pl.col("a1")).alias("a"),
        keys(pl.col("p1")).alias("p"),
    )
    del hashed
    stats = grams.select(
        "new_words",
        pl.col("a").list.len().alias("total"),
        pl.col("a").list.n_unique().alias("distinct"),
        pl.col("p").list.n_unique().alias("prompt_distinct"),
        pl.col("a").list.set_intersection("p").list.len().alias("shared"),
    )
    larger = pl.max_horizontal("distinct", "prompt_distinct")
    return stats.select(
        pl.when(pl.col("total") > 0)
        .then(1.0 - pl.col("distinct") / pl.col("total"))
        .otherwise(0.0)
        .alias("repetition"),
        pl.when(larger > 0).then(pl.col("shared") / larger).otherwise(0.0).alias("echo"),
        pl.col("new_words").cast(pl.Int64).alias("new_words"),
    )
