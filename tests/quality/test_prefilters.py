"""The cheap tests that spare rows a regex are necessary conditions: wherever the full signal
holds, its candidate test holds too, so skipping the others changes no result."""

from __future__ import annotations

from pathlib import Path

import polars as pl

from curate.example_store import with_examples
from curate.quality import language, line_kernels, signals, words
from curate.quality.texts import ANSWER_LOWER, LAST_ANSWER, LAST_LINE, PROMPT_LOWER, with_texts
from curate.utf8 import utf8_buffers
from tests.quality.helpers import chat, frame_of

QUESTION = "Tell me about the sea."
ENDINGS = [
    "The sea is vast. It covers most of the planet.",
    "The sea is vast. It covers most of the planet and",  # dangling word
    "The sea is vast. It covers most of the planet,",
    "The sea is vast. Waves rise and fall over the open water all day long without",
    "The sea is vast. Waves rise and fall over the open water all day long without end",
    "The sea is vast. Waves Rise And Fall Over The Open Water All Day Long Without End",
    "Here is code:\n```python\nprint('sea')",  # open fence
    "```\nok\n```",
    "```````",
    "Vitamin A",
    "Sincerely,",
    "Best regards,\nJane",
    "The sea is vast. It ends here —",
    "The sea is vast. It ends here \u200b",
    "Items:\n- salt\n- water:",
    "Total: 42",
    "See #ocean",
    'A quote. "The sea" - Someone Famous',
    "x = f(a, b)",
    "   ",
    "",
    "No output",
    "N/A",
    "TODO: write this",
    "  <noinput>",
    "Lorem ipsum dolor sit amet, a filler text that goes on for quite some words indeed.",
    "Dear [Your Name], here is a long letter with a template slot in it for the reader.",
    "[insert answer here] and some more words so that the turn is rather long, really.",
    "Ünïcödé answer that is long enough to not be short, with Ñ and ß in it, and so on",
    "\u3000todo later, this answer starts with an ideographic space and goes on for long.",
]


def _frame(tmp_path: Path) -> pl.DataFrame:
    records = [chat(QUESTION, ending) for ending in ENDINGS]
    records.append(chat(QUESTION, "A first full answer that is long enough here.", "TODO"))
    records.append({"messages": [{"role": "user", "content": QUESTION}]})  # no answer: no last line
    frame = with_texts(with_examples(frame_of(tmp_path, records)))
    return words.add(frame, ANSWER_LOWER, PROMPT_LOWER, language.STOP_WORDS)


def test_truncation_candidates_cover_every_truncated_answer(tmp_path: Path) -> None:
    frame = _frame(tmp_path)
    candidate, words = signals._truncation_candidates(frame)
    frame = frame.with_columns(words.alias(signals._LAST_LINE_WORDS))
    truncated = frame.select(signals.truncated()).to_series()
    assert truncated.sum() >= 5  # the planted cut-offs are found
    assert not (truncated.fill_null(False) & ~candidate.fill_null(True)).any()
    assert candidate.null_count() == frame[LAST_LINE].null_count() >= 1
    spaces = frame[LAST_LINE].str.count_matches(" ", literal=True) + 1
    assert words.to_list() == spaces.to_list()


def test_fences_counted_as_polars_counts_them(tmp_path: Path) -> None:
    frame = _frame(tmp_path)
    data, offsets = utf8_buffers(frame[LAST_ANSWER])
    counted = [line_kernels._fences(data, offsets[i], offsets[i + 1]) for i in range(frame.height)]
    expected = frame[LAST_ANSWER].str.count_matches("```", literal=True).fill_null(0).to_list()
    assert counted == expected


def test_placeholder_candidates_cover_every_placeholder(tmp_path: Path) -> None:
    frame = _frame(tmp_path)
    found = frame.select(
        signals.placeholder().fill_null(False).alias("placeholder"),
        signals.placeholder_candidate().alias("candidate"),
    )
    placeholder, candidate = found.to_series(0), found.to_series(1)
    assert placeholder.sum() >= 6
    assert not (placeholder & ~candidate.fill_null(True)).any()
    assert candidate.fill_null(True).sum() < frame.height  # some rows are spared the patterns
