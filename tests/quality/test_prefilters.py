"""The cheap tests that spare rows a regex are necessary conditions: wherever the full signal
holds, its candidate test holds too, so skipping the others changes no result."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from curate.core.utf8 import utf8_buffers
from curate.ingest.store import with_examples
from curate.stages.quality import (
    language,
    line_kernels,
    number_kernels,
    patterns,
    rows,
    signals,
    word_kernels,
    words,
)
from curate.stages.quality.texts import (
    ANSWER,
    ANSWER_LOWER,
    LAST_ANSWER,
    LAST_LINE,
    PROMPT_LOWER,
    last_line,
    with_texts,
)
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
    _, candidate, words = signals._answer_reads(frame)
    frame = frame.with_columns(words.alias(signals._LAST_LINE_WORDS), last_line())
    truncated = frame.select(signals.truncated()).to_series()
    assert truncated.sum() >= 5  # the planted cut-offs are found
    assert not (truncated.fill_null(False) & ~candidate.fill_null(True)).any()
    assert candidate.null_count() == frame[LAST_LINE].null_count() >= 1
    spaces = frame[LAST_LINE].str.count_matches(" ", literal=True) + 1
    assert words.to_list() == spaces.to_list()


def test_truncation_read_in_the_answer_equals_read_in_the_last_answer(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last answer ends the answer: read there, a few rows at a time, the cheap tests find
    what they find in the last answer's own bytes."""
    frame = _frame(tmp_path)
    data, offsets = utf8_buffers(frame[LAST_ANSWER])
    own = line_kernels.truncation_candidates(
        data, offsets[:-1], offsets[1:], signals._DANGLING_WORDS, signals.TRUNCATION_MIN_WORDS
    )
    monkeypatch.setattr(rows, "KERNEL_ROWS", 4)
    profile, candidate, words = signals._answer_reads(frame)
    has_line = frame[LAST_ANSWER].is_not_null().to_numpy()
    assert candidate.to_list() == [bool(c) if h else None for c, h in zip(own[0], has_line, strict=True)]
    assert words.to_list() == [int(w) if h else None for w, h in zip(own[1], has_line, strict=True)]
    assert profile.tolist() == word_kernels.text_profile(*utf8_buffers(frame[ANSWER])).tolist()
    assert 0 < candidate.sum() < has_line.sum()  # some rows are candidates, some are not


def _kernel_lines(texts: pl.Series) -> tuple[list[int], list[int]]:
    """The last line's bytes before it and its bytes, per text, as line_kernels.last_line finds it."""
    data, offsets = utf8_buffers(texts)
    bounds = [line_kernels.last_line(data, offsets[i], offsets[i + 1]) for i in range(len(texts))]
    before = [start - offsets[i] for i, (start, _) in enumerate(bounds)]
    return before, [stop - start for start, stop in bounds]


def test_last_line_found_as_polars_finds_it() -> None:
    """The compiled loop strips what polars' strip_chars_end strips (every code point tried
    at the end of a text) and splits where its split("\\n") splits."""
    code_points = [c for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    texts = pl.Series(
        [f"x\n{chr(c)}" for c in code_points]
        + ENDINGS
        + ["", "\n", " \n \n ", "a\r\n", "one\n  two \t\n\u3000", "a\u200b", "a\u2080", "\u00a0\u1680b\u205f"]
    )
    frame = pl.DataFrame({LAST_ANSWER: texts})
    stripped = frame.select(pl.col(LAST_ANSWER).str.strip_chars_end().str.len_bytes()).to_series()
    line = frame.select(last_line().str.len_bytes()).to_series()
    before, size = _kernel_lines(texts)
    assert size == line.to_list()
    assert before == (stripped - line).to_list()
    # The 25 white-space code points leave "x" as the last line, the others themselves.
    assert sum(b == 0 for b in before[: len(code_points)]) == 25


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


NUMBERS = [
    "Call +44 7700 900123 or +1 (555) 010-4477.",
    "Office: (555) 010-4477, fax 555-010-4478",
    "UK: 07700 900123 and 020 7946 0958",
    "Card 4111 1111 1111 1111 expires soon; 4111-1111-1111-1111 too; 4111111111111111.",
    "SSN 078-05-1120.",
    "The ratio is 0.0119047619047619 and 1,234,567 people; 3 + 4 = 7; f(12) = 144.",
    "Year 2023, page 12 - 14, items 1-2-3.",
    "Café au lait, crème brûlée: déjà vu.",  # accents, no digits: spared
    "Phone in Arabic digits: ٠٧٧٠٠ ٩٠٠١٢٣",
]


def test_number_runs_cover_every_pii_number_match(tmp_path: Path) -> None:
    texts = pl.Series(NUMBERS + [None])
    runs = number_kernels.digit_runs(*utf8_buffers(texts), patterns.PHONE_MIN_DIGITS)
    for kind, pattern, least in (
        (number_kernels.PHONE, patterns.PHONE, patterns.PHONE_MIN_DIGITS),
        (number_kernels.CARD, patterns.CARD, patterns.CARD_MIN_DIGITS),
        (number_kernels.SSN, patterns.SSN, patterns.SSN_MIN_DIGITS),
    ):
        matches = texts.str.count_matches(pattern).fill_null(0).to_numpy()
        assert matches.sum() > 0
        assert (runs[matches > 0, kind] >= least).all()
    # Eleven digits, but in stretches of at most four: no phone pattern need look at it.
    assert runs[6, number_kernels.PHONE] < patterns.PHONE_MIN_DIGITS <= texts.str.count_matches(r"\d")[6]
    # Any script's digits count: each byte of a non-ASCII character may be one.
    assert (runs[-2] >= [12, 6, 6]).all()
    assert (runs[-3] < patterns.PHONE_MIN_DIGITS).all()  # accented letters are no digits in a row
    assert (runs[-1] == 0).all()
