"""train/eval lines of preference pairs: TRL's conversational preference format
(``{"id", "prompt", "chosen", "rejected", "score_*"?, "meta"?}``), which ``datasets.load_dataset
("json")`` and TRL's DPOTrainer read as they are."""

from __future__ import annotations

import polars as pl

from curate.core.pairs import PAIR_FORMATS, to_trl


def pair_lines(rows: pl.DataFrame, chat_lines: pl.Series) -> pl.Series:
    """``chat_lines`` with the lines of pair rows replaced by their TRL form."""
    if "format" not in rows.columns:
        return chat_lines
    pairs = rows.select(pl.col("format").cast(pl.Utf8).is_in(list(PAIR_FORMATS)).fill_null(False)).to_series()
    if not pairs.any():
        return chat_lines
    lines = chat_lines.to_list()
    ids, examples = rows["id"].to_list(), rows["example"].to_list()
    for i in pairs.arg_true().to_list():
        lines[i] = to_trl(ids[i], examples[i]).decode()
    return pl.Series(chat_lines.name, lines, dtype=pl.Utf8)
