"""Leakage on both answers of a pair: chat leakage reads a pair's prompt and chosen answer (its
``messages``); ``both_sides`` runs it a second time with each pair's rejected answer in place of
the chosen one, so a benchmark answer hidden in a rejected answer is caught too."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import polars as pl

from curate.core.context import BuildContext
from curate.stages.preference.rows import pair_rows, pairs_at, side_examples

Stage = Callable[[pl.DataFrame, BuildContext], pl.DataFrame]
_LEAK = ("leak_source", "leak_item", "leak_method", "leak_span")


def both_sides(stage: Stage, name: str) -> Stage:
    def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
        frame = stage(frame, ctx)
        rows = pair_rows(frame, pl.col("status") == "ok")
        if not len(rows) or not ctx.config.leakage.enabled:
            return frame
        first: dict[str, Any] = ctx.findings.get(name, {})
        swapped_examples = frame["example"].scatter(rows, side_examples(pairs_at(frame, rows), "rejected"))
        swapped = stage(frame.with_columns(swapped_examples.alias("example")), ctx)
        second: dict[str, Any] = ctx.findings.get(name, {})
        newly = (swapped["status"] == "rejected") & (frame["status"] != "rejected")
        frame = frame.with_columns(
            status=swapped["status"],
            reasons=swapped["reasons"],
            **{c: pl.when(pl.Series(newly)).then(swapped[c]).otherwise(frame[c]) for c in _LEAK},
        )
        ctx.findings[name] = {
            **first,
            "leaked": first.get("leaked", 0) + second.get("leaked", 0),
            "leaked_by_rejected_answer": second.get("leaked", 0),
            "matches": first.get("matches", []) + second.get("matches", []),
        }
        return frame

    return run
