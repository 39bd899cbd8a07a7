"""Per-row word statistics of the answer and the prompt, for the length, n-gram and language signals.

Words are read by quality's rules (``curate.stages.words.rules.QUALITY``: runs of letters,
digits and apostrophes of the lower-cased texts) through the shared tokeniser, as hashes; one
compiled pass (curate/stages/quality/word_kernels.py) counts them, votes their stop words and
compares their 3-grams, instead of materialising every word as a string.
"""

from __future__ import annotations

import functools
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from curate.stages.quality import word_kernels as kernels
from curate.stages.quality.rows import KERNEL_ROWS
from curate.stages.words.rules import QUALITY
from curate.stages.words.texts import hash_strings, words_of_texts

N: Final = 3  # words per n-gram of the repetition and echo signals
# Odd 64-bit multipliers mixing the word hashes by position (wrapping arithmetic), so "a b c"
# and "c b a" get different keys.
_MIX: Final = np.array([1, 0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F], dtype=np.uint64)
_WORKERS: Final = min(4, os.cpu_count() or 1)


@dataclass(frozen=True)
class Columns:
    """The working columns holding one text's word statistics."""

    words: str  # how many words
    letters: str  # characters in words
    best: str  # stop-word hits of the language with the most
    second: str  # the runner-up's hits (equal to best on a tie)
    best_language: str  # index into the stop-word languages of the (first) best one


def _columns(side: str) -> Columns:
    return Columns(
        *(f"_q_{side}_{stat}" for stat in ("word_count", "letters", "best", "second", "best_language"))
    )


ANSWER: Final = _columns("answer")
PROMPT: Final = _columns("prompt")
SHORT_COPY: Final = "_q_short_copy"  # an answer shorter than one n-gram with exactly the prompt's words
REPETITION: Final = "_q_repetition"
ECHO: Final = "_q_echo"
NEW_WORDS: Final = "_q_new_words"


_TABLE: Final = threading.Lock()  # the slices' threads make the stop-word table once, not once each


@functools.cache
def _stop_table(stop_words: tuple[tuple[str, tuple[str, ...]], ...]) -> tuple[np.ndarray, np.ndarray]:
    """An open-addressing table of the stop words' hashes, given as (language, words) pairs: slot
    hashes and languages (-1: empty), filled in the order given."""
    entries = [(word, lang) for lang, (_, words) in enumerate(stop_words) for word in words]
    size = 1 << (2 * len(entries) - 1).bit_length()  # at most half full
    hashes = np.zeros(size, dtype=np.uint64)
    languages = np.full(size, -1, dtype=np.int64)
    for h, (_, lang) in zip(
        hash_strings(pl.Series([word for word, _ in entries])).tolist(), entries, strict=True
    ):
        slot = h & (size - 1)
        while languages[slot] >= 0:
            slot = (slot + 1) & (size - 1)
        hashes[slot], languages[slot] = h, lang
    return hashes, languages


def add(
    frame: pl.DataFrame, answer: str, prompt: str, stop_words: dict[str, tuple[str, ...]]
) -> pl.DataFrame:
    """Add the ``ANSWER``/``PROMPT`` statistics, ``SHORT_COPY`` and the n-gram signals
    ``REPETITION`` (repeated share of the answer's n-grams), ``ECHO`` (shared distinct n-grams
    over the larger side's distinct count: an answer quoting one sentence of a long prompt
    stays low) and ``NEW_WORDS`` (distinct answer words the prompt lacks: a restating answer
    adds some, a copy none). ``answer`` and ``prompt`` name lower-cased text columns;
    a null text has no words."""
    with _TABLE:
        table = _stop_table(tuple(stop_words.items()))

    def part(rows: range) -> tuple[np.ndarray, ...]:
        # Each part reads its own rows' words: the whole slice's at once was the largest part of
        # this step's memory.
        answers, prompts = (
            words_of_texts(frame[column].slice(rows.start, len(rows)), QUALITY, details=True)
            for column in (answer, prompt)
        )
        assert answers.chars is not None and prompts.chars is not None
        return kernels.word_stats(
            answers.hashes, answers.offsets, answers.chars, prompts.hashes, prompts.offsets, prompts.chars,
            *table, len(stop_words), _MIX[:N],
        )  # fmt: skip

    # The kernel releases the GIL: parts run side by side, as polars runs the regex signals.
    step = max(1, min(-(-frame.height // _WORKERS), KERNEL_ROWS))
    with ThreadPoolExecutor(max_workers=_WORKERS) as pool:
        parts = list(
            pool.map(part, (range(at, min(at + step, frame.height)) for at in range(0, frame.height, step)))
        )
    if not parts:
        parts = [part(range(0, 0))]
    answer_ints, prompt_ints, repetition, echo, new_words, short_copy = (
        np.concatenate([p[at] for p in parts]) for at in range(6)
    )
    columns: dict[str, np.ndarray] = {SHORT_COPY: short_copy}
    for stats, ints in ((ANSWER, answer_ints), (PROMPT, prompt_ints)):
        columns[stats.words] = ints[:, kernels.WORDS]
        columns[stats.letters] = ints[:, kernels.LETTERS]
        columns[stats.best] = ints[:, kernels.BEST]
        columns[stats.second] = ints[:, kernels.SECOND]
        columns[stats.best_language] = ints[:, kernels.BEST_LANGUAGE]
    columns |= {REPETITION: repetition, ECHO: echo, NEW_WORDS: new_words}
    return frame.with_columns(pl.Series(name, values) for name, values in columns.items())
