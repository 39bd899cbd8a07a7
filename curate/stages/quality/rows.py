"""Running an expensive expression only on the rows that need it.

A regex over every row costs the same whether it matches or not; where a cheap test rules most
rows out, the expression runs on the rest and the ruled-out rows take a known value.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final

import numpy as np
import polars as pl

from curate.core.utf8 import utf8_buffers

# Rows whose text a compiled loop reads at a time. Its bytes are copied out of polars' string
# views for it (curate.core.utf8): a 25,000-row slice's answers and messages copied at once were the
# largest part of the slice's working memory.
KERNEL_ROWS: Final = 5_000


def buffers_by_rows(texts: pl.Series) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``utf8_buffers`` of ``texts``, ``KERNEL_ROWS`` at a time, each with the index of its first
    row (one empty piece for no texts). Per-row kernels give the same read in pieces."""
    for at in range(0, max(len(texts), 1), KERNEL_ROWS):
        yield at, *utf8_buffers(texts.slice(at, KERNEL_ROWS))


def only_where(
    frame: pl.DataFrame,
    candidate: pl.Expr,
    signal: pl.Expr,
    elsewhere: pl.Expr | None = None,
    derived: Sequence[pl.Expr] = (),
) -> pl.Series:
    """``signal`` on the rows where ``candidate`` holds or is null, ``elsewhere`` (default False)
    on the others. The caller guarantees ``signal`` equals ``elsewhere`` where ``candidate`` is
    false: typically ``candidate`` is a cheap necessary condition of a match. ``derived`` are
    columns the signal reads that are made on those rows only (named expressions over the
    frame's columns): a text column held for every row costs as much as the text."""
    picked = frame.select(candidate.fill_null(True)).to_series()
    fallback = pl.lit(False) if elsewhere is None else elsewhere
    # Beside a full-length column, a literal fallback is broadcast to every row.
    base = frame.select(pl.int_range(pl.len()).alias("_row"), fallback.alias("_value"))["_value"]
    # Only the columns the signal reads are filtered: the frame's others (examples, decoded
    # messages) would cost more to copy than the regexes save.
    made = {column.meta.output_name() for column in derived}
    read = [name for expr in (signal, *derived) for name in expr.meta.root_names() if name not in made]
    rows = frame.select(list(dict.fromkeys(read))).filter(picked)
    values = rows.with_columns(derived).select(signal).to_series()
    return base.scatter(picked.arg_true(), values.cast(base.dtype))
