"""Write the build folder atomically: everything goes to a temporary sibling, then one rename.

A failed build therefore never leaves a half-written folder, and a reader of the previous build
sees either the old folder or the new one.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

import polars as pl

from curate.core.errors import CurateError
from curate.core.frame import plain_strings
from curate.ingest.store import SPAN_COLUMNS, verify_unchanged, with_examples
from curate.output.preference import pair_lines


@contextmanager
def atomic_folder(target: Path) -> Iterator[Path]:
    """Yield a temporary folder that replaces ``target`` when the block succeeds."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{target.name}.tmp-", dir=target.parent))
    try:
        yield temporary
    except BaseException:
        shutil.rmtree(temporary, ignore_errors=True)
        raise
    previous = target.with_name(f".{target.name}.old-{os.getpid()}")
    if target.exists():
        target.rename(previous)
    temporary.rename(target)
    if previous.exists():
        shutil.rmtree(previous, ignore_errors=True)


def example_lines(frame: pl.DataFrame) -> pl.Series:
    """train/eval lines: the canonical example with its id first (a preference pair in TRL's form)."""
    lines = frame.select(
        pl.concat_str([pl.lit('{"id":"'), pl.col("id"), pl.lit('",'), pl.col("example").str.slice(1)])
    ).to_series()
    return pair_lines(frame, lines)


def rejected_lines(frame: pl.DataFrame) -> pl.Series:
    """rejected.jsonl lines: where it came from, every reason, and the record or its raw text."""
    head = frame.select(
        pl.struct("id", "source", "line", "source_id", "reasons")
        .struct.json_encode()
        .str.head(-1)
        .alias("head"),
        pl.struct("raw").struct.json_encode().str.slice(1).alias("raw_tail"),
        "example",
    )
    return head.select(
        pl.when(pl.col("example").is_not_null())
        .then(pl.concat_str([pl.col("head"), pl.lit(',"example":'), pl.col("example"), pl.lit("}")]))
        .otherwise(pl.concat_str([pl.col("head"), pl.lit(","), pl.col("raw_tail")]))
    ).to_series()


# Rows written at a time: only a slice's texts are in memory, and the Parquet sink keeps a few
# slices in flight, so the slice bounds the write step's working memory.
WRITE_SLICE_ROWS = 25_000


def _write(handle: BinaryIO, lines: pl.Series) -> int:
    if len(lines):
        # A JSON line holds no raw newline, so a one-column CSV without quoting is the line.
        lines.to_frame("line").write_csv(handle, include_header=False, quote_style="never")
    return len(lines)


def train_lines(rows: pl.DataFrame) -> pl.Series:
    """Example lines; oversampled general rows ([mix] oversample) repeated as the mix chose."""
    lines = example_lines(rows)
    if "mix_repeats" not in rows.columns:
        return lines
    copies = rows["mix_repeats"].fill_null(1)
    return lines.to_frame("line").select(pl.col("line").repeat_by(copies).explode()).to_series()


def write_build(
    frame: pl.DataFrame,
    folder: Path,
    extra_writers: list[Callable[[Path], None]] | None = None,
) -> dict[str, int]:
    """Write splits, rejected.jsonl and examples.parquet into ``folder``; return line counts.

    One pass over the frame, a slice at a time: each slice's texts are read back once and go to
    its JSONL files and to the Parquet file, which polars compresses on its own threads.
    """
    from polars.io.plugins import register_io_source

    writers: dict[str, tuple[str, Callable[[pl.DataFrame], pl.Series]]] = {
        "train": ("train.jsonl", train_lines),
        "eval": ("eval.jsonl", example_lines),
        "rejected": ("rejected.jsonl", rejected_lines),
    }
    if (frame["status"] == "general_eval").any():
        writers["general_eval"] = ("general_eval.jsonl", example_lines)
    counts = {filename: 0 for filename, _ in writers.values()}
    columns = [c for c in frame.columns if c not in SPAN_COLUMNS]
    passes = 0
    failure: list[CurateError] = []  # raised in polars' reading thread, re-raised here as it was

    def slices(*_: object) -> Iterator[pl.DataFrame]:
        nonlocal passes
        passes += 1
        if passes > 1:  # the JSONL lines are written on the way: a second pass would repeat them
            raise RuntimeError("examples.parquet's source was read twice")
        handles = {status: (folder / filename).open("wb") for status, (filename, _) in writers.items()}
        try:
            for start in range(0, max(frame.height, 1), WRITE_SLICE_ROWS):
                part = with_examples(frame.slice(start, WRITE_SLICE_ROWS))
                for status, (filename, to_lines) in writers.items():
                    rows = part.filter(pl.col("status") == status)
                    if rows.height:
                        counts[filename] += _write(handles[status], to_lines(rows))
                yield plain_strings(part.select(columns))
        except CurateError as error:
            failure.append(error)
            raise
        finally:
            for handle in handles.values():
                handle.close()

    # zstd level 1: much faster to write than the default level, a little larger. Row groups of
    # one slice: the sink's default gathers more rows before compressing.
    try:
        register_io_source(slices, schema=plain_strings(frame.head(0).select(columns)).schema).sink_parquet(
            folder / "examples.parquet",
            compression="zstd",
            compression_level=1,
            statistics=True,
            row_group_size=WRITE_SLICE_ROWS,
        )
    except Exception:
        if failure:
            raise failure[0] from None
        raise
    # Every text was read back from the inputs: they must still be what ingest read.
    verify_unchanged([str(source) for source in frame["source"].unique().to_list()])
    for writer in extra_writers or []:
        writer(folder)
    return counts
