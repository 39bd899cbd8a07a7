"""Inputs cut into shards that separate tasks read, each keeping its file and line numbers.

A plain JSONL file is cut at line boundaries into runs of about ``shard_bytes``; the planning
pass counts the lines before each cut (and hashes the file on the way), so a shard's rows get
the same line numbers, ids and spans as ``ingest`` gives them, and every rejection still names
``file:line``. Other kinds (gzip, Parquet, JSON arrays, datasets folders) have no line
boundaries to cut at and are one shard each. JSONL is read through pyarrow's filesystems when
the path has a scheme (``s3://...``; its rows then carry their text), through the OS otherwise.

Nothing here knows about Ray: the Ray engine runs ``read_shard`` in its tasks, and the tests
call it directly.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import polars as pl

from curate.core.errors import InputChanged, InputError
from curate.core.frame import BASE_SCHEMA
from curate.ingest.inputs import (
    CHUNK_BYTES,
    InputSpec,
    InputSummary,
    _finish,
    _judge_lines,
    _stat,
    ingest,
)
from curate.ingest.readers import Kind, detect_kind, sha256_of
from curate.ingest.store import InputStamp, watch

SHARD_BYTES = 64 << 20


@dataclass(frozen=True)
class Shard:
    """A run of whole lines of one input (``start``/``stop`` bytes), or a whole input (stop -1)."""

    spec: InputSpec
    index: int  # the input's position among the build's inputs
    start: int = 0
    stop: int = -1
    lines_before: int = 0

    @property
    def whole(self) -> bool:
        return self.stop < 0


@dataclass
class Plan:
    shards: list[Shard] = field(default_factory=list)
    summaries: list[InputSummary] = field(default_factory=list)


def plan(specs: list[InputSpec], shard_bytes: int = SHARD_BYTES) -> Plan:
    """Shards of every input, in input order; an unreadable input raises InputError before any
    record is read, as in ``ingest``."""
    kinds = [_remote_kind(spec.path) if _remote(spec.path) else detect_kind(spec.path) for spec in specs]
    result = Plan()
    for index, (spec, kind) in enumerate(zip(specs, kinds, strict=True)):
        stat = None if _remote(spec.path) or kind == "hf" else _stat(spec.path)
        if kind == "jsonl":
            summary = InputSummary(spec.path, spec.origin, kind, None)
            result.shards.extend(_line_shards(spec, index, shard_bytes, summary))
        else:
            summary = InputSummary(spec.path, spec.origin, kind, sha256_of(spec.path, kind))
            result.shards.append(Shard(spec, index))
        if stat is not None:
            summary.size, summary.mtime_ns = stat.st_size, stat.st_mtime_ns
        if kind == "jsonl" and stat is not None:
            # Its rows are read back from the file later (by tasks, and by the writer on the
            # driver): it must stay as it was when planned, as ingest requires.
            after = _stat(spec.path)
            stamp = InputStamp.of(stat, summary.sha256)
            if after is None or not stamp.same_file(after):
                raise InputChanged(spec.path)
            watch(spec.path, stamp)
        result.summaries.append(summary)
    return result


def _line_shards(spec: InputSpec, index: int, shard_bytes: int, summary: InputSummary) -> Iterator[Shard]:
    """One sequential pass: a cut at the last newline of the read that takes a shard past
    ``shard_bytes``, the lines before each cut, and the file's sha256."""
    digest = hashlib.sha256()
    start = offset = lines_before = lines = 0
    try:
        with _open(spec.path) as stream:
            while chunk := stream.read(min(CHUNK_BYTES, shard_bytes)):
                digest.update(chunk)
                end = offset + len(chunk)
                cut = chunk.rfind(b"\n") + 1
                if cut and end - start >= shard_bytes:
                    lines_at_cut = lines + chunk.count(b"\n", 0, cut)
                    yield Shard(spec, index, start, offset + cut, lines_before)
                    start, lines_before = offset + cut, lines_at_cut
                lines += chunk.count(b"\n")
                offset = end
    except OSError as error:
        raise InputError(f"cannot be read: {error}", spec.path) from None
    if offset > start or start == 0:
        yield Shard(spec, index, start, offset, lines_before)
    summary.sha256 = digest.hexdigest()


def _remote(path: str) -> bool:
    return "://" in path


def _remote_kind(path: str) -> Kind:
    """Inputs on another filesystem: JSONL only, and their rows carry their text (the example
    store reads spans back through the OS)."""
    if not path.endswith(".jsonl"):
        raise InputError(
            "only JSONL inputs are read from another filesystem",
            path,
            "convert it to JSONL, or put it on storage every node mounts",
        )
    try:
        with _open(path) as stream:
            if not stream.read(1):
                raise InputError("is empty (0 records)", path, "remove it from the inputs or fill it")
    except OSError as error:
        raise InputError(f"cannot be read: {error}", path) from None
    return "jsonl"


def _open(path: str) -> BinaryIO:
    if _remote(path):
        from pyarrow import fs  # only for paths on another filesystem

        filesystem, inner = fs.FileSystem.from_uri(path)
        return filesystem.open_input_file(inner)  # type: ignore[no-any-return]
    return open(path, "rb")  # noqa: SIM115 (closed by the caller's with)


@dataclass
class ShardRows:
    frame: pl.DataFrame  # base columns, as ``ingest`` gives them for these lines
    blank_lines: int


def read_shard(shard: Shard, max_line_bytes: int) -> ShardRows:
    """Read and validate one shard's records."""
    if shard.whole:
        frame, (summary,) = ingest([shard.spec], max_line_bytes, parallel=False)
        return ShardRows(frame, summary.blank_lines)
    parts: list[pl.DataFrame] = []
    blank = 0
    offset = shard.start
    lines_before = shard.lines_before
    with _open(shard.spec.path) as stream:
        if shard.start:
            stream.seek(shard.start)
        left = shard.stop - shard.start
        # Judged a run of about CHUNK_BYTES at a time, as ingest does: only one run's
        # intermediates exist at once.
        for data in _runs(stream, left):
            spans = None if _remote(shard.spec.path) else offset
            judged = _judge_lines(data, spans, lines_before, shard.spec, max_line_bytes)
            parts.append(_finish(judged.frame, shard.spec).select(list(BASE_SCHEMA)))
            blank += judged.blank
            offset += len(data)
            lines_before += data.count(b"\n") + (not data.endswith(b"\n"))
    if not parts:
        return ShardRows(pl.DataFrame(schema=BASE_SCHEMA), blank)
    return ShardRows(pl.concat(parts, how="vertical", rechunk=True), blank)


def _runs(stream: BinaryIO, left: int) -> Iterator[bytes]:
    """Runs of whole lines of about CHUNK_BYTES out of the next ``left`` bytes (which end at a
    line boundary or at the end of the file)."""
    tail = b""
    while left > 0:
        chunk = stream.read(min(CHUNK_BYTES, left))
        if not chunk:
            break
        left -= len(chunk)
        data = tail + chunk
        cut = data.rfind(b"\n") + 1 if left > 0 else len(data)
        if cut == 0:
            tail = data
            continue
        yield data[:cut]
        tail = data[cut:]
    if tail:
        yield tail
