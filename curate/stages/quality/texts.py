"""The texts the signals read, decoded once per build from the examples (``with_messages``).

The signals run over temporary columns (``_q_*``) so the JSON is parsed once rather than once
per signal; ``drop_texts`` removes them before the frame leaves the stage.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from curate.ingest.store import with_examples

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
LAST_LINE = "_q_last_line"  # its last non-blank line: made for the rows that need it (last_line)
ANSWER_LOWER = "_q_answer_lower"  # lower-cased once: phrase patterns match it without (?i)
PROMPT_LOWER = "_q_prompt_lower"
ALL_TEXT = "_q_all_text"  # every message, system and tool included (PII can be anywhere)
ANSWER_TURNS = "_q_answer_turns"  # assistant turns with text (tool-call-only turns left out)
# Rows decoded at a time: json_decode's working memory is several times the JSON it decodes,
# while its cost per call is small.
DECODE_ROWS: Final = 5_000


def _contents(turns: pl.Expr | None = None) -> pl.Expr:
    """Each row's message contents ("" for none), or those of the messages where ``turns`` (an
    expression over one message) holds. The turns are picked by position (``list.gather``),
    which keeps pointing into the decoded text: a ``filter`` copied each role's text, and the
    texts of a slice were then held two or three times over."""
    messages = pl.col(MESSAGES)
    contents = messages.list.eval(pl.element().struct.field("content").fill_null(""))
    if turns is None:
        return contents
    return contents.list.gather(messages.list.eval(turns.arg_true()))


def _role(role: str) -> pl.Expr:
    return pl.element().struct.field("role") == role


def _decoded(frame: pl.DataFrame) -> pl.Series:
    """The messages of each row's example JSON, read (where the input file holds it) and
    decoded ``DECODE_ROWS`` at a time: reading a whole slice's JSON held it with about three
    times its size of temporaries, beside the other slice's texts."""
    parts = []
    for at in range(0, max(frame.height, 1), DECODE_ROWS):
        piece = with_examples(frame.slice(at, DECODE_ROWS))
        canonical = pl.col("example")
        if piece["dedup_key"].null_count():  # masking copies every text: only when some row needs it
            canonical = pl.when(pl.col("dedup_key").is_not_null()).then(canonical)
        examples = piece.select(canonical).to_series()
        del piece
        parts.append(examples.str.json_decode(_DTYPE).struct.field("messages"))
    return pl.concat(parts, rechunk=False).alias(MESSAGES)


def with_texts(frame: pl.DataFrame) -> pl.DataFrame:
    """Add the decoded text columns; null where the row holds no canonical example. The example
    JSON and the decoded messages are dropped once read: nothing after needs them."""
    return texts_of_messages(with_messages(frame))


def with_messages(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame with ``MESSAGES`` (null where the row holds no canonical example) in place of
    the example JSON, read from the input files where the frame leaves it there
    (curate.ingest.store). ``with_texts`` in two steps, so that a caller holding the frame can
    let the messages go before the signals run: ``frame = with_messages(frame)`` first."""
    return frame.with_columns(_decoded(frame)).drop("example")


def texts_of_messages(frame: pl.DataFrame) -> pl.DataFrame:
    """The text columns of a frame from ``with_messages``, which drops ``MESSAGES``."""
    is_text_turn = _role("assistant") & ~(pl.element().struct.field("tool_calls").list.len().fill_null(0) > 0)
    turns = frame.select(
        _contents(_role("user")).alias(PROMPT),
        _contents(_role("assistant")).alias(ANSWER),
        _contents(None).list.join("\n").alias(ALL_TEXT),
        _contents(is_text_turn).alias(ANSWER_TURNS),
    )
    frame = frame.drop(MESSAGES).with_columns(
        # The columns but ALL_TEXT share the decoded text: a join copies, so a row's only turn
        # is taken as it is (most rows of most data sets have one prompt and one answer).
        _joined(turns[PROMPT]),
        _joined(turns[ANSWER]),
        turns[ANSWER].list.last().alias(LAST_ANSWER),
        turns[ALL_TEXT],
        turns[ANSWER_TURNS],
    )
    del turns
    return frame.with_columns(
        pl.col(ANSWER).str.to_lowercase().alias(ANSWER_LOWER),
        pl.col(PROMPT).str.to_lowercase().alias(PROMPT_LOWER),
    )


def _joined(turns: pl.Series) -> pl.Series:
    """``turns.list.join("\\n")``, sharing the text of single turns instead of copying it."""
    single = (turns.list.len() == 1).fill_null(False)
    joined = turns.list.first()  # a view of the turn's text; replaced where it is not the join
    others = ~single
    if others.any():
        joined = joined.scatter(others.arg_true(), turns.filter(others).list.join("\n"))
    return joined


def last_line() -> pl.Expr:
    """``LAST_LINE``: the last answer's last line, trailing white space stripped. A copy of
    most of the answer, so it is made on the rows a signal reads it for, not kept for every
    row (line_kernels.last_line finds it for the cheap tests)."""
    return pl.col(LAST_ANSWER).str.strip_chars_end().str.split("\n").list.last().alias(LAST_LINE)


def drop_texts(frame: pl.DataFrame) -> pl.DataFrame:
    return frame.drop([c for c in frame.columns if c.startswith("_q_")])
