"""Which rows are pairs, and their pairs decoded (for the few-thousand-row work pairs need)."""

from __future__ import annotations

import numpy as np
import orjson
import polars as pl

from curate.core.pairs import PAIR_FORMATS, Pair, pair_of
from curate.ingest.store import with_examples


def is_pair() -> pl.Expr:
    """Rows holding a valid preference pair (the format says so; dedup_key says it is valid)."""
    return pl.col("format").cast(pl.Utf8).is_in(list(PAIR_FORMATS)) & pl.col("dedup_key").is_not_null()


def pair_rows(frame: pl.DataFrame, mask: pl.Expr | None = None) -> np.ndarray:
    """Row numbers of the valid pairs (and ``mask``)."""
    wanted = is_pair() if mask is None else is_pair() & mask
    return np.flatnonzero(frame.select(wanted.fill_null(False)).to_series().to_numpy())


def pairs_at(frame: pl.DataFrame, rows: np.ndarray) -> list[Pair]:
    examples = with_examples(frame[rows].select("example", "source", *_span_columns(frame)))["example"]
    return [pair_of(orjson.loads(text)) for text in examples.to_list()]


def _span_columns(frame: pl.DataFrame) -> list[str]:
    return [c for c in ("span_start", "span_len", "verbatim") if c in frame.columns]


def side_examples(pairs: list[Pair], side: str) -> pl.Series:
    """Chat examples of one side of each pair: the prompt with its ``side`` answer."""
    return pl.Series(
        [orjson.dumps({"messages": [*p.prompt, *getattr(p, side)]}).decode() for p in pairs], dtype=pl.Utf8
    )
