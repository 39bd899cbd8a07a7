"""Pair checks: what makes a pair useless for preference training even when each side is fine.

``run`` (before quality): ``pref.identical``, chosen equals rejected after normalisation (the
DPO loss then sits at ln 2 and teaches nothing); ``pref.tie``, both scores given and equal.
``run_answers`` (after quality, which judged the chosen answer): the same quality signals
applied to the rejected answer; an empty, placeholder or garbage rejected answer makes the pair
trivially easy (``pref.rejected-answer``). Other flags on a rejected answer (a refusal, a
truncation) are what rejected answers are for, and do not count.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import polars as pl

from curate.core.context import BuildContext
from curate.core.frame import REASONS_DTYPE, reject
from curate.core.pairs import normalised
from curate.stages.preference.rows import pair_rows, pairs_at, side_examples

NAME = "pair_checks"
ANSWERS_NAME = "pair_answers"
# Quality flags that make a rejected answer worthless as a negative.
REJECTED_SIDE_CODES: Final = ("quality.empty-answer", "quality.placeholder", "quality.garbage")


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    rows = pair_rows(frame, pl.col("status") == "ok")
    if not len(rows):
        return frame
    pairs = pairs_at(frame, rows)
    identical = np.array([normalised(p.chosen) == normalised(p.rejected) for p in pairs], dtype=bool)
    tie = np.array(
        [
            p.score_chosen is not None and p.score_rejected is not None and p.score_chosen == p.score_rejected
            for p in pairs
        ],
        dtype=bool,
    )
    frame = reject(
        frame,
        pl.lit(_at(frame.height, rows[identical])),
        "pref.identical",
        "chosen and rejected are the same answer",
    )
    still = _at(frame.height, rows[tie & ~identical])
    return reject(frame, pl.lit(still), "pref.tie", "score_chosen equals score_rejected")


def _at(n: int, rows: np.ndarray) -> pl.Series:
    mask = np.zeros(n, dtype=bool)
    mask[rows] = True
    return pl.Series(mask)


def run_answers(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    """The quality signals of each usable pair's rejected answer (its prompt beside it)."""
    config = ctx.config.quality
    rows = pair_rows(frame, pl.col("status") == "ok")
    if not config.enabled or not len(rows):
        return frame
    from curate.stages.quality.stage import assess

    side = pl.DataFrame(
        {
            "id": frame["id"].gather(rows),
            "status": pl.Series(["ok"] * len(rows)),
            "reasons": frame["reasons"].gather(rows),
            "flags": pl.Series([[]] * len(rows), dtype=REASONS_DTYPE),
            "example": side_examples(pairs_at(frame, rows), "rejected"),
            "dedup_key": frame["dedup_key"].gather(rows),
            "origin": frame["origin"].gather(rows),
        }
    )
    judged = assess(side, config)["flags"].list.eval(pl.element().struct.field("code")).to_list()
    found = [next((c for c in REJECTED_SIDE_CODES if c in (codes or [])), None) for codes in judged]
    hit = np.array([code is not None for code in found], dtype=bool)
    messages = [f"the rejected answer is flagged {code}" if code else None for code in found]
    frame = frame.with_columns(_message=pl.Series(_spread(frame.height, rows, messages), dtype=pl.Utf8))
    frame = reject(frame, pl.lit(_at(frame.height, rows[hit])), "pref.rejected-answer", pl.col("_message"))
    ctx.findings.setdefault("preference", {})["rejected_answer_flags"] = {
        code: int(sum(1 for f in found if f == code)) for code in REJECTED_SIDE_CODES
    }
    return frame.drop("_message")


def _spread(n: int, rows: np.ndarray, values: list[str | None]) -> list[str | None]:
    out: list[str | None] = [None] * n
    for row, value in zip(rows.tolist(), values, strict=True):
        out[row] = value
    return out
