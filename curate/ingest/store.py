"""Where each row's example text lives during a build, and how a stage gets it back.

A big build cannot hold every example's text in memory and stay near the input's size, so
ingest leaves the examples of plain JSONL files in those files: the frame keeps the byte span
of the record's ``messages`` array (``span_start``, ``span_len``, and ``verbatim`` where those
bytes are canonical already) and a null ``example``. Rows whose text is not in a file as such
(converted formats, gzip, reviewers' edits, invalid records) hold it in ``example``. A stage
that reads text calls ``with_examples`` on the slice of rows it is about to read, never on the
whole frame of a large build. Spans are read with ``pread``, not a memory map, so the text
read counts against memory only while the slice is in use.

Reading a record back is only right if the file still holds what ingest read. Ingest records
each file's size, modification time and SHA-256 (``watch``); every read-back compares the size
and time of the open file, and ``verify_unchanged`` hashes the files again before a build
folder is committed, which also catches a same-length edit that put the time back. A change
stops the build with ``InputChanged``.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from curate.core.errors import CurateError, InputChanged
from curate.core.utf8 import utf8_buffers
from curate.ingest.fastpath import example_bytes
from curate.ingest.fastpath_kernels import place
from curate.ingest.strings import string_series

SPAN_COLUMNS: Final = ("span_start", "span_len", "verbatim", "content_bytes")
# Spans closer than this are read in one call: fewer reads, a little text read for nothing. Small,
# so that a sample spread over a whole file is read span by span, not as the whole file.
MERGE_GAP: Final = 16 << 10


@dataclass(frozen=True)
class InputStamp:
    """What a file was when ingest read it."""

    size: int
    mtime_ns: int
    sha256: str | None = None

    @classmethod
    def of(cls, stat: os.stat_result, sha256: str | None = None) -> InputStamp:
        return cls(stat.st_size, stat.st_mtime_ns, sha256)

    def same_file(self, stat: os.stat_result) -> bool:
        return stat.st_size == self.size and stat.st_mtime_ns == self.mtime_ns


# Stamps of the files whose records are read back, by path as the frame's ``source`` names them.
# A process-wide table: the frame only carries the path, and each ingest re-stamps its inputs.
_STAMPS: dict[str, InputStamp] = {}


def watch(path: str, stamp: InputStamp) -> None:
    """Record what ``path`` was when ingest read it; later read-backs compare against it."""
    _STAMPS[path] = stamp


def verify_unchanged(paths: list[str]) -> None:
    """Raise InputChanged for the first watched file whose size, time or content hash moved."""
    for path in paths:
        stamp = _STAMPS.get(path)
        if stamp is None:
            continue
        try:
            stat = os.stat(path)
        except OSError:
            raise InputChanged(path) from None
        if not stamp.same_file(stat):
            raise InputChanged(path)
        if stamp.sha256 is not None and _sha256(path) != stamp.sha256:
            raise InputChanged(path)


def _sha256(path: str) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


def with_examples(frame: pl.DataFrame) -> pl.DataFrame:
    """``frame`` with its ``example`` column filled in for every row."""
    if frame.height == 0 or "span_start" not in frame.columns:
        return frame
    need = frame.select(pl.col("example").is_null() & pl.col("span_start").is_not_null()).to_series()
    rows = np.flatnonzero(need.to_numpy())
    if not len(rows):
        return frame
    wanted = frame.select("source", "span_start", "span_len", "verbatim").with_row_index("_row")[rows]
    if len(rows) == frame.height and wanted["source"].n_unique() == 1:  # the common case: no placing
        return frame.with_columns(read_examples(wanted["source"][0], wanted).alias("example"))
    lengths = np.zeros(frame.height, dtype=np.int64)
    pieces: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []  # rows, text, offsets
    for (source,), group in wanted.group_by("source", maintain_order=True):
        texts = read_examples(str(source), group)
        text, offsets = utf8_buffers(texts)
        group_rows = group["_row"].to_numpy()
        lengths[group_rows] = np.diff(offsets)
        pieces.append((group_rows, text, offsets))
    offsets = np.zeros(frame.height + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    data = np.empty(int(offsets[-1]), dtype=np.uint8)
    for group_rows, text, group_offsets in pieces:
        place(data, offsets, group_rows, text, group_offsets)
    validity = np.packbits(need.to_numpy(), bitorder="little")
    filled = string_series(data, offsets, validity, what="example text gathered from the inputs").alias(
        "example"
    )
    return frame.with_columns(pl.coalesce(pl.col("example"), filled).alias("example"))


def read_examples(source: str, spans: pl.DataFrame) -> pl.Series:
    """Example JSON of ``spans`` (rows of one input with span_start, span_len, verbatim)."""
    starts = spans["span_start"].to_numpy()
    ends = starts + spans["span_len"].to_numpy()
    in_order = bool(np.all(starts[1:] >= starts[:-1]))
    order = np.arange(len(starts)) if in_order else np.argsort(starts, kind="stable")
    buffer, local = _read_runs(source, starts[order], ends[order])
    try:
        text, offsets = example_bytes(
            buffer, local, local + (ends[order] - starts[order]), spans["verbatim"].to_numpy()[order]
        )
    except ValueError:
        raise InputChanged(source) from None
    del buffer  # before polars takes the texts: three copies of a slice's text at once were too many
    texts = string_series(text, offsets, what=f"example text read back from {source}")
    del text
    if in_order:
        return texts
    inverse = np.empty_like(order)
    inverse[order] = np.arange(len(order))
    return texts.gather(inverse)


def _read_runs(source: str, starts: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The bytes of sorted spans, read in runs of nearby spans; each span's start in them."""
    breaks = np.flatnonzero(starts[1:] - np.maximum.accumulate(ends)[:-1] > MERGE_GAP) + 1
    run_first = np.concatenate([[0], breaks])
    run_last = np.concatenate([breaks, [len(starts)]])
    run_start = starts[run_first]
    run_end = np.maximum.reduceat(ends, run_first)
    sizes = run_end - run_start
    at = np.concatenate([[0], np.cumsum(sizes)])
    buffer = np.empty(int(at[-1]), dtype=np.uint8)
    local = np.empty(len(starts), dtype=np.int64)
    try:
        descriptor = os.open(source, os.O_RDONLY)
    except OSError as error:
        raise CurateError(f"cannot be read again during the build ({error.strerror})", source) from None
    try:
        stamp = _STAMPS.get(source)
        if stamp is not None and not stamp.same_file(os.fstat(descriptor)):
            raise InputChanged(source)
        for run, (a, b) in enumerate(zip(run_start.tolist(), run_end.tolist(), strict=True)):
            # Straight into the buffer: a pread's bytes object was a second copy of the slice.
            if _read_into(descriptor, buffer[at[run] : at[run + 1]], a) != b - a:
                raise InputChanged(source)
            first, last = run_first[run], run_last[run]
            local[first:last] = starts[first:last] - a + at[run]
    finally:
        os.close(descriptor)
    return buffer, local


def _read_into(descriptor: int, into: np.ndarray, offset: int) -> int:
    """Read ``len(into)`` bytes at ``offset`` into ``into``; the count read (short at end of file)."""
    done = 0
    while done < len(into):
        got = os.preadv(descriptor, [into[done:].data], offset + done)
        if got == 0:
            break
        done += got
    return done
