"""The numbers behind report.md and report.html, computed once so both say the same thing.

Everything is aggregated in polars; only the few rows a table shows (worst examples, leakage
matches) are decoded in Python, so a report over a million-row frame stays fast. A column or
finding a build lacks (no quality stage, no leakage stage) gives an empty section, not an error.
"""

from __future__ import annotations

import math
from typing import Any, Final

import orjson
import polars as pl

from curate.example_store import with_examples
from curate.gates import leakage_checked
from curate.reasons import describe

TOKEN_BINS: Final = 24  # histogram bars; the last one collects the tail past the 99th percentile
QUALITY_BINS: Final = 20
QUALITY_SERIES: Final = ("kept", "low score", "rejected (other)")
GROUP_BUCKETS: Final = (
    (2, 2, "2"),
    (3, 3, "3"),
    (4, 4, "4"),
    (5, 9, "5–9"),
    (10, 99, "10–99"),
    (100, None, "100+"),
)
TABLE_LIMIT: Final = 50  # rows in the leakage and worst-example tables
SNIPPET_CHARS: Final = 600  # per message, in the examples appendix
OUTPUT_STATUSES: Final = ("train", "eval", "general_eval")
TEXT_COLUMNS: Final = ("example", "raw")
# The leakage stage's match columns: which protected file and item, how, and the shared text.
LEAK_COLUMNS: Final = ("leak_source", "leak_item", "leak_method", "leak_span")


def summarise(manifest: dict[str, Any], frame: pl.DataFrame) -> dict[str, Any]:
    """A JSON-like dict of every section; each section is None or empty where the build lacks its data."""
    counts = manifest.get("counts", {})
    full = frame
    frame = without_text(frame)
    data: dict[str, Any] = {
        "created_at": manifest.get("created_at"),
        "config_hash": manifest.get("config_hash"),
        "records": counts.get("records", frame.height),
        "by_status": counts.get("by_status", {}),
        "by_origin": counts.get("by_origin", {}),
        "inputs": [
            {k: item.get(k) for k in ("path", "origin", "records", "blank_lines", "sha256")}
            for item in manifest.get("inputs", [])
            if isinstance(item, dict)
        ],
        "reasons": reason_rows(counts),
        "flags": flag_rows(counts, manifest.get("findings", {})),
        "tokens": token_summary(frame),
        "quality": quality_summary(frame),
        "groups": group_summary(frame, manifest.get("findings", {})),
        "mix": mix_summary(frame, manifest),
        "leakage": {
            **leakage_rows(frame),
            "checked": leakage_checked(manifest.get("findings", {}), frame.columns),
        },
        "worst": worst_rows(frame),
        "timings": manifest.get("timings", {}),
        "tokenizer": manifest.get("tokenizer"),
    }
    ids = {row["id"] for row in data["leakage"]["rows"]} | {row["id"] for row in data["worst"]["rows"]}
    data["examples"] = example_snippets(full, ids)
    return data


def without_text(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame minus its text columns: selecting is free, and filters then copy numbers, not text."""
    return frame.select([name for name in frame.columns if name not in TEXT_COLUMNS])


def reason_rows(counts: dict[str, Any]) -> list[dict[str, Any]]:
    """Rejections per reason, straight from the manifest: ``first`` adds up to the rejected count."""
    first: dict[str, int] = counts.get("by_first_reason", {})
    anywhere: dict[str, int] = counts.get("by_reason", {})
    codes = sorted(
        set(first) | set(anywhere), key=lambda code: (-first.get(code, 0), -anywhere.get(code, 0), code)
    )
    return [
        {"code": code, "first": first.get(code, 0), "any": anywhere.get(code, 0), "meaning": describe(code)}
        for code in codes
    ]


def _nice_step(raw: float) -> int:
    """A round bin width (1, 2, 5 × 10^k) at least ``raw``."""
    if raw <= 1:
        return 1
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if factor * power >= raw:
            return int(factor * power)
    return int(10 * power)


def token_summary(frame: pl.DataFrame) -> dict[str, Any] | None:
    if "tokens" not in frame.columns:
        return None
    kept = frame.filter(pl.col("status").is_in(OUTPUT_STATUSES) & pl.col("tokens").is_not_null())
    if kept.height == 0:
        return None
    stats = (
        kept.group_by("status")
        .agg(
            records=pl.len(),
            total=pl.col("tokens").sum(),
            mean=pl.col("tokens").mean(),
            p50=pl.col("tokens").quantile(0.5, "linear"),
            p90=pl.col("tokens").quantile(0.9, "linear"),
            p95=pl.col("tokens").quantile(0.95, "linear"),
            p99=pl.col("tokens").quantile(0.99, "linear"),
            max=pl.col("tokens").max(),
        )
        .sort(pl.col("status").replace_strict({s: i for i, s in enumerate(OUTPUT_STATUSES)}, default=9))
    )
    # Bins span the bulk (first token count to the 99th percentile); the last bin holds the tail.
    least = int(kept["tokens"].min() or 0)  # type: ignore[arg-type]
    ceiling = float(kept["tokens"].quantile(0.99, "linear") or 1)
    step = _nice_step(max(ceiling - least, 1) / (TOKEN_BINS - 1))
    start = least // step * step
    binned = (
        kept.select(
            pl.col("status"), ((pl.col("tokens") - start) // step).clip(0, TOKEN_BINS - 1).alias("bin")
        )
        .group_by("bin", "status")
        .len()
    )
    statuses = [s for s in OUTPUT_STATUSES if s in set(stats["status"])]
    table = {(b, s): n for b, s, n in binned.iter_rows()}
    last = int(binned["bin"].max() or 0)  # type: ignore[arg-type]
    bins = []
    for b in range(last + 1):
        low = start + b * step
        label = f"{low:,}–{low + step - 1:,}" if step > 1 else f"{low:,}"
        label = label if b < TOKEN_BINS - 1 else f"≥ {low:,}"
        bins.append({"label": label, "counts": {s: table.get((b, s), 0) for s in statuses}})
    rows = [
        {k: (round(v, 1) if isinstance(v, float) else v) for k, v in row.items()} for row in stats.to_dicts()
    ]
    return {"stats": rows, "bins": bins, "step": step, "series": statuses}


def quality_summary(frame: pl.DataFrame) -> dict[str, Any] | None:
    if "quality_score" not in frame.columns:
        return None
    # Benchmark items are scored too but are not training data: leave them out.
    scored = frame.filter(
        pl.col("quality_score").is_not_null()
        & pl.col("quality_score").is_finite()
        & (pl.col("origin") != "benchmark")
    )
    if scored.height == 0:
        return None
    least, most = float(scored["quality_score"].min()), float(scored["quality_score"].max())  # type: ignore[arg-type]
    least, most = min(least, 0.0), max(most, 1.0)  # scores are meant for [0, 1]; show outliers too
    width = (most - least) / QUALITY_BINS or 1.0
    low = pl.col("reasons").list.eval(pl.element().struct.field("code") == "quality.low-score").list.any()
    kept = (
        pl.when(pl.col("status").is_in(OUTPUT_STATUSES))
        .then(pl.lit("kept"))
        .when(low.fill_null(False))
        .then(pl.lit("low score"))
        .otherwise(pl.lit("rejected (other)"))
    )
    binned = (
        scored.select(
            kept.alias("side"),
            ((pl.col("quality_score") - least) / width)
            .floor()
            .cast(pl.Int64)
            .clip(0, QUALITY_BINS - 1)
            .alias("bin"),
        )
        .group_by("bin", "side")
        .len()
    )
    table = {(b, s): n for b, s, n in binned.iter_rows()}
    bins = [
        {"label": f"{least + b * width:.2f}", "counts": {s: table.get((b, s), 0) for s in QUALITY_SERIES}}
        for b in range(QUALITY_BINS)
    ]
    stats = scored.select(
        records=pl.len(),
        mean=pl.col("quality_score").mean(),
        p10=pl.col("quality_score").quantile(0.1, "linear"),
        p50=pl.col("quality_score").quantile(0.5, "linear"),
        p90=pl.col("quality_score").quantile(0.9, "linear"),
    ).row(0, named=True)
    signals = [name for name in frame.columns if name.startswith("q_")]
    return {
        "stats": {k: (round(v, 3) if isinstance(v, float) else v) for k, v in stats.items()},
        "bins": bins,
        "series": list(QUALITY_SERIES),
        "signals": signals,
    }


def group_summary(frame: pl.DataFrame, findings: dict[str, Any]) -> dict[str, Any] | None:
    """Duplicate groups (exact and near share ``cluster_id``): how many of each size, and the largest."""
    if "cluster_id" not in frame.columns:
        return None
    sizes = frame.filter(pl.col("cluster_id").is_not_null()).group_by("cluster_id").agg(size=pl.len())
    buckets = []
    for low, high, label in GROUP_BUCKETS:
        in_bucket = pl.col("size") >= low if high is None else pl.col("size").is_between(low, high)
        buckets.append({"label": label, "groups": sizes.filter(in_bucket).height})
    largest = []
    if sizes.height:
        top = sizes.sort("size", "cluster_id", descending=[True, False]).head(10)
        kept = frame.with_row_index("_row").select(pl.col("_row").cast(pl.Int64), "id", "source", "line")
        for row in top.join(kept, left_on="cluster_id", right_on="_row", how="left").iter_rows(named=True):
            largest.append(
                {"size": row["size"], "id": row["id"], "source": row["source"], "line": row["line"]}
            )
    return {
        "groups": sizes.height,
        "records_in_groups": int(sizes["size"].sum() or 0),
        "buckets": buckets,
        "largest": largest,
        "findings": {k: findings[k] for k in ("exact_dedup", "near_dedup") if k in findings},
    }


def mix_summary(frame: pl.DataFrame, manifest: dict[str, Any]) -> dict[str, Any]:
    """Where each output file's records came from."""
    parts = (
        frame.filter(pl.col("status").is_in(OUTPUT_STATUSES))
        .group_by("status", "origin")
        .len()
        .sort("status", "origin")
    )
    rows = [{"split": s, "origin": o, "records": n} for s, o, n in parts.iter_rows()]
    train = sum(r["records"] for r in rows if r["split"] == "train")
    general = sum(r["records"] for r in rows if r["split"] == "train" and r["origin"] == "general")
    ratio = ((manifest.get("config") or {}).get("mix") or {}).get("ratio")
    return {
        "rows": rows,
        "train": train,
        "general_share": general / train if train else None,
        "ratio": ratio,
        "findings": manifest.get("mix") or {},
    }


def _row_refs(frame: pl.DataFrame, columns: list[str]) -> pl.DataFrame:
    return frame.with_row_index("_row").select("_row", *[c for c in columns if c in frame.columns])


def leakage_rows(frame: pl.DataFrame) -> dict[str, Any]:
    """Every record with a leakage reason (or flag): which protected item it matched, and how."""
    parts = []
    for column in ("reasons", "flags"):
        if column not in frame.columns:
            continue
        hits = (
            _row_refs(frame, ["id", "source", "line", "origin", "status", *LEAK_COLUMNS, column])
            .explode(column)
            .filter(pl.col(column).struct.field("code").str.starts_with("leakage."))
            .select(
                "_row",
                "id",
                "source",
                "line",
                "origin",
                "status",
                pl.col(column).struct.unnest(),
                *[pl.col(c) if c in frame.columns else pl.lit(None, pl.Utf8).alias(c) for c in LEAK_COLUMNS],
            )
        )
        parts.append(hits)
    if not parts:
        return {"total": 0, "rows": [], "by_code": {}}
    hits = pl.concat(parts).unique(["_row", "code"], keep="first").sort("_row")
    by_code = dict(hits.group_by("code").len().sort("code").iter_rows())
    rows = hits.head(TABLE_LIMIT).drop("_row", "stage").to_dicts()
    for row in rows:
        if row["leak_item"] is not None:
            method = f" ({row['leak_method']})" if row["leak_method"] else ""
            name = (
                str(row["leak_source"]).replace("\\", "/").rsplit("/", 1)[-1]
            )  # the detail has the full path
            row["matched"] = f"item {row['leak_item']} of {name}{method}"
        else:
            row["matched"] = f"record {row['ref']}" if row["ref"] else "–"
    return {"total": hits["_row"].n_unique(), "rows": rows, "by_code": by_code}


def worst_rows(frame: pl.DataFrame) -> dict[str, Any]:
    """The lowest-scored valid examples; without scores, a few rejected records per first reason."""
    base = ["id", "source", "line", "origin", "status"]
    if "quality_score" in frame.columns:
        scored = frame.filter(
            pl.col("quality_score").is_not_null()
            & pl.col("dedup_key").is_not_null()
            & (pl.col("origin") != "benchmark")
        )
        # Records at the top score are not "worst" however few the flawed ones are.
        scored = scored.filter(pl.col("quality_score") < pl.col("quality_score").max())
        worst = (
            _row_refs(scored, [*base, "quality_score", "reasons", "flags"])
            .top_k(TABLE_LIMIT // 2, by="quality_score", reverse=True)
            .sort("quality_score", "_row")
        )
        return {"by": "quality_score", "rows": [_worst_row(row) for row in worst.iter_rows(named=True)]}
    first = pl.col("reasons").list.first().struct.field("code")
    # General records the mix did not need are not defects: leave them out of "worst".
    rejected = frame.filter((pl.col("status") == "rejected") & (first != "mix.not-sampled")).with_columns(
        _first=first
    )
    sample = (
        _row_refs(rejected, [*base, "reasons", "_first"])
        .filter(pl.int_range(pl.len()).over("_first") < 3)
        .sort("_first", "_row")
        .head(TABLE_LIMIT)
    )
    return {"by": "first_reason", "rows": [_worst_row(row) for row in sample.iter_rows(named=True)]}


def _worst_row(row: dict[str, Any]) -> dict[str, Any]:
    reasons = row.get("reasons") or []
    return {
        "id": row["id"],
        "source": row["source"],
        "line": row["line"],
        "origin": row["origin"],
        "status": row["status"],
        "quality_score": round(row["quality_score"], 3) if row.get("quality_score") is not None else None,
        "reasons": [r["code"] for r in reasons],
        "message": reasons[0]["message"] if reasons else _flag_text(row.get("flags") or []),
    }


def _flag_text(flags: list[dict[str, Any]]) -> str:
    codes = list(dict.fromkeys(flag["code"] for flag in flags))
    return "flagged: " + ", ".join(codes) if codes else ""


def example_snippets(frame: pl.DataFrame, ids: set[str]) -> dict[str, dict[str, Any]]:
    """The referenced examples, truncated per message, for the report's appendix."""
    if not ids:
        return {}
    rows = with_examples(
        frame.filter(pl.col("id").is_in(sorted(ids))).unique("id", keep="first", maintain_order=True)
    ).select("id", "source", "line", "example", *(["raw"] if "raw" in frame.columns else []))
    found: dict[str, dict[str, Any]] = {}
    for row in rows.iter_rows(named=True):
        messages: list[dict[str, str]] = []
        text = row.get("example")
        if text:
            try:
                parsed = orjson.loads(text)
                raw_messages = parsed.get("messages") if isinstance(parsed, dict) else None
                for message in raw_messages or []:
                    if isinstance(message, dict):
                        messages.append(
                            {"role": str(message.get("role", "?")), "content": _clip(message.get("content"))}
                        )
            except orjson.JSONDecodeError:
                pass
        if not messages:
            messages = [{"role": "raw", "content": _clip(text or row.get("raw") or "")}]
        found[row["id"]] = {"source": row["source"], "line": row["line"], "messages": messages}
    return found


def _clip(content: Any) -> str:
    text = content if isinstance(content, str) else orjson.dumps(content).decode()
    return (
        text
        if len(text) <= SNIPPET_CHARS
        else text[:SNIPPET_CHARS] + f"… ({len(text) - SNIPPET_CHARS:,} more)"
    )


def flag_rows(counts: dict[str, Any], findings: dict[str, Any]) -> list[dict[str, Any]]:
    """Each soft flag with what it means and a few examples, so a reader can judge it."""
    from curate.reasons import describe

    quality = findings.get("quality", {}).get("flags", {})
    rows = []
    for code, n in sorted(counts.get("by_flag", {}).items(), key=lambda item: (-item[1], item[0])):
        examples = [
            {
                "where": f"{x.get('source')}:{x.get('line')}",
                "id": x.get("id"),
                "text": x.get("message", ""),
                "excerpt": (x.get("answer") or "")[:160],
            }
            for x in quality.get(code, {}).get("examples", [])[:3]
        ]
        if code == "dedup.conflicting-answers":
            examples = [
                {
                    "where": ", ".join(x.get("records", [])[:3]),
                    "id": (x.get("ids") or [None])[0],
                    "text": f"{x.get('answers')} different answers",
                    "excerpt": (x.get("prompt") or "")[:160],
                }
                for x in findings.get("near_dedup", {}).get("conflicting_answers", [])[:3]
            ]
        rows.append({"code": code, "records": n, "meaning": describe(code), "examples": examples})
    return rows
