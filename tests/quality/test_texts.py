"""The text columns the signals read hold what their definitions say, whatever way they are made:
turns picked by position and single turns taken as they are give what filtering each message
by role and joining gives."""

from __future__ import annotations

from pathlib import Path

import polars as pl
from polars.testing import assert_series_equal

from curate.ingest.store import with_examples
from curate.stages.quality import texts
from tests.quality.helpers import chat, frame_of

QUESTION = "Which plan suits a family of four?"


def _plain(role: str) -> pl.Expr:
    """A role's message contents, "" for none, by filtering the messages."""
    message = pl.element()
    picked = message.filter(message.struct.field("role") == role).struct.field("content").fill_null("")
    return pl.col(texts.MESSAGES).list.eval(picked)


def test_turn_texts_equal_filtered_and_joined_turns(tmp_path: Path) -> None:
    function = {"name": "lookup_order", "arguments": '{"order_id": "LG-1"}'}
    call = {
        "role": "assistant",
        "content": None,
        "tool_calls": [{"id": "c1", "type": "function", "function": function}],
    }
    records = [
        chat(QUESTION, "The Family plan."),
        chat(QUESTION, "Family.", "It costs 12 a month.", system="You are a support agent."),
        {
            "messages": [
                {"role": "user", "content": QUESTION},
                call,
                {"role": "tool", "tool_call_id": "c1", "content": "{}"},
                {"role": "assistant", "content": "Done."},
            ]
        },
        {"messages": [{"role": "user", "content": QUESTION}]},  # no answer: not a canonical example
        "not an object",
    ]
    decoded = texts.with_messages(with_examples(frame_of(tmp_path, records)))
    made = texts.texts_of_messages(decoded)
    tool_call_only = pl.element().struct.field("tool_calls").list.len().fill_null(0) > 0
    is_text_turn = (pl.element().struct.field("role") == "assistant") & ~tool_call_only
    expected = decoded.select(
        _plain("user").list.join("\n").alias(texts.PROMPT),
        _plain("assistant").list.join("\n").alias(texts.ANSWER),
        _plain("assistant").list.last().alias(texts.LAST_ANSWER),
        pl.col(texts.MESSAGES)
        .list.eval(pl.element().filter(is_text_turn).struct.field("content").fill_null(""))
        .alias(texts.ANSWER_TURNS),
    )
    for column in expected.columns:
        assert_series_equal(made[column], expected[column], check_exact=True)
    assert made[texts.ANSWER].to_list()[:3] == [
        "The Family plan.",
        "Family.\nIt costs 12 a month.",
        "\nDone.",
    ]
    assert made[texts.ANSWER].to_list()[3:] == made[texts.LAST_ANSWER].to_list()[3:] == [None, None]
    # The last answer ends the answer: the truncation test reads it there (signals._answer_reads).
    ends = made.select(pl.col(texts.ANSWER).str.ends_with(pl.col(texts.LAST_ANSWER))).to_series()
    assert ends.drop_nulls().all() and ends.drop_nulls().len() == 3


def test_joined_takes_single_turns_as_they_are_and_joins_the_others() -> None:
    turns = pl.Series([["one"], ["a", "b"], [], None, ["x" * 40], [""]], dtype=pl.List(pl.Utf8))
    assert texts._joined(turns).to_list() == turns.list.join("\n").to_list()
    assert texts._joined(turns).to_list() == ["one", "a\nb", "", None, "x" * 40, ""]
