"""Frame rows for the plain chat lines of a run of JSONL lines, judged by the compiled scan.

``scan`` runs curate.ingest.fastpath_kernels over whole lines; ``fast_frame`` turns the lines it accepted
into frame rows (content ids and dedup keys hashed from the canonical bytes it wrote, exactly as
curate.core.records hashes them), and ``slow_lines`` lists the others for the Python path. Rows of a
plain JSONL file keep only the byte span of their ``messages`` in that file (see
curate.ingest.store); other inputs get the example text itself.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl
import xxhash

from curate.ingest import fastpath_kernels as kernels
from curate.ingest.strings import string_series


@dataclass(frozen=True)
class Scan:
    """What the compiled scan made of a run of lines (see chat_kernels.FIELDS)."""

    rows: np.ndarray  # one row of FIELDS per line
    canonical: np.ndarray  # canonical messages JSON of the fast lines, back to back
    keys: np.ndarray  # their dedup texts, back to back

    @property
    def lines(self) -> int:
        return len(self.rows)

    @property
    def blank(self) -> int:
        return int((self.rows[:, kernels.F_KIND] == kernels.KIND_BLANK).sum())


def scan(data: np.ndarray, max_line_bytes: int, fast_ok: bool = True) -> Scan:
    rows, canonical, keys = kernels.scan_lines(data, max_line_bytes, kernels.char_table(), fast_ok)
    return Scan(rows, canonical, keys)


def slow_lines(result: Scan) -> list[tuple[int, int, int]]:
    """(1-based line number, start, end) of every line the Python path must judge."""
    rows = result.rows
    picked = np.flatnonzero(rows[:, kernels.F_KIND] == kernels.KIND_SLOW)
    return [
        (int(r) + 1, int(rows[r, kernels.F_LINE_START]), int(rows[r, kernels.F_LINE_END])) for r in picked
    ]


def strings(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> pl.Series:
    """The UTF-8 texts ``data[starts[i]:ends[i]]`` as a string series, gathered without Python."""
    lengths = (ends - starts).astype(np.int64)
    offsets = np.zeros(len(starts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return string_series(
        kernels.gather(data, starts.astype(np.int64), offsets), offsets, what="an id read by the scan"
    )


def examples_of_spans(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, verbatim: np.ndarray
) -> pl.Series:
    """Example JSON (``{"messages": ...}``) of each messages span of ``data``; raises
    ValueError where a span does not read as a plain messages array."""
    return string_series(
        *example_bytes(data, starts, ends, verbatim), what="example text written by the scan"
    )


def example_bytes(
    data: np.ndarray, starts: np.ndarray, ends: np.ndarray, verbatim: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``examples_of_spans`` as UTF-8 bytes back to back and their offsets."""
    text, offsets = kernels.canonical_spans(data, starts, ends, verbatim, kernels.char_table())
    if len(offsets) > 1 and offsets[-1] < 0:
        raise ValueError("a span no longer holds the messages it held when it was read")
    return text, offsets


def fast_frame(result: Scan, data: np.ndarray, file_offset: int | None) -> pl.DataFrame:
    """Frame rows of the fast lines: spans into the file at ``file_offset`` when given, else the
    example text itself. Columns as ingest builds them, plus the span columns."""
    rows = result.rows[result.rows[:, kernels.F_KIND] == kernels.KIND_FAST]
    canonical = memoryview(result.canonical)  # type: ignore[arg-type]
    keys = memoryview(result.keys)  # type: ignore[arg-type]
    canon_start, canon_end = rows[:, kernels.F_CANON_START], rows[:, kernels.F_CANON_END]
    key_start, key_end = rows[:, kernels.F_KEY_START], rows[:, kernels.F_KEY_END]
    hex128, int64 = xxhash.xxh3_128_hexdigest, xxhash.xxh3_64_intdigest
    ids = [hex128(canonical[a:b])[:16] for a, b in zip(canon_start.tolist(), canon_end.tolist(), strict=True)]
    dedup = np.fromiter(
        (int64(keys[a:b]) for a, b in zip(key_start.tolist(), key_end.tolist(), strict=True)),
        dtype=np.uint64,
        count=len(rows),
    ).view(np.int64)  # the same signed reading as records.dedup_key
    has_id = rows[:, kernels.F_ID_KIND] != kernels.ID_NONE
    source_ids = strings(data, rows[:, kernels.F_ID_START], rows[:, kernels.F_ID_END])
    raw_start, raw_end = rows[:, kernels.F_RAW_START], rows[:, kernels.F_RAW_END]
    columns: dict[str, pl.Series] = {
        "id": pl.Series(ids, dtype=pl.Utf8),
        "line": pl.Series(np.flatnonzero(result.rows[:, kernels.F_KIND] == kernels.KIND_FAST) + 1),
        "source_id": pl.select(pl.when(pl.Series(has_id)).then(source_ids)).to_series(),
        "format": pl.Series(["chat"], dtype=pl.Utf8).new_from_index(0, len(rows)),
        "dedup_key": pl.Series(dedup),
        "n_messages": pl.Series(rows[:, kernels.F_MESSAGES].astype(np.int32)),
        "n_assistant": pl.Series(rows[:, kernels.F_ASSISTANT].astype(np.int32)),
        "content_bytes": pl.Series(rows[:, kernels.F_CONTENT_BYTES]),
    }
    if file_offset is not None:
        columns["example"] = pl.Series([None], dtype=pl.Utf8).new_from_index(0, len(rows))
        columns["span_start"] = pl.Series(raw_start + file_offset)
        columns["span_len"] = pl.Series((raw_end - raw_start).astype(np.int32))
        columns["verbatim"] = pl.Series(
            kernels.same_bytes(data, raw_start, raw_end, result.canonical, canon_start, canon_end)
        )
    else:
        columns["example"] = examples_of_spans(
            result.canonical, canon_start, canon_end, np.ones(len(rows), dtype=np.bool_)
        )
    return pl.DataFrame(columns)
