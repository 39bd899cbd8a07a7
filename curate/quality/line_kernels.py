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

# What a line ending on a byte can be.
_NEITHER: Final = 0
_DANGLING: Final = 1  # DANGLING_END's punctuation; non-ASCII bytes too (the patterns know more of those)
_CLEAN: Final = 2  # CLEAN_END's ASCII characters and digits
_LETTER: Final = 3  # a lower-case letter: dangling where it ends one of DANGLING_WORDS


def _end_kinds() -> np.ndarray:
    kinds = np.full(256, _NEITHER, dtype=np.uint8)
    kinds[0x80:] = _DANGLING
    for char in ",:([{&":
        kinds[ord(char)] = _DANGLING
    for char in ".!?)]}\"'`*>|;0123456789":
        kinds[ord(char)] = _CLEAN
    kinds[ord("a") : ord("z") + 1] = _LETTER
    return kinds


_END_KINDS: Final = _end_kinds()
# Bytes that can stand before a dangling word: ASCII white space (\s) and any non-ASCII byte.
_BEFORE_WORD: Final = np.array([b in b" \t\x0b\x0c\r" or b >= 0x80 for b in range(256)], dtype=np.bool_)
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


def dangling_words(words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """``words`` as the bytes and offsets ``truncation_candidates`` reads."""
    encoded = [word.encode() for word in words]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(word) for word in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8), offsets


@njit(cache=True, nogil=True)
def _ends_with_word(line: np.ndarray, start: int, stop: int, words: np.ndarray, offsets: np.ndarray) -> bool:
    """Whether the line ends with one of the words after a byte that can be white space."""
    for w in range(len(offsets) - 1):
        size = offsets[w + 1] - offsets[w]
        if stop - start <= size or not _BEFORE_WORD[line[stop - size - 1]]:
            continue
        same = True
        for j in range(size):
            if line[stop - size + j] != words[offsets[w] + j]:
                same = False
                break
        if same:
            return True
    return False


@njit(cache=True, nogil=True)
def truncation_candidates(
    lines: np.ndarray,
    line_offsets: np.ndarray,
    answers: np.ndarray,
    answer_offsets: np.ndarray,
    words: tuple[np.ndarray, np.ndarray],
    min_words: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per row whether the truncation signal can hold (a superset of signals.truncated():
    a code fence is open in the answer, the line may end dangling, on punctuation or one of
    ``words`` (bytes and offsets, see ``dangling_words``), or it lacks a clean end and has
    ``min_words`` words), and the line's spaces plus one (its rough word count). Lines
    carry no trailing white space (texts.LAST_LINE strips it)."""
    rows = len(line_offsets) - 1
    candidate = np.zeros(rows, dtype=np.bool_)
    line_words = np.zeros(rows, dtype=np.int64)
    for i in range(rows):
        start, stop = line_offsets[i], line_offsets[i + 1]
        spaces = 0
        for k in range(start, stop):
            spaces += lines[k] == 0x20
        line_words[i] = spaces + 1
        if _fences(answers, answer_offsets[i], answer_offsets[i + 1]) % 2 == 1:
            candidate[i] = True
        elif stop > start:
            kind = _END_KINDS[lines[stop - 1]]
            if kind == _LETTER:
                dangling = _ends_with_word(lines, start, stop, words[0], words[1])
                candidate[i] = dangling or spaces + 1 >= min_words
            else:
                candidate[i] = kind == _DANGLING or (kind == _NEITHER and spaces + 1 >= min_words)
    return candidate, line_words
