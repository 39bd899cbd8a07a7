"""manifest.json: what went in, with which config and versions, and where every record went."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import polars as pl

from curate.core.config import CurateConfig
from curate.core.version import __version__
from curate.ingest.inputs import InputSummary

PACKAGES = ("polars", "pyarrow", "datasketch", "datasets", "orjson", "fastjsonschema", "tokenizers")


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"chatcurate": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def _per_code(lazy: pl.LazyFrame, codes: pl.Expr) -> dict[str, int]:
    """Records per code, where ``codes`` is each record's (deduplicated) code or list of codes."""
    return dict(
        lazy.select(codes.alias("code"))
        .explode("code")
        .drop_nulls()
        .group_by("code")
        .len()
        .sort("code")
        .collect()
        .iter_rows()
    )


def counts(frame: pl.DataFrame) -> dict[str, Any]:
    """Records per status, per origin and status, and per reason code (records carrying it).

    Lazy, so each query reads only its columns: eager ``group_by``/``filter`` copied the whole
    frame.
    """
    lazy = frame.lazy()
    by_status = dict(lazy.group_by("status").len().sort("status").collect().iter_rows())
    by_origin: dict[str, dict[str, int]] = {}
    per_origin = lazy.group_by("origin", "status").len().sort("origin", "status").collect()
    for origin, status, n in per_origin.iter_rows():
        by_origin.setdefault(origin, {})[status] = n
    rejected = lazy.filter(pl.col("status") == "rejected")
    first = (
        rejected.select(pl.col("reasons").list.first().struct.field("code").alias("code"))
        .group_by("code")
        .len()
        .sort("code")
        .collect()
    )
    return {
        "records": frame.height,
        "by_status": by_status,
        "by_origin": by_origin,
        # a record with several reasons counts under each
        "by_reason": _per_code(rejected, _codes("reasons")),
        "by_first_reason": dict(first.iter_rows()),  # adds up to the rejected count
        "by_flag": _per_code(lazy, _codes("flags")) if "flags" in frame.columns else {},
    }


def _codes(column: str) -> pl.Expr:
    return pl.col(column).list.eval(pl.element().struct.field("code")).list.unique()


def build_manifest(
    frame: pl.DataFrame,
    inputs: list[InputSummary],
    config: CurateConfig,
    timings: dict[str, float],
    findings: dict[str, Any],
    files: dict[str, int],
) -> dict[str, Any]:
    tally = counts(frame)
    tokens = (
        frame.lazy()
        .filter(pl.col("status").is_in(["train", "eval"]))
        .group_by("status")
        .agg(pl.col("tokens").sum().alias("tokens"), pl.len().alias("records"))
        .sort("status")
        .collect()
        if "tokens" in frame.columns
        else pl.DataFrame()
    )
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "inputs": [summary.as_dict() for summary in inputs],
        "config": config.as_dict(),
        "config_hash": config.hash(),
        "versions": versions(),
        "platform": {"python": sys.version.split()[0], "machine": platform.machine()},
        "counts": tally,
        "files": files,
        "split": {
            **findings.get("split", {}),
            **{
                row["status"]: {"records": row["records"], "tokens": row["tokens"]}
                for row in tokens.iter_rows(named=True)
            },
        },
        "mix": findings.get("mix", {}),
        "tokenizer": findings.get("tokenizer"),
        "findings": {k: v for k, v in findings.items() if k not in ("split", "mix", "tokenizer")},
        "timings": {name: round(seconds, 4) for name, seconds in timings.items()},
    }
