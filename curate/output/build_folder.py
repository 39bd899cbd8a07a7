"""Reading a finished build folder: its manifest and the columns of examples.parquet a reader needs.

Every reader of a build (gates, report, stats, the review app) goes through here, so a missing or
broken file is reported the same way everywhere: one line naming the folder and what to do.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core.errors import InputError

EXAMPLES_FILE = "examples.parquet"
MANIFEST_FILE = "manifest.json"


def require_build(build: Path) -> None:
    if not build.is_dir():
        raise InputError(
            "no such build folder" if not build.exists() else "is not a folder",
            str(build),
            "give the folder curate build wrote",
        )


def read_manifest(build: Path) -> dict[str, Any]:
    path = build / MANIFEST_FILE
    if not path.is_file():
        raise InputError("is not a build folder (no manifest.json)", str(build), "run curate build first")
    try:
        manifest: dict[str, Any] = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise InputError(f"manifest.json is not valid JSON ({error})", str(path)) from None
    return manifest


def read_examples(
    build: Path, wanted: Iterable[str] | None = None, prefixes: tuple[str, ...] = ()
) -> pl.DataFrame:
    """examples.parquet, only the ``wanted`` columns and those starting with one of ``prefixes``
    (all columns when ``wanted`` is None): the text stays on disk unless a reader asks for it."""
    path = build / EXAMPLES_FILE
    if not path.exists():
        raise InputError(
            "is not a complete build (no examples.parquet)", str(build), "run curate build again"
        )
    try:
        if wanted is None:
            return pl.read_parquet(path)
        names = set(wanted)
        schema = pl.read_parquet_schema(path)
        columns = [name for name in schema if name in names or name.startswith(prefixes)]
        return pl.read_parquet(path, columns=columns)
    except (OSError, pl.exceptions.PolarsError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise InputError(
            f"examples.parquet cannot be read ({first})", str(path), "run curate build again"
        ) from None
