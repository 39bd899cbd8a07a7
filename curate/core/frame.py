"""The build frame: one polars row per input record, and the helpers stages use on it.

A stage never drops a row. It rejects rows by appending a reason and setting ``status`` to
``rejected``, and may add columns of its own. ``tests/test_frame_schema.py`` checks the base
columns with pandera at the stage boundaries.
"""

from __future__ import annotations

from typing import Final, Literal

import numpy as np
import polars as pl

from curate.core.reasons import stage_of

# Where a record came from. Benchmark rows are protected items: never trained on, never output.
Origin = Literal["input", "eval", "general", "benchmark"]
ORIGINS: Final[tuple[str, ...]] = ("input", "eval", "general", "benchmark")

# During the build a usable row is "ok"; the split stage turns it into its final status.
STATUSES: Final[tuple[str, ...]] = ("ok", "train", "eval", "general_eval", "rejected", "protected")

# Columns of a few distinct values are categorical in the frame: a string costs 16 bytes a row
# (polars' string views) even when null or repeated, a category 4. The build folder's files hold
# plain strings (``plain_strings``).
LABEL: Final = pl.Categorical()

# A reason's message is categorical in the frame: the 985k near-duplicates of a million-row build
# share about a hundred messages (the kept record's id is in ``ref``), and as strings each row would
# hold 16 bytes plus its text. The build folder's files hold strings.
REASON_DTYPE: Final = pl.Struct({"code": pl.Utf8, "stage": pl.Utf8, "message": LABEL, "ref": pl.Utf8})
REASONS_DTYPE: Final = pl.List(REASON_DTYPE)
WRITTEN_REASONS_DTYPE: Final = pl.List(
    pl.Struct({"code": pl.Utf8, "stage": pl.Utf8, "message": pl.Utf8, "ref": pl.Utf8})
)

BASE_SCHEMA: Final[dict[str, pl.DataType]] = {
    "id": pl.Utf8(),  # content id (records.content_id), or raw-<hash> for unparseable lines
    "source": LABEL,  # the input path as given
    "line": pl.Int64(),  # 1-based line (JSONL) or row (Parquet, JSON arrays, datasets)
    "source_id": pl.Utf8(),  # the record's own "id" field, where it has one
    "origin": LABEL,  # input | eval | general | benchmark
    "format": LABEL,  # chat | sharegpt | alpaca, null where undetectable
    "status": LABEL,
    "reasons": REASONS_DTYPE,  # why the row is rejected; empty while it is usable
    "flags": REASONS_DTYPE,  # soft flags: marked, not rejected (quality signals, conflicting answers)
    "example": pl.Utf8(),  # canonical example JSON when valid; the parsed record as JSON otherwise
    "raw": pl.Utf8(),  # the line's text where it could not be parsed
    "dedup_key": pl.Int64(),  # exact-duplicate key of a valid example
    "n_messages": pl.Int32(),
    "n_assistant": pl.Int32(),
    # Where a valid example's text lives when ``example`` is null (curate.ingest.store): the
    # byte span of its messages array in ``source``, and whether those bytes are already canonical.
    "span_start": pl.Int64(),
    "span_len": pl.Int32(),
    "verbatim": pl.Boolean(),
    "content_bytes": pl.Int64(),  # UTF-8 bytes of all message contents, where ingest counted them
}

# The messages part of the example column, decoded on demand (stages that need text).
MESSAGES_DTYPE: Final = pl.Struct(
    {"messages": pl.List(pl.Struct({"role": pl.Utf8, "content": pl.Utf8, "weight": pl.Int64}))}
)


def plain_strings(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with its categorical columns as strings, as the build folder's files hold them."""
    lists = [pl.col(c).cast(WRITTEN_REASONS_DTYPE) for c in ("reasons", "flags") if c in frame.columns]
    return frame.with_columns(pl.col(pl.Categorical).cast(pl.Utf8), *lists)


def reject(
    frame: pl.DataFrame,
    mask: pl.Expr,
    code: str,
    message: pl.Expr | str,
    ref: pl.Expr | str | None = None,
) -> pl.DataFrame:
    """Append a reason to the rows where ``mask`` holds and mark them rejected.

    ``message`` and ``ref`` must be row-wise expressions (formats over the row's own columns):
    when few rows are hit they are evaluated on those rows alone.
    """
    return _append_reason(frame, mask, code, message, ref, set_status=True)


def flag(frame: pl.DataFrame, mask: pl.Expr, code: str, message: pl.Expr | str) -> pl.DataFrame:
    """Append a reason without rejecting (a soft flag a reviewer or a gate may act on)."""
    return _append_reason(frame, mask, code, message, None, set_status=False)


def _append_reason(
    frame: pl.DataFrame,
    mask: pl.Expr,
    code: str,
    message: pl.Expr | str,
    ref: pl.Expr | str | None,
    *,
    set_status: bool,
) -> pl.DataFrame:
    """New reason lists are built for the rows hit only, from just the columns the message reads,
    and spliced into the column: a when/then over a whole list column rebuilds every row's list
    (``list.concat`` is slow on a big column, even where nothing changes).

    The column is rebuilt a slice of rows at a time and the slices joined once. Splicing over
    the whole column held the new lists, the old column with them, and the spliced result at
    once.
    """
    hit = frame.select(mask.fill_null(False)).to_series().to_numpy()
    if not hit.any():
        return frame
    column = "reasons" if set_status else "flags"
    reason = _reason(code, message, ref)
    had = frame[column].list.len().fill_null(0).to_numpy() > 0
    read = sorted({column, *reason.meta.root_names()})
    slices = []
    for start in range(0, frame.height, REASON_SLICE_ROWS):
        span = slice(start, start + REASON_SLICE_ROWS)
        part = frame.slice(start, REASON_SLICE_ROWS).select(read)
        slices.append(_spliced(part, column, reason, hit[span], had[span]))
    # rechunk: gathering from a multi-chunk nested column is a hundred times slower
    updated: list[pl.Series | pl.Expr] = [pl.concat(slices, rechunk=True).alias(column)]
    if set_status:
        updated.append(
            pl.when(pl.Series(hit)).then(pl.lit("rejected")).otherwise(pl.col("status")).alias("status")
        )
    return frame.with_columns(updated)


def _spliced(rows: pl.DataFrame, column: str, reason: pl.Expr, hit: np.ndarray, had: np.ndarray) -> pl.Series:
    """``rows[column]`` with ``reason`` appended where ``hit`` holds (``had``: the row's list is
    not empty). A message format's intermediates over a million rows took over a gigabyte."""
    picked = np.flatnonzero(hit)
    if not len(picked):
        return rows[column]
    rows = rows.rechunk()  # the slice may span chunks; gathers below need one
    # Most rows hit have no reason yet: their list is just the new one, built without a concat.
    first, more = picked[~had[picked]], picked[had[picked]]
    # with_columns, not select: a message with no column in it must still give one value per row.
    appended = [
        rows[first].with_columns(pl.concat_list(reason).alias(column))[column],
        rows[more].with_columns(pl.col(column).list.concat(pl.concat_list(reason)))[column],
    ]
    # Row i reads itself from the old lists, or its new list from the appended ones.
    source = np.arange(rows.height, dtype=np.int64)
    source[first] = rows.height + np.arange(len(first), dtype=np.int64)
    source[more] = rows.height + len(first) + np.arange(len(more), dtype=np.int64)
    spliced: pl.Series = pl.concat([rows[column], *appended], rechunk=True).gather(source)
    return spliced


REASON_SLICE_ROWS: Final = 100_000


def _reason(code: str, message: pl.Expr | str, ref: pl.Expr | str | None) -> pl.Expr:
    message_expr = pl.lit(message) if isinstance(message, str) else message
    if ref is None:
        ref_expr = pl.lit(None, pl.Utf8)
    elif isinstance(ref, str):
        ref_expr = pl.lit(ref)
    else:
        ref_expr = ref.cast(pl.Utf8)
    return pl.struct(
        code=pl.lit(code),
        stage=pl.lit(stage_of(code)),
        message=message_expr.cast(pl.Utf8).cast(LABEL),
        ref=ref_expr,
    )


def canonical_examples(frame: pl.DataFrame) -> pl.Series:
    """The example JSON of rows that hold a canonical example (valid records), null elsewhere."""
    return frame.select(pl.when(pl.col("dedup_key").is_not_null()).then(pl.col("example"))).to_series()


Which = Literal["all", "user", "assistant"]


def text_expr(which: Which = "all", separator: str = "\n") -> pl.Expr:
    """Joined message text of each row as a polars expression over the ``example`` column.

    Decoding is done in polars (no Python loop); only canonical examples are decoded.
    """
    messages = (
        pl.when(pl.col("dedup_key").is_not_null())
        .then(pl.col("example"))
        .str.json_decode(MESSAGES_DTYPE)
        .struct.field("messages")
    )
    if which == "all":
        picked = messages.list.eval(pl.element().struct.field("content").fill_null(""))
    else:
        picked = messages.list.eval(
            pl.element()
            .filter(pl.element().struct.field("role") == which)
            .struct.field("content")
            .fill_null("")
        )
    return picked.list.join(separator)
