"""Running an expensive expression only on the rows that need it.

A regex over every row costs the same whether it matches or not; where a cheap test rules most
rows out, the expression runs on the rest and the ruled-out rows take a known value.
"""

from __future__ import annotations

import polars as pl


def only_where(
    frame: pl.DataFrame, candidate: pl.Expr, signal: pl.Expr, elsewhere: pl.Expr | None = None
) -> pl.Series:
    """``signal`` on the rows where ``candidate`` holds or is null, ``elsewhere`` (default False)
    on the others. The caller guarantees ``signal`` equals ``elsewhere`` where ``candidate`` is
    false: typically ``candidate`` is a cheap necessary condition of a match."""
    picked = frame.select(candidate.fill_null(True)).to_series()
    fallback = pl.lit(False) if elsewhere is None else elsewhere
    # Beside a full-length column, a literal fallback is broadcast to every row.
    base = frame.select(pl.int_range(pl.len()).alias("_row"), fallback.alias("_value"))["_value"]
    # Only the columns the signal reads are filtered: the frame's others (examples, decoded
    # messages) would cost more to copy than the regexes save.
    needed = list(dict.fromkeys(signal.meta.root_names()))
    values = frame.select(needed).filter(picked).select(signal).to_series()
    return base.scatter(picked.arg_true(), values.cast(base.dtype))
