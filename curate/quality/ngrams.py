"""Word n-gram statistics of every row at once: the repetition and echo signals.

Words are exploded into one long column and hashed; a 3-gram is three consecutive hashes of
the same row combined into one 64-bit key. Counting and intersecting keys is then a group-by
and a join over integers, much faster than building n-gram strings per row.
"""

from __future__ import annotations

from typing import Final

import polars as pl

N: Final = 3
# Odd 64-bit multipliers mixing the word hashes by position (wrapping arithmetic), so "a b c"
# and "c b a" get different keys.
_MIX: Final = (1, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F)
ROW = "_q_row"


def keys(frame: pl.DataFrame, words: str, n: int = N) -> pl.DataFrame:
    """(row, key) for every word n-gram of ``words`` (a list column), in row order."""
    exploded = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(ROW), words).explode(words)
    exploded = exploded.drop_nulls(words).with_columns(pl.col(words).hash(seed=7).alias("_h"))
    key = pl.lit(0, pl.UInt64)
    for offset, mix in enumerate(_MIX[:n]):
        key = key + pl.col("_h").shift(-offset) * pl.lit(mix, pl.UInt64)
    same_row = pl.col(ROW).shift(-(n - 1)) == pl.col(ROW)  # the n-gram doesn't run into the next row
    return exploded.select(ROW, key.alias("key"), same_row.alias("_ok")).filter("_ok").drop("_ok")


def _salted() -> pl.Expr:
    """A key made specific to its row, so "shared within the row" becomes one membership test."""
    return (pl.col("key") ^ (pl.col(ROW).cast(pl.UInt64) * pl.lit(_MIX[1], pl.UInt64))).alias("salted")


def _shared(answer: pl.DataFrame, prompt: pl.DataFrame, name: str, *, inside: bool = True) -> pl.DataFrame:
    """Per row, the distinct answer keys found (or with ``inside=False``, not found) in the prompt."""
    found = answer.with_columns(_salted()).select(
        ROW, "key", pl.col("salted").is_in(prompt.select(_salted()).to_series().implode()).alias("_in")
    )
    kept = found.filter(pl.col("_in") if inside else ~pl.col("_in"))
    return kept.group_by(ROW).agg(pl.col("key").n_unique().alias(name))


def repetition_and_echo(frame: pl.DataFrame, answer_words: str, prompt_words: str) -> pl.DataFrame:
    """Per row: the repeated share of the answer's 3-grams, the answer-prompt 3-gram overlap, and
    the number of distinct answer words the prompt lacks.

    Echo divides the shared distinct 3-grams by the larger side's count, so an answer quoting one
    sentence of a long prompt, or a long answer quoting the prompt once, stays low. New words tell
    a restating answer ("Nauru is the smallest country ...") from a copy.
    """
    answer, prompt = keys(frame, answer_words), keys(frame, prompt_words)
    answer_stats = answer.group_by(ROW).agg(
        pl.len().alias("total"), pl.col("key").n_unique().alias("distinct")
    )
    prompt_stats = prompt.group_by(ROW).agg(pl.col("key").n_unique().alias("prompt_distinct"))
    shared = _shared(answer, prompt, "shared")
    new_words = _shared(keys(frame, answer_words, 1), keys(frame, prompt_words, 1), "new_words", inside=False)
    rows = pl.DataFrame({ROW: pl.int_range(frame.height, dtype=pl.UInt32, eager=True)})
    stats = (
        rows.join(answer_stats, on=ROW, how="left")
        .join(prompt_stats, on=ROW, how="left")
        .join(shared, on=ROW, how="left")
        .join(new_words, on=ROW, how="left")
        .sort(ROW)
        .fill_null(0)
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
