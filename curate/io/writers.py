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

import polars as pl

OUTPUT_SPLITS = {"train": "train.jsonl", "eval": "eval.jsonl", "general_eval": "general_eval.jsonl"}


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
    """train/eval lines: the canonical example with its id first."""
    return frame.select(
        pl.concat_str([pl.lit('{"id":"'), pl.col("id"), pl.lit('",'), pl.col("example").str.slice(1)])
    ).to_series()


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


def write_lines(path: Path, lines: pl.Series) -> None:
    with path.open("w", encoding="utf-8") as handle:
        for chunk in lines.to_frame().iter_slices(50_000):
            values = chunk.to_series().to_list()
            if values:
                handle.write("\n".join(values))
                handle.write("\n")


def write_build(
    frame: pl.DataFrame,
    folder: Path,
    extra_writers: list[Callable[[Path], None]] | None = None,
) -> dict[str, int]:
    """Write splits, rejected.jsonl and examples.parquet into ``folder``; return line counts."""
    counts: dict[str, int] = {}
    for status, filename in OUTPUT_SPLITS.items():
        part = frame.filter(pl.col("status") == status)
        if status == "general_eval" and part.height == 0:
            continue
        lines = example_lines(part)
        if status == "train" and "mix_repeats" in part.columns:
            # Oversampled general rows ([mix] oversample) are written as many times as the mix chose.
            copies = part["mix_repeats"].fill_null(1)
            lines = lines.to_frame("line").select(pl.col("line").repeat_by(copies).explode()).to_series()
        write_lines(folder / filename, lines)
        counts[filename] = len(lines)
    rejected = frame.filter(pl.col("status") == "rejected")
    write_lines(folder / "rejected.jsonl", rejected_lines(rejected))
    counts["rejected.jsonl"] = rejected.height
    # zstd level 1: nearly twice as fast to write as the default level for a ~15% larger file.
    frame.write_parquet(folder / "examples.parquet", compression="zstd", compression_level=1, statistics=True)
    for writer in extra_writers or []:
        writer(folder)
    return counts
