"""The texts the signals read, decoded once per build from the ``example`` column.

The signals run over temporary columns (``_q_*``) so the JSON is parsed once rather than once
per signal; ``drop_texts`` removes them before the frame leaves the stage.
"""

from __future__ import annotations

from typing import Final

import polars as pl

# Like frame.MESSAGES_DTYPE, plus tool_calls: an assistant turn that only calls a tool has no
# text by design and must not count as an empty answer.
_DTYPE: Final = pl.Struct(
    {
        "messages": pl.List(
            pl.Struct(
                {"role": pl.Utf8, "content": pl.Utf8, "tool_calls": pl.List(pl.Struct({"id": pl.Utf8}))}
            )
        )
    }
)

MESSAGES = "_q_messages"
PROMPT = "_q_prompt"  # every user turn, joined
ANSWER = "_q_answer"  # every assistant turn, joined
LAST_ANSWER = "_q_last_answer"  # the final assistant turn (where a cut-off shows)
LAST_LINE = "_q_last_line"  # its last non-blank line
ANSWER_LOWER = "_q_answer_lower"  # lower-cased once: phrase patterns match it without (?i)
PROMPT_LOWER = "_q_prompt_lower"
ALL_TEXT = "_q_all_text"  # every message, system and tool included (PII can be anywhere)
ANSWER_TURNS = "_q_answer_turns"  # assistant turns with text (tool-call-only turns left out)
# Rows decoded at a time: json_decode's working memory is about 5x the JSON it decodes (118 MB
# for 50,000 Alpaca rows' 22 MB), while its cost per call is small.
DECODE_ROWS: Final = 5_000


def _contents(role: str | None) -> pl.Expr:
    messages = pl.col(MESSAGES)
    if role is None:
        return messages.list.eval(pl.element().struct.field("content").fill_null(""))
    return messages.list.eval(
        pl.element().filter(pl.element().struct.field("role") == role).struct.field("content").fill_null("")
    )


def _decoded(examples: pl.Series) -> pl.Series:
    """The messages of each example JSON, decoded ``DECODE_ROWS`` at a time."""
    parts = [
        examples.slice(at, DECODE_ROWS).str.json_decode(_DTYPE).struct.field("messages")
        for at in range(0, max(len(examples), 1), DECODE_ROWS)
    ]
    return pl.concat(parts, rechunk=False).alias(MESSAGES)


def with_texts(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the decoded text columns; null where the row holds no canonical example. The example
    JSON and the decoded messages are dropped once read: nothing after needs them."""
    canonical = pl.col("example")
    if frame["dedup_key"].null_count():  # masking copies every text: only when some row needs it
        canonical = pl.when(pl.col("dedup_key").is_not_null()).then(canonical)
    frame = frame.with_columns(_decoded(frame.select(canonical).to_series())).drop("example")
    is_text_turn = (pl.element().struct.field("role") == "assistant") & ~(
        pl.element().struct.field("tool_calls").list.len().fill_null(0) > 0
    )
    frame = frame.with_columns(
        _contents("user").list.join("\n").alias(PROMPT),
        _contents("assistant").list.join("\n").alias(ANSWER),
        _contents("assistant").list.last().alias(LAST_ANSWER),
        _contents(None).list.join("\n").alias(ALL_TEXT),
        pl.col(MESSAGES)
        .list.eval(pl.element().filter(is_text_turn).struct.field("content").fill_null(""))
        .alias(ANSWER_TURNS),
    )
    frame = frame.with_columns(
        pl.col(LAST_ANSWER).str.strip_chars_end().str.split("\n").list.last().alias(LAST_LINE),
        pl.col(ANSWER).str.to_lowercase().alias(ANSWER_LOWER),
        pl.col(PROMPT).str.to_lowercase().alias(PROMPT_LOWER),
    )
    return frame.drop(MESSAGES)


def drop_texts(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop([c for c in frame.columns if c.startswith("_q_")])
