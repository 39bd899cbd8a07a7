"""Ingest: read every input, validate every record, and build the frame (one row per record).

Validation happens here, in the same pass as parsing, so a record is decoded once. Per record,
Python does only what needs Python (parse, validate, serialise once, hash the id); everything
columnar (dedup keys, message counts, constant columns) is computed by polars afterwards. A
large JSONL file is cut at line boundaries and validated by one process per core.
"""

from __future__ import annotations

import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing import get_context
from pathlib import Path
from typing import Any

import polars as pl

from curate.frame import BASE_SCHEMA, REASONS_DTYPE
from curate.io.readers import Kind, Line, Row, detect_kind, iter_records, sha256_of
from curate.reasons import stage_of
from curate.records import Format, raw_id
from curate.validate import check_line, check_record

BATCH_ROWS = 65_536
PARALLEL_MIN_BYTES = 64 << 20  # below this, starting worker processes costs more than it saves
CHUNK_BYTES = 32 << 20


@dataclass(frozen=True)
class InputSpec:
    """One input as the user named it."""

    path: str
    origin: str  # input | eval | general | benchmark
    format: Format | None = None  # override; detected per record when None


@dataclass
class InputSummary:
    """What the manifest says about one input."""

    path: str
    origin: str
    kind: str
    sha256: str | None
    records: int = 0
    blank_lines: int = 0  # whitespace-only JSONL lines: no record, but counted so nothing is silent
    formats: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "origin": self.origin,
            "kind": self.kind,
            "sha256": self.sha256,
            "records": self.records,
            "blank_lines": self.blank_lines,
            "formats": self.formats,
        }


class _Batch:
    """Column lists for a batch of records of one input; bad records are kept sparse."""

    def __init__(self, spec: InputSpec) -> None:
        self.spec = spec
        self.line: list[int] = []
        self.id: list[str] = []
        self.source_id: list[str | None] = []
        self.format: list[str | None] = []
        self.example: list[str | None] = []
        self.key: list[int | None] = []
        self.n_messages: list[int | None] = []
        self.n_assistant: list[int | None] = []
        self.bad_rows: list[int] = []
        self.bad_raw: list[str | None] = []
        self.bad_reasons: list[list[dict[str, Any]]] = []
        self.blank_lines = 0

    def __len__(self) -> int:
        return len(self.line)

    def add_line(self, number: int, data: bytes, max_line_bytes: int) -> None:
        if not data.strip():
            self.blank_lines += 1
            return
        self._add(number, check_line(data, max_line_bytes, self.spec.format, self.spec.origin))

    def add_row(self, number: int, value: Any) -> None:
        self._add(number, check_record(value, self.spec.format, self.spec.origin))

    def _add(self, number: int, checked: Any) -> None:
        if checked.reasons:
            self.bad_rows.append(len(self.line))
            self.bad_raw.append(checked.raw)
            self.bad_reasons.append(
                [{"code": c, "stage": stage_of(c), "message": m, "ref": None} for c, m in checked.reasons]
            )
            self.id.append(raw_id(self.spec.path, number))
        else:
            self.id.append(checked.id)
        self.line.append(number)
        self.source_id.append(checked.source_id)
        self.format.append(checked.fmt)
        self.example.append(checked.example)
        self.key.append(checked.key)
        self.n_messages.append(checked.n_messages)
        self.n_assistant.append(checked.n_assistant)

    def frame(self) -> pl.DataFrame:
        n = len(self.line)
        frame = pl.DataFrame(
            {
                "id": pl.Series(self.id, dtype=pl.Utf8),
                "line": pl.Series(self.line, dtype=pl.Int64),
                "source_id": pl.Series(self.source_id, dtype=pl.Utf8),
                "format": pl.Series(self.format, dtype=pl.Utf8),
                "example": pl.Series(self.example, dtype=pl.Utf8),
                "dedup_key": pl.Series(self.key, dtype=pl.Int64),
                "n_messages": pl.Series(self.n_messages, dtype=pl.Int32),
                "n_assistant": pl.Series(self.n_assistant, dtype=pl.Int32),
            }
        ).with_row_index("_i")
        bad = pl.DataFrame(
            {
                "_i": pl.Series(self.bad_rows, dtype=pl.UInt32),
                "raw": pl.Series(self.bad_raw, dtype=pl.Utf8),
                "reasons": pl.Series(self.bad_reasons, dtype=REASONS_DTYPE),
            }
        )
        assert frame.height == n
        return frame.join(bad, on="_i", how="left").drop("_i")


def _check_jsonl_range(
    path: str, start: int, end: int, spec: InputSpec, max_line_bytes: int
) -> tuple[bytes, int, int]:
    """Worker: validate the lines in bytes [start, end) of a JSONL file; numbers are chunk-local."""
    with open(path, "rb") as handle:
        handle.seek(start)
        data = handle.read(end - start)
    batch = _Batch(spec)
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()
    for number, line in enumerate(lines, start=1):
        batch.add_line(number, line, max_line_bytes)
    frame = batch.frame()
    import io

    sink = io.BytesIO()
    frame.write_ipc(sink, compression="uncompressed")
    return sink.getvalue(), len(lines), batch.blank_lines


def _line_ranges(path: str, chunk_bytes: int) -> list[tuple[int, int]]:
    """Byte ranges that each end just after a newline (or at the end of the file)."""
    size = os.path.getsize(path)
    ranges: list[tuple[int, int]] = []
    start = 0
    with open(path, "rb") as handle:
        while start < size:
            end = min(start + chunk_bytes, size)
            if end < size:
                handle.seek(end)
                tail = handle.readline()
                end += len(tail)
            ranges.append((start, end))
            start = end
    return ranges


def _parallel_jsonl(
    spec: InputSpec,
    max_line_bytes: int,
    summary: InputSummary,
    on_progress: Callable[[str, int], None] | None,
) -> Iterator[pl.DataFrame]:
    ranges = _line_ranges(spec.path, CHUNK_BYTES)
    workers = min(os.cpu_count() or 1, 4, len(ranges))
    offset = 0
    # spawn, not fork: polars' thread pool does not survive a fork.
    with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn")) as pool:
        # Keep only a few chunks in flight: finished payloads wait in this process's memory.
        pending: deque[Future[tuple[bytes, int, int]]] = deque()
        queued = iter(ranges)
        for a, b in islice(queued, 2 * workers):
            pending.append(pool.submit(_check_jsonl_range, spec.path, a, b, spec, max_line_bytes))
        while pending:
            payload, n_lines, blank = pending.popleft().result()
            for a, b in islice(queued, 1):
                pending.append(pool.submit(_check_jsonl_range, spec.path, a, b, spec, max_line_bytes))
            frame = pl.read_ipc(payload).with_columns(pl.col("line") + offset)
            del payload
            offset += n_lines
            summary.blank_lines += blank
            summary.records += frame.height
            if on_progress:
                on_progress(spec.path, summary.records)
            yield frame


def _serial(
    spec: InputSpec,
    kind: Kind,
    max_line_bytes: int,
    summary: InputSummary,
    on_progress: Callable[[str, int], None] | None,
) -> Iterator[pl.DataFrame]:
    batch = _Batch(spec)
    for item in iter_records(spec.path, kind):
        if isinstance(item, Line):
            batch.add_line(item.number, item.data, max_line_bytes)
        else:
            assert isinstance(item, Row)
            batch.add_row(item.number, item.value)
        if len(batch) >= BATCH_ROWS:
            summary.blank_lines += batch.blank_lines
            summary.records += len(batch)
            yield batch.frame()
            if on_progress:
                on_progress(spec.path, summary.records)
            batch = _Batch(spec)
    summary.blank_lines += batch.blank_lines
    summary.records += len(batch)
    if len(batch):
        yield batch.frame()
    if on_progress:
        on_progress(spec.path, summary.records)


def ingest(
    specs: Iterable[InputSpec],
    max_line_bytes: int,
    on_progress: Callable[[str, int], None] | None = None,
    parallel: bool = True,
) -> tuple[pl.DataFrame, list[InputSummary]]:
    """Read and validate every input into one frame. Raises InputError for unreadable inputs.

    Every input is checked for readability before any record is read, so a bad path fails fast.
    """
    specs = list(specs)
    kinds: list[Kind] = [detect_kind(spec.path) for spec in specs]
    frames: list[pl.DataFrame] = []
    summaries: list[InputSummary] = []
    for spec, kind in zip(specs, kinds, strict=True):
        summary = InputSummary(spec.path, spec.origin, kind, sha256_of(spec.path, kind))
        big = kind == "jsonl" and Path(spec.path).stat().st_size >= PARALLEL_MIN_BYTES
        parts = (
            _parallel_jsonl(spec, max_line_bytes, summary, on_progress)
            if parallel and big
            else _serial(spec, kind, max_line_bytes, summary, on_progress)
        )
        for part in parts:
            frames.append(_finish(part, spec))
            for fmt, n in part["format"].drop_nulls().value_counts().iter_rows():
                summary.formats[fmt] = summary.formats.get(fmt, 0) + n
        summary.formats = dict(sorted(summary.formats.items()))
        summaries.append(summary)
    if not frames:
        return pl.DataFrame(schema=BASE_SCHEMA), summaries
    frame = pl.concat(frames, how="vertical", rechunk=True)
    return frame.select(list(BASE_SCHEMA)), summaries


def _finish(part: pl.DataFrame, spec: InputSpec) -> pl.DataFrame:
    """Constant and status columns of one input's batch, in the base column order."""
    valid = pl.col("reasons").is_null()
    usable = "protected" if spec.origin == "benchmark" else "ok"
    return part.with_columns(
        source=pl.lit(spec.path, pl.Utf8),
        origin=pl.lit(spec.origin, pl.Utf8),
        status=pl.when(valid).then(pl.lit(usable)).otherwise(pl.lit("rejected")),
        reasons=pl.col("reasons").fill_null(pl.lit([], dtype=REASONS_DTYPE)),
        flags=pl.lit([], dtype=REASONS_DTYPE),
    )
