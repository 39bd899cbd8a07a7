"""The numbers behind report.md and report.html, computed once so both say the same thing.

Everything is aggregated in polars; only the few rows a table shows (worst examples, leakage
matches) are decoded in Python, so a report over a million-row frame stays fast. The queries are
lazy so that each reads only its columns: an eager ``filter`` or ``group_by`` copies the whole
frame. A column or
finding a build lacks (no quality stage, no leakage stage) gives an empty section, not an error.
"""

from __future__ import annotations

import math
from typing import Any, Final

import orjson
import polars as pl

from curate.core.reasons import describe
from curate.gates.rules import leakage_checked, leakage_methods_note
from curate.ingest.store import with_examples
from curate.report.preference import pair_summary

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
LEAK_COLUMNS: Final = ("leak_source", "leak_item", "leak_method", "leak_span", "leak_label")


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
        # General rows the mix did not need: counted apart from the rejections people read.
        "not_sampled": (counts.get("by_first_reason") or {}).get("mix.not-sampled", 0),
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
            "methods": leakage_methods_note(
                (manifest.get("findings", {}).get("leakage") or {}).get("methods")
            ),
        },
        "worst": worst_rows(frame),
        "timings": manifest.get("timings", {}),
        "tokenizer": manifest.get("tokenizer"),
        "preference": pair_summary(manifest.get("findings", {})),
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
    # Lazy, so only these two columns are copied (the eager filter copied all).
    kept = (
        frame.lazy()
        .select("status", "tokens")
        .filter(pl.col("status").is_in(OUTPUT_STATUSES) & pl.col("tokens").is_not_null())
        .collect()
    )
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
    # contains on the codes, not any() on a list of comparisons: a third of the memory.
    codes = pl.col("reasons").list.eval(pl.element().struct.field("code"))
    low = codes.list.contains("quality.low-score")
    # The side as its index in QUALITY_SERIES: far lighter than a string per row.
    side = (
        pl.when(pl.col("status").is_in(OUTPUT_STATUSES))
        .then(pl.lit(0, pl.UInt8))
        .when(low.fill_null(False))
        .then(pl.lit(1, pl.UInt8))
        .otherwise(pl.lit(2, pl.UInt8))
    )
    # Benchmark items are scored too but are not training data: leave them out. Only the score
    # and its side are computed, then filtered: the eager filter copied every column, a filter
    # before the select still copied the reasons.
    scored = (
        frame.lazy()
        .select(
            "quality_score",
            side.alias("side"),
            (
                pl.col("quality_score").is_not_null()
                & pl.col("quality_score").is_finite()
                & (pl.col("origin") != "benchmark")
            ).alias("_scored"),
        )
        .filter("_scored")
        .drop("_scored")
        .collect()
    )
    if scored.height == 0:
        return None
    least, most = float(scored["quality_score"].min()), float(scored["quality_score"].max())  # type: ignore[arg-type]
    least, most = min(least, 0.0), max(most, 1.0)  # scores are meant for [0, 1]; show outliers too
    width = (most - least) / QUALITY_BINS or 1.0
    binned = (  # lazy: the eager two-key group_by took +70 MB
        scored.lazy()
        .select(
            "side",
            ((pl.col("quality_score") - least) / width)
            .floor()
            .cast(pl.Int64)
            .clip(0, QUALITY_BINS - 1)
            .alias("bin"),
        )
        .group_by("bin", "side")
        .len()
        .collect()
    )
    table = {(b, QUALITY_SERIES[s]): n for b, s, n in binned.iter_rows()}
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
    # Lazy: the eager filter copied every column.
    sizes = (
        frame.lazy()
        .select("cluster_id")
        .filter(pl.col("cluster_id").is_not_null())
        .group_by("cluster_id")
        .agg(size=pl.len())
        .collect()
    )
    buckets = []
    for low, high, label in GROUP_BUCKETS:
        in_bucket = pl.col("size") >= low if high is None else pl.col("size").is_between(low, high)
        buckets.append({"label": label, "groups": sizes.filter(in_bucket).height})
    largest = []
    if sizes.height:
        top = sizes.sort("size", "cluster_id", descending=[True, False]).head(10)
        # Only the top groups' members are read: joining every row copied them all. A group is
        # named by content; its kept record is the member no dedup code rejected.
        dropped = (
            pl.col("reasons")
            .list.eval(pl.element().struct.field("code").str.starts_with("dedup."))
            .list.any()
        )
        kept = (
            frame.lazy()
            .filter(pl.col("cluster_id").is_in(top["cluster_id"].implode()))
            .select("cluster_id", "id", "source", "line", dropped.fill_null(False).alias("_dropped"))
            .sort("_dropped", maintain_order=True)
            .unique("cluster_id", keep="first", maintain_order=True)
        )
        joined = top.lazy().join(kept, on="cluster_id", how="left", maintain_order="left")
        for row in joined.collect().iter_rows(named=True):
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
        frame.lazy()
        .filter(pl.col("status").is_in(OUTPUT_STATUSES))
        .group_by("status", "origin")
        .len()
        .sort("status", "origin")
        .collect()
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


def _row_refs(frame: pl.LazyFrame, columns: list[str]) -> pl.LazyFrame:
    present = frame.collect_schema().names()
    return frame.with_row_index("_row").select("_row", *[c for c in columns if c in present])


def _gather(frame: pl.DataFrame, rows: pl.Series, columns: list[str]) -> pl.DataFrame:
    """``columns`` (those the frame has) of the few ``rows``, in their order.

    A filter and a join, not ``gather``: gathering from a frame of several chunks rechunked the
    whole columns first.
    """
    present = [c for c in columns if c in frame.columns]
    picked = (
        frame.lazy().with_row_index("_at").filter(pl.col("_at").is_in(rows.implode())).select("_at", *present)
    )
    order = rows.to_frame("_at").lazy()
    return order.join(picked, on="_at", how="left", maintain_order="left").drop("_at").collect()


def leakage_rows(frame: pl.DataFrame) -> dict[str, Any]:
    """Every record with a leakage reason (or flag): which protected item it matched, and how."""
    parts = []
    for column in ("reasons", "flags"):
        if column not in frame.columns:
            continue
        # Only the records with a leakage code are exploded: exploding every record's reasons
        # (messages included) cost far more.
        leaked = pl.col(column).list.eval(pl.element().struct.field("code").str.starts_with("leakage."))
        hits = (
            _row_refs(frame.lazy(), ["id", "source", "line", "origin", "status", *LEAK_COLUMNS, column])
            .filter(leaked.list.any())
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
    found = pl.concat(parts).collect().unique(["_row", "code"], keep="first").sort("_row")
    by_code = dict(found.group_by("code").len().sort("code").iter_rows())
    rows = found.head(TABLE_LIMIT).drop("_row", "stage").to_dicts()
    for row in rows:
        if row["leak_label"] is not None and "split from" in row["leak_label"]:
            # The auto-split eval set: a row of the input, named by its file and line.
            method = f" ({row['leak_method']})" if row["leak_method"] else ""
            where = str(row["leak_label"]).replace("\\", "/")
            head, _, tail = where.partition("split from ")
            row["matched"] = f"{head}split from {tail.rsplit('/', 1)[-1]}{method}"
        elif row["leak_item"] is not None:
            method = f" ({row['leak_method']})" if row["leak_method"] else ""
            name = (
                str(row["leak_source"]).replace("\\", "/").rsplit("/", 1)[-1]
            )  # the detail has the full path
            row["matched"] = f"item {row['leak_item']} of {name}{method}"
        else:
            row["matched"] = f"record {row['ref']}" if row["ref"] else "–"
    return {"total": found["_row"].n_unique(), "rows": rows, "by_code": by_code}


def worst_rows(frame: pl.DataFrame) -> dict[str, Any]:
    """The lowest-scored valid examples; without scores, a few rejected records per first reason.

    The rows are chosen on their row number and key alone, then only they are read in full:
    choosing among the candidates' reasons and flags too cost far more memory.
    """
    base = ["id", "source", "line", "origin", "status"]
    if "quality_score" in frame.columns:
        rows = _lowest_scored(frame.lazy().with_row_index("_at"))
        worst = _gather(frame, rows, [*base, "quality_score", "reasons", "flags"])
        return {"by": "quality_score", "rows": [_worst_row(row) for row in worst.iter_rows(named=True)]}
    sample = _gather(frame, _first_reason_sample(frame.lazy().with_row_index("_at")), [*base, "reasons"])
    return {"by": "first_reason", "rows": [_worst_row(row) for row in sample.iter_rows(named=True)]}


def _lowest_scored(frame: pl.LazyFrame) -> pl.Series:
    """Row numbers (``_at``) of the lowest-scored valid examples, lowest first."""
    scored = frame.filter(
        pl.col("quality_score").is_not_null()
        & pl.col("dedup_key").is_not_null()
        & (pl.col("origin") != "benchmark")
    )
    # Records at the top score are not "worst" however few the flawed ones are.
    scored = scored.filter(pl.col("quality_score") < pl.col("quality_score").max())
    # top_k on the collected frame: among tied scores the eager top_k and the lazy one pick
    # different rows, and the report has always shown the eager one's.
    candidates = scored.select("_at", "quality_score").collect()
    return candidates.top_k(TABLE_LIMIT // 2, by="quality_score", reverse=True).sort("quality_score", "_at")[
        "_at"
    ]


def _first_reason_sample(frame: pl.LazyFrame) -> pl.Series:
    """Row numbers (``_at``) of the first three rejected records per first reason."""
    first = pl.col("reasons").list.first().struct.field("code")
    # General records the mix did not need are not defects: leave them out of "worst".
    return (
        frame.filter((pl.col("status") == "rejected") & (first != "mix.not-sampled"))
        .select("_at", first.alias("_first"))
        .filter(pl.int_range(pl.len()).over("_first") < 3)
        .sort("_first", "_at")
        .head(TABLE_LIMIT)
        .collect()["_at"]
    )


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
        frame.lazy()
        .filter(pl.col("id").is_in(sorted(ids)))
        .unique("id", keep="first", maintain_order=True)
        .collect()
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
