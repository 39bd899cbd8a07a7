"""Per-example quality signals: the ``q_*`` columns, computed over the decoded texts of every row at once.

Signals measure; they don't decide. The score and the flags (curate/stages/quality/score.py) read these
columns against the thresholds in ``[quality]``. Every signal is null where the row has no
canonical example. Columns are computed in passes because some read others. The costly
regexes run only on rows a cheap necessary condition leaves (``_prefiltered``); word statistics
come from one compiled pass (curate/stages/quality/words.py).
"""

from __future__ import annotations

import os
import re
from concurrent.futures import ThreadPoolExecutor
from typing import Final

import numpy as np
import polars as pl

from curate.core.config import QualitySection
from curate.core.frame import LABEL
from curate.stages.quality import language, line_kernels, number_kernels, patterns, word_kernels, words
from curate.stages.quality.rows import buffers_by_rows, only_where
from curate.stages.quality.texts import (
    ALL_TEXT,
    ANSWER,
    ANSWER_LOWER,
    ANSWER_TURNS,
    LAST_ANSWER,
    LAST_LINE,
    PROMPT,
    PROMPT_LOWER,
    last_line,
)

PII_KINDS: Final = ("email", "phone", "card", "ssn", "secret")
_WORKERS: Final = min(4, os.cpu_count() or 1)
TRUNCATION_MIN_WORDS: Final = 12  # a last line without a clean end needs this many words to count
_DANGLING_WORDS: Final = line_kernels.dangling_words(patterns.DANGLING_WORDS)
PLACEHOLDER_HEAD: Final = 60  # characters of a turn where start-of-turn placeholder markers are looked for
# Working columns computed on prefiltered rows only (see _prefiltered).
_UNUSUAL: Final = "_q_unusual"  # the answer holds non-ASCII or control characters
_TRUNCATED: Final = "_q_truncated"
_MISSING_MEDIA: Final = "_q_missing_media"
_ODD_SYMBOLS: Final = "_q_odd_symbols"
_MOJIBAKE: Final = "_q_mojibake"
_MIN_TURN_CHARS: Final = "_q_min_turn_chars"
_LAST_LINE_WORDS: Final = "_q_last_line_words"
_REFUSAL: Final = "_q_refusal"
_SAFETY_REFUSAL: Final = "_q_safety_refusal"
_PLACEHOLDER: Final = "_q_placeholder"
_SECRET_ASSIGNMENTS: Final = "_q_secret_assignments"
# Per PII number pattern: the most digits in a stretch of all the text it can span.
_PII_DIGITS: Final = {
    "phone": ("_q_phone_digits", number_kernels.PHONE),
    "card": ("_q_card_digits", number_kernels.CARD),
    "ssn": ("_q_ssn_digits", number_kernels.SSN),
}


def matches_any(text: pl.Expr, alternatives: tuple[str, ...]) -> pl.Expr:
    """Whether any pattern matches: one search per pattern keeps each on its fast path."""
    return pl.any_horizontal(*(text.str.contains(p) for p in alternatives))


def first_match(text: pl.Expr, alternatives: tuple[str, ...]) -> pl.Expr:
    """The text matched by the first pattern that matches (for flag messages)."""
    return pl.coalesce(*(text.str.extract(p, 0) for p in alternatives))


def symbol_ratio() -> pl.Expr:
    """Share of characters that are odd symbols (patterns.ODD_SYMBOL), fenced code left out.

    Reads the count of odd symbols from the prefiltered columns (see ``_prefiltered``). Null
    below 10 characters: one emoji is not symbol soup. (The share is of all characters,
    spaces included: counting spaces apart cost more than the rest of the signal.)
    """
    length = _prose().str.len_chars()
    return pl.when(length >= 10).then(pl.col(_ODD_SYMBOLS) / length)


def _prose() -> pl.Expr:
    return pl.col(ANSWER).str.replace_all(patterns.CODE_FENCE_BLOCK, " ")


def _last_line_words() -> pl.Expr:
    """Spaces plus one (roughly words: a heuristic needs no more), counted by _prefiltered."""
    return pl.col(_LAST_LINE_WORDS)


def _open_fence() -> pl.Expr:
    return pl.col(LAST_ANSWER).str.count_matches("```") % 2 == 1


def _answer_reads(frame: pl.DataFrame) -> tuple[np.ndarray, pl.Series, pl.Series]:
    """What compiled loops read in the answers' bytes: their profile (word_kernels.text_profile),
    the rows truncated() can hold for (null without a last line: the conditions of its three
    cases that are cheap) and the last line's rough word count. The last answer ends the answer
    (texts.LAST_ANSWER), so one copy of the answers' bytes serves both, a piece at a time."""
    last_bytes = frame[LAST_ANSWER].str.len_bytes().fill_null(0).to_numpy()
    profiles, candidates, line_words = [], [], []
    for at, data, offsets in buffers_by_rows(frame[ANSWER]):
        stops = offsets[1:]
        starts = stops - last_bytes[at : at + len(stops)]
        profiles.append(word_kernels.text_profile(data, offsets))
        candidate, words = line_kernels.truncation_candidates(
            data, starts, stops, _DANGLING_WORDS, TRUNCATION_MIN_WORDS
        )
        candidates.append(candidate)
        line_words.append(words)
    has_line = frame[LAST_ANSWER].is_not_null()  # a last answer has a last line, if empty
    return (
        np.concatenate(profiles),
        pl.select(pl.when(has_line).then(pl.Series(np.concatenate(candidates)))).to_series(),
        pl.select(pl.when(has_line).then(pl.Series(np.concatenate(line_words)))).to_series(),
    )


def truncated() -> pl.Expr:
    """The last answer stops mid-sentence, or leaves a code fence open.

    Lists, titles, code, quotes and one-line answers legitimately end without a full stop, so a
    missing full stop alone counts only on a long prose line of an answer that has other
    sentences; a dangling comma, colon or function word ("... and the") counts on any line.
    Reads ``LAST_LINE`` (texts.last_line), made on the rows it runs on.
    """
    last_line = pl.col(LAST_LINE)
    line_words = _last_line_words()
    listy = last_line.str.contains(patterns.LIST_ITEM)
    codey = matches_any(last_line, patterns.CODE_LINE)
    dangling = (
        last_line.str.contains(patterns.DANGLING_END)
        & ~last_line.str.contains(patterns.SIGN_OFF)
        & ~codey
        & (pl.col(words.ANSWER.words) >= 3)
    )
    prose_without_stop = (
        ~last_line.str.contains(patterns.CLEAN_END)
        & (line_words >= TRUNCATION_MIN_WORDS)
        & ~listy
        & ~codey
        & (last_line.str.count_matches(patterns.CAPITALISED_WORD) < line_words * 0.6)  # not a title
        & pl.col(LAST_ANSWER).str.contains(patterns.SENTENCE_BREAK)
    )
    return _open_fence() | dangling | prose_without_stop


def placeholder() -> pl.Expr:
    """Some answer turn is a placeholder ("N/A", "<nooutput>", "TODO") or holds filler text.

    Whole-turn comparisons run on short turns only and turn-start markers on each turn's head:
    per-turn work over whole texts was the slowest part of this signal.
    """
    head = pl.element().str.head(PLACEHOLDER_HEAD).str.to_lowercase()
    short = head.filter(pl.element().str.len_chars() <= patterns.PLACEHOLDER_MAX_CHARS)
    whole = short.str.strip_chars(" \t\r\n<>[](){}\"'.!*_`").str.contains(patterns.PLACEHOLDER_WHOLE)
    turns = pl.col(ANSWER_TURNS)
    return (
        turns.list.eval(whole).list.any()
        | turns.list.eval(head.str.contains(patterns.PLACEHOLDER_START)).list.any()
        | matches_any(pl.col(ANSWER_LOWER), patterns.PLACEHOLDER_INSIDE)
    )


def placeholder_candidate() -> pl.Expr:
    """Rows placeholder() can hold for: some turn is short enough to compare whole or starts like
    a marker (no non-ASCII letter lower-cases to these ASCII ones), or the answer holds an
    in-text marker's literal start."""
    turn = pl.element()
    marked = (turn.str.len_chars() <= patterns.PLACEHOLDER_MAX_CHARS) | turn.str.contains(
        r"^\s*(?:<|[nN][oO]|[tT][oO][dD][oO])"
    )
    return pl.col(ANSWER_TURNS).list.eval(marked).list.any() | pl.col(ANSWER_LOWER).str.contains_any(
        list(patterns.PLACEHOLDER_INSIDE_HINTS)
    )


def refusal_candidate() -> pl.Expr:
    """Rows refusal() can hold for: the answer holds one of its patterns' literal parts."""
    return pl.col(ANSWER_LOWER).str.contains("|".join(re.escape(hint) for hint in patterns.REFUSAL_HINTS))


def refusal() -> pl.Expr:
    """A refusal or assistant boilerplate that opens the answer (patterns.REFUSAL_HEAD_CHARS);
    "I am an AI" only where the prompt didn't ask what the assistant is, and neither where it
    asked what the assistant cannot do. A refusal that gives a harm as its reason is a safety
    refusal instead (``safety_refusal``): the two never hold together."""
    return _declines() & ~safety_refusal()


def safety_refusal() -> pl.Expr:
    """An opening refusal that declines because of a harm (patterns.SAFETY_RATIONALE)."""
    reason = (
        pl.col(ANSWER_LOWER).str.head(2 * patterns.REFUSAL_HEAD_CHARS).str.contains(patterns.SAFETY_RATIONALE)
    )
    return _declines() & reason


def _declines() -> pl.Expr:
    # The head plus room for a pattern that starts inside it to end.
    head = pl.col(ANSWER_LOWER).str.head(patterns.REFUSAL_HEAD_CHARS + 60)
    prompt = pl.col(PROMPT_LOWER)
    self_id = matches_any(head, patterns.SELF_IDENTIFICATION) & ~prompt.str.contains(
        patterns.ASKS_WHAT_YOU_ARE
    )
    return (matches_any(head, patterns.REFUSAL) | self_id) & ~prompt.str.contains(
        patterns.ASKS_WHAT_YOU_CANNOT
    )


def missing_media_candidate() -> pl.Expr:
    """Rows missing_media() can hold for: the answer names a medium or a link at all."""
    return pl.col(ANSWER_LOWER).str.contains_any(list(patterns.MEDIA_OR_LINK_HINTS))


def missing_media() -> pl.Expr:
    """The answer shows or promises media a text example cannot hold, or a link it does not give."""
    answer = pl.col(ANSWER_LOWER)
    link_without_url = matches_any(answer, patterns.LINK_PROMISE) & ~answer.str.contains(patterns.URL)
    media_tag = answer.str.contains(patterns.MEDIA_TAG) & ~answer.str.contains(patterns.HTML_DOCUMENT)
    return matches_any(answer, patterns.MEDIA) | media_tag | link_without_url


def pii_counts(allow_domains: list[str]) -> dict[str, pl.Expr]:
    """Matches per kind of personal data or secret, over every message (a user's email counts too)."""
    text = pl.col(ALL_TEXT)
    allowed = "|".join(re.escape(d.lower()) for d in allow_domains)
    emails = text.str.extract_all(patterns.EMAIL)
    if allowed:
        emails = emails.list.eval(
            pl.element().filter(~pl.element().str.to_lowercase().str.contains(rf"[@.](?:{allowed})$"))
        )
    counts = {
        "email": emails.list.len(),
        # Counted on the rows with digits enough (see _prefiltered).
        "phone": pl.col(_pii_count("phone")),
        "card": pl.col(_pii_count("card")),
        "ssn": pl.col(_pii_count("ssn")),
        "secret": text.str.count_matches(patterns.SECRET) + pl.col(_SECRET_ASSIGNMENTS),
    }
    assert tuple(counts) == PII_KINDS
    return counts


def secret_assignments() -> pl.Expr:
    """Generic "api_key = ..." assignments. One counts only when the value looks generated (has
    a digit and a letter), and once: a provider key after "Bearer" is already counted by its own
    pattern."""
    value = pl.element().str.extract(patterns.SECRET_ASSIGNMENT, 1)
    generated = (
        value.str.contains(r"\d") & value.str.contains(r"[A-Za-z]") & ~value.str.contains(patterns.SECRET)
    )
    found = pl.col(ALL_TEXT).str.extract_all(patterns.SECRET_ASSIGNMENT)
    return found.list.eval(pl.element().filter(generated)).list.len()


def _min_turn_visible(zero_width: bool = True) -> pl.Expr:
    """Length of the shortest answer turn (tool-call-only turns aside), surrounding whitespace and
    zero-width characters removed: schema validation strips only whitespace. Zero-width
    characters are all non-ASCII, so ``zero_width=False`` gives the same on ASCII texts."""
    turn = pl.element().str.replace_all(r"\p{Cf}+", "") if zero_width else pl.element()
    return pl.col(ANSWER_TURNS).list.eval(turn.str.strip_chars().str.len_chars()).list.min().cast(pl.Int64)


def _digit_runs(texts: pl.Series, least: int) -> np.ndarray:
    return np.concatenate(
        [number_kernels.digit_runs(data, offsets, least) for _, data, offsets in buffers_by_rows(texts)]
    )


def _prefiltered(frame: pl.DataFrame) -> pl.DataFrame:
    """Working columns whose regexes run only on rows a cheap test leaves: the truncation,
    missing-media, character-class and number checks on every row were most of the signals' time."""
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        answer_job = pool.submit(_answer_reads, frame)
        least = min(patterns.PHONE_MIN_DIGITS, patterns.CARD_MIN_DIGITS, patterns.SSN_MIN_DIGITS)
        runs_job = pool.submit(_digit_runs, frame[ALL_TEXT], least)
        (answer, may_be_truncated, last_line_words), runs = answer_job.result(), runs_job.result()
    unusual = (answer[:, word_kernels.NON_ASCII] | answer[:, word_kernels.CONTROL]) > 0
    # Null where there is no text, so those rows go through only_where and stay null.
    frame = frame.with_columns(
        pl.when(pl.col(ANSWER).is_not_null()).then(pl.lit(pl.Series(unusual))).alias(_UNUSUAL),
        *(
            pl.when(pl.col(ALL_TEXT).is_not_null()).then(pl.lit(pl.Series(runs[:, at]))).alias(name)
            for name, at in _PII_DIGITS.values()
        ),
        last_line_words.alias(_LAST_LINE_WORDS),
    )
    no_match = pl.lit(0, pl.UInt32)
    odd = _prose().str.count_matches(patterns.ODD_SYMBOL)
    mojibake = pl.col(ANSWER).str.count_matches(patterns.MOJIBAKE)
    jobs: dict[str, tuple[pl.Expr, pl.Expr, pl.Expr | None]] = {
        _TRUNCATED: (pl.lit(may_be_truncated), truncated(), None),
        _MISSING_MEDIA: (missing_media_candidate(), missing_media(), None),
        _REFUSAL: (refusal_candidate(), refusal(), None),
        _SAFETY_REFUSAL: (refusal_candidate(), safety_refusal(), None),
        _PLACEHOLDER: (placeholder_candidate(), placeholder(), None),
        _SECRET_ASSIGNMENTS: (
            pl.col(ALL_TEXT).str.contains(patterns.SECRET_ASSIGNMENT_HINT),
            secret_assignments(),
            no_match,
        ),
        _ODD_SYMBOLS: (pl.col(_UNUSUAL), odd, no_match),
        _MOJIBAKE: (pl.col(_UNUSUAL), mojibake, no_match),
        _MIN_TURN_CHARS: (pl.col(_UNUSUAL), _min_turn_visible(), _min_turn_visible(False)),
    }
    for kind, pattern, least in (
        ("phone", patterns.PHONE, patterns.PHONE_MIN_DIGITS),
        ("card", patterns.CARD, patterns.CARD_MIN_DIGITS),
        ("ssn", patterns.SSN, patterns.SSN_MIN_DIGITS),
    ):
        count = pl.col(ALL_TEXT).str.count_matches(pattern)
        jobs[_pii_count(kind)] = (pl.col(_PII_DIGITS[kind][0]) >= least, count, no_match)
    derived = {_TRUNCATED: [last_line()]}
    # Each job is a few small eager steps; side by side on threads (polars releases the GIL)
    # they use the cores one job at a time would leave idle.
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        columns = dict(
            zip(
                jobs,
                pool.map(lambda name: only_where(frame, *jobs[name], derived=derived.get(name, ())), jobs),
                strict=True,
            )
        )
    return frame.with_columns(series.alias(name) for name, series in columns.items())


def _pii_count(kind: str) -> str:
    return f"_q_pii_{kind}_count"


def _text_signals(config: QualitySection) -> list[pl.Expr]:
    """Signals that read only the texts."""
    pii = pii_counts(config.pii_allow_domains)
    return [
        pl.col(ANSWER).str.strip_chars().str.len_chars().cast(pl.Int64).alias("q_answer_chars"),
        pl.col(words.ANSWER.words).alias("q_answer_words"),
        pl.col(PROMPT).str.strip_chars().str.len_chars().cast(pl.Int64).alias("q_prompt_chars"),
        pl.col(_MIN_TURN_CHARS).alias("q_min_turn_chars"),
        pl.col(_PLACEHOLDER).alias("q_placeholder"),
        pl.col(_TRUNCATED).alias("q_truncated"),
        pl.col(_REFUSAL).alias("q_refusal"),
        pl.col(_SAFETY_REFUSAL).alias("q_safety_refusal"),
        symbol_ratio().alias("q_symbol_ratio"),
        pl.col(_MOJIBAKE).cast(pl.Int64).alias("q_mojibake"),
        pl.col(ANSWER).str.count_matches(patterns.SYMBOL_RUN).cast(pl.Int64).alias("q_symbol_runs"),
        pl.col(PROMPT_LOWER).str.contains(patterns.NAMES_A_LANGUAGE).alias("_q_names_language"),
        pl.col(_MISSING_MEDIA).alias("q_missing_media"),
        *(count.cast(pl.Int64).alias(f"_q_pii_{kind}") for kind, count in pii.items()),
    ]


def _derived_signals(config: QualitySection) -> list[pl.Expr]:
    """Signals that read other signal columns."""
    known = (pl.col("q_prompt_lang") != "unknown") & (pl.col("q_answer_lang") != "unknown")
    return [
        # Answers too short for a 3-gram echo the prompt only when they equal it word for word.
        pl.when(pl.col(words.SHORT_COPY)).then(1.0).otherwise(pl.col("q_echo")).alias("q_echo"),
        (pl.col("q_min_turn_chars") < config.min_answer_chars).alias("q_empty_answer"),
        (
            (pl.col("q_answer_words") < config.min_answer_words)
            & (pl.col("q_min_turn_chars") >= config.min_answer_chars)
        ).alias("q_short_answer"),
        (known & (pl.col("q_prompt_lang") != pl.col("q_answer_lang")) & ~pl.col("_q_names_language")).alias(
            "q_language_mismatch"
        ),
        pl.sum_horizontal(*(pl.col(f"_q_pii_{k}") for k in PII_KINDS)).alias("q_pii"),
        pl.concat_str(
            [
                pl.when(pl.col(f"_q_pii_{k}") > 0).then(pl.format(f"{k} ×{{}}", pl.col(f"_q_pii_{k}")))
                for k in PII_KINDS
            ],
            separator=", ",
            ignore_nulls=True,
        )
        .cast(LABEL)  # "" on almost every row: a category costs 4 bytes a row, a string 16
        .alias("q_pii_kinds"),
        (pl.col("q_answer_chars") > config.max_answer_chars).alias("q_too_long"),
    ]


def compute(frame: pl.DataFrame, config: QualitySection) -> pl.DataFrame:
    """Add every ``q_*`` column to a frame that carries the decoded texts (texts.with_texts)."""
    frame = words.add(frame, ANSWER_LOWER, PROMPT_LOWER, language.STOP_WORDS)
    frame = _prefiltered(frame)
    frame = frame.with_columns(_text_signals(config))
    frame = frame.with_columns(
        q_repetition=pl.col(words.REPETITION), q_echo=pl.col(words.ECHO), q_new_words=pl.col(words.NEW_WORDS)
    )
    frame = language.add_guess(frame, PROMPT, words.PROMPT, "q_prompt_lang", config.language_min_letters)
    frame = language.add_guess(frame, ANSWER, words.ANSWER, "q_answer_lang", config.language_min_letters)
    frame = frame.with_columns(_derived_signals(config))
    # Rows without a canonical example have no signals at all, not "no problems".
    has_text = pl.col(ANSWER).is_not_null()
    return frame.with_columns(
        pl.when(has_text).then(pl.col(c)).alias(c) for c in frame.columns if c.startswith("q_")
    )
