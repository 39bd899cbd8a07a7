"""Open an input of any accepted kind and yield its records, each with its 1-based position.

JSONL (plain or gzip) yields raw lines so that a bad line is rejected on its own; JSON arrays,
Parquet and Hugging Face datasets yield parsed rows. A file that cannot be read at all raises
InputError, which the CLI prints as one line and exits 2.
"""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import orjson

from curate.core.errors import InputError

Kind = Literal["jsonl", "jsonl.gz", "json", "parquet", "hf"]


@dataclass(frozen=True, slots=True)
class Line:
    """A JSONL line, not yet decoded."""

    number: int
    data: bytes


@dataclass(frozen=True, slots=True)
class Row:
    """A row already parsed by its container (JSON array, Parquet, datasets)."""

    number: int
    value: Any


def detect_kind(spec: str) -> Kind:
    """What kind of input ``spec`` is, from its name and first bytes; raises InputError if unreadable."""
    if spec.startswith("hf:"):
        return "hf"
    path = Path(spec)
    if not path.exists():
        raise InputError("no such file", spec, "check the path")
    if path.is_dir():
        if any(
            (path / marker).exists() for marker in ("dataset_info.json", "state.json", "dataset_dict.json")
        ):
            return "hf"
        raise InputError("is a folder, not a data file or a saved Hugging Face dataset", spec)
    try:
        with path.open("rb") as handle:
            head = handle.read(8192)
    except OSError as error:
        raise InputError(f"cannot be read: {error.strerror}", spec) from None
    if not head:
        raise InputError("is empty (0 records)", spec, "remove it from the inputs or fill it")
    if head[:2] == b"\x1f\x8b":
        return "jsonl.gz"
    if head[:4] == b"PAR1":
        return "parquet"
    if _looks_binary(head):
        raise InputError("is not a text file (nor gzip or Parquet)", spec)
    if head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"[":
        return "json"
    return "jsonl"


def _looks_binary(head: bytes) -> bool:
    # A stray NUL in one line is a per-line defect; a file full of them is not text at all.
    # Tiny files are read line by line either way: their bad lines get reasons of their own.
    if len(head) < 512:
        return False
    if head.count(b"\x00") > len(head) // 10:
        return True
    return head.decode("utf-8", errors="replace").count("\ufffd") > len(head) // 10


def iter_records(spec: str, kind: Kind) -> Iterator[Line | Row]:
    if kind == "jsonl":
        yield from _iter_lines(Path(spec).open("rb"))  # noqa: SIM115 (closed by _iter_lines)
    elif kind == "jsonl.gz":
        yield from _iter_gzip_lines(spec)
    elif kind == "json":
        yield from _iter_json_array(spec)
    elif kind == "parquet":
        yield from _iter_parquet(spec)
    else:
        yield from _iter_hf(spec)


def _iter_lines(handle: Any) -> Iterator[Line]:
    with handle:
        for number, data in enumerate(handle, start=1):
            yield Line(number, data)


def _iter_gzip_lines(spec: str) -> Iterator[Line]:
    try:
        yield from _iter_lines(gzip.open(spec, "rb"))  # noqa: SIM115 (closed by _iter_lines)
    except (OSError, EOFError) as error:  # truncated or corrupt archive
        raise InputError(f"gzip stream is corrupt ({error})", spec) from None


def _iter_json_array(spec: str) -> Iterator[Line | Row]:
    data = Path(spec).read_bytes()
    try:
        values = orjson.loads(data)
    except orjson.JSONDecodeError:
        # Not one JSON document: it may be JSONL whose first record is a list. Let lines decide.
        yield from _iter_lines(Path(spec).open("rb"))  # noqa: SIM115 (closed by _iter_lines)
        return
    if not isinstance(values, list):
        raise InputError("is a JSON document but not a list of records", spec)
    for number, value in enumerate(values, start=1):
        yield Row(number, value)


def _iter_parquet(spec: str) -> Iterator[Row]:
    import pyarrow.parquet as pq

    try:
        parquet = pq.ParquetFile(spec)
    except Exception as error:  # pyarrow raises several types for corrupt files
        raise InputError(f"is not a readable Parquet file ({error})", spec) from None
    number = 0
    for batch in parquet.iter_batches(batch_size=16_384):
        for value in batch.to_pylist():
            number += 1
            yield Row(number, drop_nulls(value))


def _iter_hf(spec: str) -> Iterator[Row]:
    import datasets

    try:
        if spec.startswith("hf:"):
            name, _, split = spec[3:].partition(":")
            dataset = datasets.load_dataset(name, split=split or "train")
        else:
            loaded = datasets.load_from_disk(spec)
            if isinstance(loaded, datasets.DatasetDict):
                split = "train" if "train" in loaded else next(iter(loaded))
                dataset = loaded[split]
            else:
                dataset = loaded
    except Exception as error:  # datasets raises many kinds; the user needs the message, not the type
        raise InputError(f"cannot be loaded with datasets ({type(error).__name__}: {error})", spec) from None
    for number, value in enumerate(dataset, start=1):
        yield Row(number, drop_nulls(value))


def drop_nulls(value: Any) -> Any:
    """Columnar sources fill absent keys with null; drop them so records look as they were written."""
    if isinstance(value, dict):
        return {key: drop_nulls(item) for key, item in value.items() if item is not None}
    if isinstance(value, list):
        return [drop_nulls(item) for item in value]
    return value


def sha256_of(spec: str, kind: Kind) -> str | None:
    """Content hash of a file input (streamed); None for hub datasets and folders."""
    if kind == "hf":
        return None
    digest = hashlib.sha256()
    with Path(spec).open("rb") as handle:
        while chunk := handle.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()
