"""frame.reject and frame.flag splice reasons into the rows hit, a slice of rows at a time: they
must give exactly what one when/then over the whole frame gives."""

from __future__ import annotations

import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from curate.core import frame as build_frame
from curate.core.frame import LABEL, REASONS_DTYPE, flag, reject


def _frame(hits: list[bool], had: list[bool]) -> pl.DataFrame:
    old = [
        [{"code": "quality.low-score", "stage": "quality", "message": f"old {i}", "ref": None}] if h else []
        for i, h in enumerate(had)
    ]
    return pl.DataFrame(
        {
            "id": [f"row{i}" for i in range(len(hits))],
            "status": pl.Series(["rejected" if h else "ok" for h in had], dtype=LABEL),
            "reasons": pl.Series(old, dtype=REASONS_DTYPE),
            "flags": pl.Series(old, dtype=REASONS_DTYPE),
            "hit": hits,
        }
    )


def _when_then(frame: pl.DataFrame, column: str, message: pl.Expr, ref: pl.Expr) -> pl.DataFrame:
    """The plain reading: one when/then over every row."""
    set_status = column == "reasons"
    reason = pl.struct(
        code=pl.lit("dedup.near"), stage=pl.lit("near_dedup"), message=message.cast(LABEL), ref=ref
    )
    hit = pl.col("hit")
    out = frame.with_columns(
        pl.when(hit).then(pl.col(column).list.concat(pl.concat_list(reason))).otherwise(pl.col(column))
    )
    if set_status:
        out = out.with_columns(status=pl.when(hit).then(pl.lit("rejected")).otherwise(pl.col("status")))
    return out


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(st.tuples(st.booleans(), st.booleans()), min_size=1, max_size=40),
    slice_rows=st.integers(min_value=1, max_value=12),
)
def test_reject_and_flag_equal_one_when_then(rows: list[tuple[bool, bool]], slice_rows: int) -> None:
    hits, had = [h for h, _ in rows], [h for _, h in rows]
    frame = _frame(hits, had)
    message = pl.format("near-duplicate of {}", pl.col("id"))
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(build_frame, "REASON_SLICE_ROWS", slice_rows)
        rejected = reject(frame, pl.col("hit"), "dedup.near", message, pl.col("id"))
        flagged = flag(frame, pl.col("hit"), "dedup.near", message)
    assert_frame_equal(rejected, _when_then(frame, "reasons", message, pl.col("id")))
    assert_frame_equal(flagged, _when_then(frame, "flags", message, pl.lit(None, pl.Utf8)))
    assert rejected["reasons"].n_chunks() == 1  # later gathers on a chunked list column crawl
