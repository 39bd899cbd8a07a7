"""Quality: score every example, flag its defects, reject the low scorers.

Recipe, one slice of rows at a time: decode the texts once, compute the ``q_*`` signal columns,
turn them into flag strengths and one ``quality_score``, mark flags, then reject; findings are
merged across slices. Runs before dedup so the kept copy of a duplicate group is the best one.
Benchmark rows ("protected") get signals and a score but are never flagged or rejected: they are
not ours to curate. Rows already rejected (e.g. too long) are flagged, for the reviewer, but not
rejected twice.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Final

import polars as pl

from curate.core.config import QualitySection
from curate.core.context import BuildContext
from curate.core.frame import flag, reject
from curate.core.reasons import describe
from curate.stages.quality import score, signals
from curate.stages.quality.texts import ANSWER, drop_texts, texts_of_messages, with_messages

NAME = "quality"
EXAMPLES_PER_FLAG = 5
_MARKED = ("flags", "reasons", "status")  # the columns flagging and rejecting write
# Rows scored at a time. Every per-row step (decoded texts, words, n-grams, signals, score, flags)
# runs on one slice, so only the running slices' intermediates exist at once: over the whole
# frame they took several times the frame's memory on a million rows. Findings are merged across
# slices. A slice also has a fixed CPU cost whatever its size (regexes built, flags written, small
# steps), so slices much smaller than this cost more CPU; two run at once.
SLICE_ROWS = 25_000
SLICES_AT_ONCE: Final = min(2, os.cpu_count() or 1)


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    config = ctx.config.quality
    if not config.enabled:
        return frame
    with ctx.task("scoring quality", len(frame)) as task:
        parts: list[pl.DataFrame] = []
        partials: list[dict[str, Any]] = []
        starts = range(0, max(frame.height, 1), SLICE_ROWS)
        # Slices side by side: much of a slice's time is short polars and compiled steps, each
        # on one core, that leave the others idle. Only the running slices' intermediates
        # exist at once; a finished one is just its written columns.
        with ThreadPoolExecutor(max_workers=SLICES_AT_ONCE) as pool:
            for part, partial in pool.map(lambda start: _score_slice(frame, start, config), starts):
                parts.append(part)
                partials.append(partial)
                ctx.progress.advance(task, part.height)
        frame = frame.with_columns(pl.concat(parts, how="vertical", rechunk=False).get_columns())
        ctx.findings[NAME] = findings(partials, frame["quality_score"], config)
    return frame


def _score_slice(
    frame: pl.DataFrame, start: int, config: QualitySection
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """One slice's columns the stage adds or writes (the rest of the frame is passed through
    whole rather than cut into slices and glued back), and its share of the findings."""
    # Big builds keep most example text in the input files: each slice reads its own, a few
    # thousand rows at a time as it decodes them (texts.with_messages).
    return score_batch(frame.slice(start, SLICE_ROWS), config)


def score_batch(rows: pl.DataFrame, config: QualitySection) -> tuple[pl.DataFrame, dict[str, Any]]:
    """The per-record work of the stage over one batch of rows (a slice here, a block under the
    Ray engine): the columns it adds or writes, and the batch's share of the findings."""
    part = assess(rows, config)
    written = [c for c in drop_texts(part).columns if c in _MARKED or c not in rows.columns]
    return part.select(written), _slice_findings(part)


def assess(frame: pl.DataFrame, config: QualitySection) -> pl.DataFrame:
    """Signals, score, flags and rejections; leaves the ``_q_*`` working columns for findings."""
    # One step a statement: each frame a step replaces is freed then (the messages before the
    # signals run).
    frame = with_messages(frame)
    frame = texts_of_messages(frame)
    frame = signals.compute(frame, config)
    frame = frame.with_columns(score.strengths(config)).with_columns(score.score(config))
    curatable = pl.col(ANSWER).is_not_null() & (pl.col("status") != "protected")
    flagged = pl.any_horizontal(score.flagged(rule) for rule in score.RULES)
    touched = curatable & (flagged | (pl.col("quality_score") < config.min_score))
    return _on_rows(frame, touched, lambda rows: _mark(rows, config))


def _mark(rows: pl.DataFrame, config: QualitySection) -> pl.DataFrame:
    """Flag, then reject, rows that are curatable and carry at least one flag."""
    # Each flag() rewrites the flags column: only rules that fire on some row, found in one pass.
    fires = rows.select(score.flagged(rule).any().alias(rule.code) for rule in score.RULES).row(0)
    fired = [rule for rule, fires_here in zip(score.RULES, fires, strict=True) if fires_here]
    for rule in fired:
        rows = flag(rows, score.flagged(rule), rule.code, rule.message(config))
    still_ok = pl.col("status") == "ok"
    for rule in fired:
        if rule.code in config.reject_flags:
            rows = reject(rows, still_ok & score.flagged(rule), rule.code, rule.message(config))
    low = still_ok & (pl.col("quality_score") < config.min_score)
    return reject(rows, low, "quality.low-score", _low_score_message(config))


def _on_rows(
    frame: pl.DataFrame, mask: pl.Expr, change: Callable[[pl.DataFrame], pl.DataFrame]
) -> pl.DataFrame:
    """Apply ``change`` to the rows where ``mask`` holds, keeping row order and every row.

    Flag messages quote answers and rebuild list columns; doing that for the few flagged rows
    rather than the whole frame made the stage several times faster on Alpaca. Only the columns
    marking changes are taken back, so the others (the examples above all) are not copied.
    """
    picked = frame.select(mask.fill_null(False)).to_series()
    if not picked.any():
        return frame
    indexed = frame.with_row_index("_q_row")
    changed = change(indexed.filter(picked)).select("_q_row", *_MARKED)
    rest = indexed.select("_q_row", *_MARKED).filter(~picked)  # not the texts: most rows are here
    marked = pl.concat([changed, rest], how="vertical").sort("_q_row")
    return frame.with_columns(marked.get_column(column) for column in _MARKED)


def _low_score_message(config: QualitySection) -> pl.Expr:
    """Which signals took the score down: flagged ones by code, ramps short of their threshold
    marked as near it (a row can fail on several near-misses without carrying a flag)."""
    parts = [
        pl.when(score.flagged(rule))
        .then(pl.lit(rule.code))
        .when(pl.col(f"_q_s_{rule.weight}") > 0)
        .then(pl.lit(f"{rule.code} (near threshold)"))
        for rule in score.RULES
    ]
    return pl.format(
        "score {} below {}: {}",
        pl.col("quality_score").round(2),
        pl.lit(config.min_score),
        pl.concat_str(parts, separator=", ", ignore_nulls=True),
    )


def _slice_findings(frame: pl.DataFrame) -> dict[str, Any]:
    """One slice's share of the findings: counts and its first examples (in row order), per flag
    and for low scores. Needs the slice's texts, so it runs before they are dropped."""
    flag_rows = (
        frame.filter(pl.col("flags").list.len() > 0)
        .select("id", "source", "line", "status", "flags", pl.col(ANSWER).str.head(200).alias("answer"))
        .with_row_index("_row")
        .explode("flags")
        .drop_nulls("flags")
        .unnest("flags")
        .filter(pl.col("stage") == NAME)
    )
    per_flag: dict[str, Any] = {}
    for rule in score.RULES:
        rows = flag_rows.filter(pl.col("code") == rule.code).sort("_row")
        per_flag[rule.code] = {
            "count": rows.height,
            "rejected": rows.filter(pl.col("status") == "rejected").height,
            "examples": rows.head(EXAMPLES_PER_FLAG)
            .select("id", "source", "line", "message", "answer")
            .to_dicts(),
        }
    low = frame.filter(
        pl.col("reasons").list.eval(pl.element().struct.field("code") == "quality.low-score").list.any()
    )
    low_examples = (
        low.head(EXAMPLES_PER_FLAG)
        .select(
            "id",
            "source",
            "line",
            pl.col(ANSWER).str.head(200).alias("answer"),
            pl.col("quality_score").round(4),
        )
        .to_dicts()
    )
    return {"flags": per_flag, "low_count": low.height, "low_examples": low_examples}


def findings(partials: list[dict[str, Any]], scores: pl.Series, config: QualitySection) -> dict[str, Any]:
    """Per-flag counts, meanings and example rows for the manifest and the report, merged from
    the slices' shares (examples: the first ones in row order) and the whole score column."""
    scored = scores.drop_nulls()
    per_flag: dict[str, Any] = {}
    for rule in score.RULES:
        shares = [partial["flags"][rule.code] for partial in partials]
        per_flag[rule.code] = {
            "meaning": describe(rule.code),
            "weight": getattr(config.weights, rule.weight),
            "count": sum(share["count"] for share in shares),
            "rejected": sum(share["rejected"] for share in shares),
            "examples": [e for share in shares for e in share["examples"]][:EXAMPLES_PER_FLAG],
        }
    return {
        "min_score": config.min_score,
        "reject_flags": list(config.reject_flags),
        "scored": scored.len(),
        "score_mean": _round(scored.mean()),
        "score_p10": _round(scored.quantile(0.1)),
        "score_median": _round(scored.median()),
        "low_score": {
            "meaning": describe("quality.low-score"),
            "count": sum(partial["low_count"] for partial in partials),
            "examples": [e for partial in partials for e in partial["low_examples"]][:EXAMPLES_PER_FLAG],
        },
        "flags": per_flag,
    }


def _round(value: Any) -> float | None:
    return None if value is None else round(float(value), 4)
