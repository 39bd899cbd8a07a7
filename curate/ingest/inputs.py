"""Ingest: read every input, validate every record, and build the frame (one row per record).

Validation happens here, in the same pass as parsing, so a record is decoded once. JSONL is read
in runs of whole lines judged on worker threads: plain chat lines by a compiled scan
(curate.ingest.fastpath), the rest by the Python path (curate.ingest.validate), which is the reference.
Rows of a plain JSONL file keep a span into it instead of their text (curate.ingest.store).
"""

from __future__ import annotations

import gzip
import hashlib
import os
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import islice
from typing import Any, BinaryIO

import numpy as np
import polars as pl

from curate.core.errors import InputChanged, InputError
from curate.core.frame import BASE_SCHEMA, LABEL, REASONS_DTYPE
from curate.core.reasons import stage_of
from curate.core.records import Format, raw_id
from curate.ingest import fastpath as chat_lines
from curate.ingest.readers import Kind, Line, Row, detect_kind, iter_records, sha256_of
from curate.ingest.store import InputStamp, watch
from curate.ingest.validate import check_line, check_record

BATCH_ROWS = 65_536
CHUNK_BYTES = 8 << 20  # JSONL is judged in runs of whole lines of about this size


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
    size: int | None = None  # bytes, and modification time (ns), when ingest read it
    mtime_ns: int | None = None
    records: int = 0
    blank_lines: int = 0  # whitespace-only JSONL lines: no record, but counted so nothing is silent
    formats: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "origin": self.origin,
            "kind": self.kind,
            "sha256": self.sha256,
            "size": self.size,
            "mtime_ns": self.mtime_ns,
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


def _judge_lines(
    data: bytes,
    file_offset: int | None,
    lines_before: int,
    spec: InputSpec,
    max_line_bytes: int,
    compiled: bool = True,
) -> _Judged:
    """Worker: judge a run of whole lines that follows ``lines_before`` lines of its input.

    Plain chat lines go through the compiled scan; every other line through the Python path.
    With ``file_offset`` (a plain file) fast rows keep spans into the file, not their text.
    """
    view = np.frombuffer(data, dtype=np.uint8)
    # General rows get meta.source and overridden formats are forced through their schema: the
    # Python path does both.
    fast_ok = compiled and spec.format is None and spec.origin != "general"
    scanned = chat_lines.scan(view, max_line_bytes, fast_ok)
    batch = _Batch(spec)
    for number, start, end in chat_lines.slow_lines(scanned):
        batch.add_line(lines_before + number, data[start:end], max_line_bytes)
    fast = chat_lines.fast_frame(scanned, view, file_offset).with_columns(pl.col("line") + lines_before)
    frame = pl.concat([fast, batch.frame()], how="diagonal_relaxed").sort("line")
    return _Judged(frame, scanned.lines, scanned.blank)


@dataclass
class _Judged:
    frame: pl.DataFrame
    lines: int
    blank: int


def _line_runs(stream: BinaryIO, digest: Any | None) -> Iterator[tuple[int, bytes]]:
    """(offset, bytes) runs of whole lines of about CHUNK_BYTES, hashing the stream on the way."""
    offset = 0
    tail = b""
    while True:
        chunk = stream.read(CHUNK_BYTES)
        if digest is not None and chunk:
            digest.update(chunk)
        if not chunk:
            if tail:
                yield offset, tail
            return
        data = tail + chunk if tail else chunk
        cut = data.rfind(b"\n") + 1
        if cut == 0:
            tail = data  # one line longer than a chunk: read on until it ends
            continue
        yield offset, data[:cut]
        offset += cut
        tail = data[cut:]


def _jsonl(
    spec: InputSpec,
    kind: Kind,
    max_line_bytes: int,
    summary: InputSummary,
    on_progress: Callable[[str, int], None] | None,
    parallel: bool,
    compiled: bool,
) -> Iterator[pl.DataFrame]:
    """Plain or gzip JSONL, read once in runs of lines judged on worker threads (the compiled
    scan releases the GIL). A plain file is hashed as it is read; its rows keep spans."""
    plain = kind == "jsonl"
    digest = hashlib.sha256() if plain else None
    before = _stat(spec.path)
    workers = min(os.cpu_count() or 1, 4) if parallel else 1
    lines_before = 0
    try:
        with _open_stream(spec.path, kind) as stream, ThreadPoolExecutor(max_workers=workers) as pool:
            # Only a few runs in flight: each holds its bytes until judged.
            pending: deque[Future[_Judged]] = deque()
            runs = _line_runs(stream, digest)
            while True:
                for offset, data in islice(runs, workers + 1 - len(pending)):
                    pending.append(
                        pool.submit(
                            _judge_lines,
                            data,
                            offset if plain else None,
                            lines_before,
                            spec,
                            max_line_bytes,
                            compiled,
                        )
                    )
                    lines_before += data.count(b"\n") + (not data.endswith(b"\n"))
                if not pending:
                    break
                judged = pending.popleft().result()
                frame = judged.frame
                summary.blank_lines += judged.blank
                summary.records += frame.height
                if on_progress:
                    on_progress(spec.path, summary.records)
                yield frame
    except (OSError, EOFError) as error:
        if kind == "jsonl.gz":
            raise InputError(f"gzip stream is corrupt ({error})", spec.path) from None
        raise InputError(f"cannot be read: {error}", spec.path) from None
    if digest is not None:
        summary.sha256 = digest.hexdigest()
    if plain and before is not None:
        # Its rows are read back from the file later: it must stay as it was read.
        after = _stat(spec.path)
        stamp = InputStamp.of(before, summary.sha256)
        if after is None or not stamp.same_file(after):
            raise InputChanged(spec.path)
        watch(spec.path, stamp)


def _stat(path: str) -> os.stat_result | None:
    try:
        return os.stat(path)
    except OSError:
        return None


def _open_stream(path: str, kind: Kind) -> BinaryIO:
    if kind == "jsonl.gz":
        return gzip.open(path, "rb")  # type: ignore[return-value]
    return open(path, "rb")  # noqa: SIM115 (closed by the caller's with)


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
    compiled: bool = True,
) -> tuple[pl.DataFrame, list[InputSummary]]:
    """Read and validate every input into one frame. Raises InputError for unreadable inputs.

    ``compiled=False`` sends every JSONL line through the Python path, the reference that the
    compiled scan is tested against.

    Every input is checked for readability before any record is read, so a bad path fails fast.
    """
    specs = list(specs)
    kinds: list[Kind] = [detect_kind(spec.path) for spec in specs]
    frames: list[pl.DataFrame] = []
    summaries: list[InputSummary] = []
    for spec, kind in zip(specs, kinds, strict=True):
        lines = kind in ("jsonl", "jsonl.gz")
        # A plain JSONL file is hashed as it is read; other kinds are hashed here.
        summary = InputSummary(
            spec.path, spec.origin, kind, None if kind == "jsonl" else sha256_of(spec.path, kind)
        )
        stat = _stat(spec.path) if kind != "hf" else None
        if stat is not None:
            summary.size, summary.mtime_ns = stat.st_size, stat.st_mtime_ns
        parts = (
            _jsonl(spec, kind, max_line_bytes, summary, on_progress, parallel, compiled)
            if lines
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
    missing = [
        pl.lit(None, dtype).alias(name) for name, dtype in BASE_SCHEMA.items() if name not in part.columns
    ]
    return part.with_columns(*missing).with_columns(
        source=pl.lit(spec.path, LABEL),
        origin=pl.lit(spec.origin, LABEL),
        format=pl.col("format").cast(LABEL),
        status=pl.when(valid).then(pl.lit(usable)).otherwise(pl.lit("rejected")).cast(LABEL),
        reasons=pl.col("reasons").fill_null(pl.lit([], dtype=REASONS_DTYPE)),
        flags=pl.lit([], dtype=REASONS_DTYPE),
    )
