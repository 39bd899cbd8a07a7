"""Compiled test of which answers can be truncated, from their last line's bytes.

The truncation signal's cheap conditions were regexes anchored at the end of the last line
(DANGLING_END, CLEAN_END); the regex engine scans each whole line to find that end, and this
ran on every row. The conditions only depend on the line's last character, its spaces and the
answer's code fences, which a loop reads directly. The loop finds the last line in the answer
itself: a column of every row's last line was a copy of most of the answers' text.
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
_NEWLINE: Final = 0x0A


@njit(cache=True, nogil=True)
def _space_before(data: np.ndarray, start: int, stop: int) -> int:
    """Bytes of the white-space character ending ``data[start:stop]`` (UTF-8), 0 if none. White
    space as polars' ``strip_chars_end()`` strips it (Rust's ``char::is_whitespace``): tab to
    carriage return, space, U+0085, U+00A0, U+1680, U+2000 to U+200A, U+2028, U+2029, U+202F,
    U+205F and U+3000. A byte two or three back can only lead such a character when it leads
    the text's last character: other lead bytes are followed by continuation bytes."""
    last = data[stop - 1]
    if last == 0x20 or 0x09 <= last <= 0x0D:
        return 1
    if stop - start >= 2 and data[stop - 2] == 0xC2 and (last == 0x85 or last == 0xA0):
        return 2
    if stop - start >= 3:
        lead, middle = data[stop - 3], data[stop - 2]
        if lead == 0xE2 and middle == 0x80 and (0x80 <= last <= 0x8A or 0xA8 <= last <= 0xA9 or last == 0xAF):
            return 3
        if (
            (lead == 0xE1 and middle == 0x9A and last == 0x80)
            or (lead == 0xE2 and middle == 0x81 and last == 0x9F)
            or (lead == 0xE3 and middle == 0x80 and last == 0x80)
        ):
            return 3
    return 0


@njit(cache=True, nogil=True)
def last_line(data: np.ndarray, start: int, stop: int) -> tuple[int, int]:
    """Where the last line of the text ``data[start:stop]`` is, as texts.last_line() takes it:
    trailing white space stripped, then what follows the last newline."""
    while stop > start:
        size = _space_before(data, start, stop)
        if size == 0:
            break
        stop -= size
    line_start = stop
    while line_start > start and data[line_start - 1] != _NEWLINE:
        line_start -= 1
    return line_start, stop


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
    answers: np.ndarray,
    answer_starts: np.ndarray,
    answer_stops: np.ndarray,
    words: tuple[np.ndarray, np.ndarray],
    min_words: int,
) -> tuple[np.ndarray, np.ndarray]:
    """Per answer (``answers[answer_starts[i]:answer_stops[i]]``) whether the truncation signal
    can hold (a superset of signals.truncated(): a code fence is open in the answer, its last
    line (``last_line``) may end dangling, on punctuation or one of ``words`` (bytes and
    offsets, see ``dangling_words``), or it lacks a clean end and has ``min_words`` words), and
    the line's spaces plus one (its rough word count)."""
    rows = len(answer_starts)
    candidate = np.zeros(rows, dtype=np.bool_)
    line_words = np.zeros(rows, dtype=np.int64)
    for i in range(rows):
        start, stop = last_line(answers, answer_starts[i], answer_stops[i])
        spaces = 0
        for k in range(start, stop):
            spaces += answers[k] == 0x20
        line_words[i] = spaces + 1
        if _fences(answers, answer_starts[i], answer_stops[i]) % 2 == 1:
            candidate[i] = True
        elif stop > start:
            kind = _END_KINDS[answers[stop - 1]]
            if kind == _LETTER:
                dangling = _ends_with_word(answers, start, stop, words[0], words[1])
                candidate[i] = dangling or spaces + 1 >= min_words
            else:
                candidate[i] = kind == _DANGLING or (kind == _NEITHER and spaces + 1 >= min_words)
    return candidate, line_words
