"""Length bias of the pairs: a preference set whose chosen answers are mostly the longer ones
teaches the model to ramble (and one where they are mostly shorter, to clip). Measured in
characters of the answers, over the pairs kept for training (train and eval) and, for
comparison with the input, over every valid input pair. The gate ``chosen_longer_share`` reads
the kept figure; ``identical_pair_rate`` the share of valid input pairs rejected as identical.
"""

from __future__ import annotations

from typing import Any, Final

import numpy as np
import polars as pl

from curate.core.context import BuildContext
from curate.stages.preference.rows import pair_rows, pairs_at

NAME = "length_bias"
PERCENTILES: Final = (5, 25, 50, 75, 95)
# Bins of log2(chosen length / rejected length): halves, from "under a quarter" to "over 4x".
BIN_EDGES: Final = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)
BIN_LABELS: Final = ("<1/4", "1/4-1/2", "1/2-0.7", "0.7-1.4", "1.4-2", "2-4", ">4")


def _chars(messages: list[dict[str, Any]]) -> int:
    return sum(len(m.get("content") or "") for m in messages)


def measure(lengths: np.ndarray) -> dict[str, Any]:
    """Figures for (chosen, rejected) character lengths, one row per pair."""
    n = len(lengths)
    if n == 0:
        return {"pairs": 0}
    chosen, rejected = lengths[:, 0].astype(np.float64), lengths[:, 1].astype(np.float64)
    ratio = (chosen + 1.0) / (rejected + 1.0)  # +1: an empty answer has a finite ratio
    counts, _ = np.histogram(np.log2(ratio), bins=[-np.inf, *BIN_EDGES, np.inf])
    return {
        "pairs": n,
        "chosen_longer_share": round(float((chosen > rejected).mean()), 4),
        "chosen_shorter_share": round(float((chosen < rejected).mean()), 4),
        "same_length_share": round(float((chosen == rejected).mean()), 4),
        "ratio_percentiles": {f"p{p}": round(float(np.percentile(ratio, p)), 3) for p in PERCENTILES},
        "ratio_histogram": dict(zip(BIN_LABELS, map(int, counts), strict=True)),
        "mean_chosen_chars": round(float(chosen.mean()), 1),
        "mean_rejected_chars": round(float(rejected.mean()), 1),
    }


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    valid = pair_rows(frame, pl.col("origin").is_in(["input", "eval"]))
    if not len(valid):
        return frame
    pairs = pairs_at(frame, valid)
    lengths = np.array([[_chars(p.chosen), _chars(p.rejected)] for p in pairs], dtype=np.int64).reshape(-1, 2)
    status = frame["status"].gather(valid).cast(pl.Utf8).to_numpy()
    kept = status == "ok"  # train and eval: the split becomes the status only at the end
    codes = frame["reasons"].gather(valid).list.eval(pl.element().struct.field("code")).to_list()
    identical = sum(1 for c in codes if c and "pref.identical" in c)
    ctx.findings.setdefault("preference", {})[NAME] = {
        "kept": measure(lengths[kept]),
        "input": measure(lengths),
        "valid_pairs": len(valid),
        "identical_pairs": identical,
        "identical_pair_rate": round(identical / len(valid), 4),
    }
    return frame
