"""Ingest: read every input, validate every record, and build the frame (one row per record).

Validation happens here, in the same pass as parsing, so a record is decoded once. Rows are
gathered into column lists a batch at a time and turned into polars frames, which keeps peak
memory close to the size of the canonical examples rather than of Python objects.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import orjson
import polars as pl

from curate.frame import BASE_SCHEMA, REASONS_DTYPE
from curate.io.readers import Kind, Line, Row, detect_kind, iter_records, sha256_of
from curate.reasons import stage_of
from curate.records import Format, raw_id
from curate.validate import Checked, check_line, check_record

BATCH_ROWS = 65_536


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
    formats: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "origin": self.origin,
            "kind": self.kind,
            "sha256": self.sha256,
            "records": self.records,
            "formats": self.formats,
        }


class _Columns:
    """Column lists for one batch of rows."""

    def __init__(self) -> None:
        self.values: dict[str, list[Any]] = {name: [] for name in BASE_SCHEMA}

    def __len__(self) -> int:
        return len(self.values["id"])

    def add(self, spec: InputSpec, number: int, checked: Checked) -> None:
        v = self.values
        valid = not checked.reasons
        v["id"].append(checked.id if valid else raw_id(spec.path, number))
        v["source"].append(spec.path)
        v["line"].append(number)
        v["source_id"].append(checked.source_id)
        v["origin"].append(spec.origin)
        v["format"].append(checked.fmt)
        v["status"].append(("protected" if spec.origin == "benchmark" else "ok") if valid else "rejected")
        v["reasons"].append(
            [{"code": code, "stage": stage_of(code), "message": message, "ref": None} for code, message in checked.reasons]
        )
        v["flags"].append([])
        example = checked.example
        if example is not None and valid and spec.origin == "general":
            example.setdefault("meta", {})["source"] = "general"
        v["example"].append(_dump(example) if example is not None else None)
        v["raw"].append(checked.raw)
        v["dedup_key"].append(checked.key)
        messages = example.get("messages") if valid and example is not None else None
        v["n_messages"].append(len(messages) if messages is not None else None)
        v["n_assistant"].append(sum(m["role"] == "assistant" for m in messages) if messages is not None else None)

    def frame(self) -> pl.DataFrame:
        schema = dict(BASE_SCHEMA)
        schema["reasons"] = REASONS_DTYPE
        schema["flags"] = REASONS_DTYPE
        return pl.DataFrame(self.values, schema=schema)


def _dump(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:  # values orjson cannot encode (big ints, odd types from containers)
        return orjson.dumps(value, default=str).decode()


def ingest(
    specs: Iterable[InputSpec],
    max_line_bytes: int,
    on_progress: Callable[[str, int], None] | None = None,
) -> tuple[pl.DataFrame, list[InputSummary]]:
    """Read and validate every input into one frame. Raises InputError for unreadable inputs.

    Unreadable inputs are found before any record is read, so the user hears about all of them
    (first one raised) without waiting for a long parse.
    """
    specs = list(specs)
    kinds: list[Kind] = [detect_kind(spec.path) for spec in specs]
    frames: list[pl.DataFrame] = []
    summaries: list[InputSummary] = []
    for spec, kind in zip(specs, kinds, strict=True):
        summary = InputSummary(spec.path, spec.origin, kind, sha256_of(spec.path, kind))
        columns = _Columns()
        for item in iter_records(spec.path, kind):
            if isinstance(item, Line):
                if not item.data.strip():
                    continue  # a blank line holds no record (counted as blank, see below)
                checked = check_line(item.data, max_line_bytes, spec.format)
                number = item.number
            else:
                assert isinstance(item, Row)
                checked = check_record(item.value, spec.format)
                number = item.number
            columns.add(spec, number, checked)
            summary.records += 1
            if checked.fmt:
                summary.formats[checked.fmt] = summary.formats.get(checked.fmt, 0) + 1
            if len(columns) >= BATCH_ROWS:
                frames.append(columns.frame())
                columns = _Columns()
                if on_progress:
                    on_progress(spec.path, summary.records)
        if len(columns):
            frames.append(columns.frame())
        if on_progress:
            on_progress(spec.path, summary.records)
        summaries.append(summary)
    if not frames:
        return pl.DataFrame(schema=BASE_SCHEMA), summaries
    return pl.concat(frames, how="vertical", rechunk=True), summaries
