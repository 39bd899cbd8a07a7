"""Compiled test of which answers can be truncated, from their last line's bytes.

The truncation signal's cheap conditions were regexes anchored at the end of the last line
(DANGLING_END, CLEAN_END); the regex engine scans each whole line to find that end, and this
ran on every row. The conditions only depend on the line's last character, its spaces and the
answer's code fences, which a loop reads directly.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit


def _end_kinds() -> np.ndarray:
    """Byte -> what a line ending on it can be: 1 dangling (``DANGLING_END``: the punctuation it
    lists, or a lower-case letter, the last of a function word), 2 clean (``CLEAN_END``'s ASCII
    characters and digits), 0 neither. Non-ASCII bytes are 1: the patterns know more of those."""
    kinds = np.zeros(256, dtype=np.uint8)
    kinds[0x80:] = 1
    for char in ",:([{&abcdefghijklmnopqrstuvwxyz":
        kinds[ord(char)] = 1
    for char in ".!?)]}\"'`*>|;0123456789":
        kinds[ord(char)] = 2
    return kinds


_END_KINDS: Final = _end_kinds()
_BACKTICK: Final = 0x60


@njit(cache=True, nogil=True)
def _fences(data: np.ndarray, start: int, stop: int) -> int:
    """Non-overlapping occurrences of three backticks, as ``str.count_matches("```")`` counts."""
    count = 0
    k = start
    while k + 3 <= stop:
        if data[k] == _BACKTICK and data[k + 1] == _BACKTICK and data[k + 2] == _BACKTICK:
            count += 1
            k += 3
        else:
            k += 1
    return count


@njit(cache=True, nogil=True)
def truncation_candidates(
    lines: np.ndarray,
    line_offsets: np.ndarray,
    answers: np.ndarray,
    answer_offsets: np.ndarray,
    min_words: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row whether the truncation signal can hold (a superset of signals.truncated():
    a code fence is open in the answer, the line may end dangling, or it lacks a clean end and
    has ``min_words`` words), and the line's spaces plus one (its rough word count). Lines
    carry no trailing white space (texts.LAST_LINE strips it)."""
    rows = len(line_offsets) - 1
    candidate = np.zeros(rows, dtype=np.bool_)
    words = np.zeros(rows, dtype=np.int64)
    for i in range(rows):
        start, stop = line_offsets[i], line_offsets[i + 1]
        spaces = 0
        for k in range(start, stop):
            spaces += lines[k] == 0x20
        words[i] = spaces + 1
        if _fences(answers, answer_offsets[i], answer_offsets[i + 1]) % 2 == 1:
            candidate[i] = True
        elif stop > start:
            kind = _END_KINDS[lines[stop - 1]]
            candidate[i] = kind == 1 or (kind == 0 and spaces + 1 >= min_words)
    return candidate, words
