"""manifest.json: what went in, with which config and versions, and where every record went."""

from __future__ import annotations

import platform
import sys
from datetime import UTC, datetime
from importlib import metadata
from typing import Any

import polars as pl

from curate import __version__
from curate.config import CurateConfig
from curate.ingest import InputSummary

PACKAGES = ("polars", "pyarrow", "datasketch", "datasets", "orjson", "fastjsonschema", "tokenizers")


def versions() -> dict[str, str | None]:
    found: dict[str, str | None] = {"chatcurate": __version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = None
    return found


def counts(frame: pl.DataFrame) -> dict[str, Any]:
    """Records per status, per origin and status, and per reason code (records carrying it)."""
    by_status = dict(frame.group_by("status").len().sort("status").iter_rows())
    by_origin: dict[str, dict[str, int]] = {}
    for origin, status, n in frame.group_by("origin", "status").len().sort("origin", "status").iter_rows():
        by_origin.setdefault(origin, {})[status] = n
    codes = (
        frame.filter(pl.col("status") == "rejected")
        .select(pl.col("reasons").list.eval(pl.element().struct.field("code")).list.unique().alias("code"))
        .explode("code")
        .drop_nulls()
        .group_by("code")
        .len()
        .sort("code")
    )
    first = (
        frame.filter(pl.col("status") == "rejected")
        .select(pl.col("reasons").list.first().struct.field("code").alias("code"))
        .group_by("code")
        .len()
        .sort("code")
    )
    flags = (
        frame.select(pl.col("flags").list.eval(pl.element().struct.field("code")).list.unique().alias("code"))
        .explode("code")
        .drop_nulls()
        .group_by("code")
        .len()
        .sort("code")
        if "flags" in frame.columns
        else pl.DataFrame({"code": [], "len": []})
    )
    return {
        "records": frame.height,
        "by_status": by_status,
        "by_origin": by_origin,
        "by_reason": dict(codes.iter_rows()),  # a record with several reasons counts under each
        "by_first_reason": dict(first.iter_rows()),  # adds up to the rejected count
        "by_flag": dict(flags.iter_rows()),
    }


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
        frame.filter(pl.col("status").is_in(["train", "eval"]))
        .group_by("status")
        .agg(pl.col("tokens").sum().alias("tokens"), pl.len().alias("records"))
        .sort("status")
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
