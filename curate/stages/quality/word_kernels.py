"""Compiled loops behind the word signals: stop-word votes and 3-gram statistics.

Words come from the shared tokeniser (curate/stages/words, quality's rules: runs of letters,
digits and apostrophes of the lower-cased text) as hashes per text; these loops keep only what
the signals read: counts, stop-word votes and 3-gram statistics, without materialising any word
as a string. Words are compared by 64-bit hash. Arithmetic is on ``uint64`` explicitly (numba
would otherwise promote a mix of signed and unsigned integers to float).
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

# Columns of the per-text integer output.
WORDS: Final = 0
LETTERS: Final = 1  # characters in words
BEST: Final = 2  # the most stop-word hits of one language
SECOND: Final = 3  # the runner-up's hits (equal to BEST on a tie)
BEST_LANGUAGE: Final = 4  # index of the first language with BEST hits
_INT_COLUMNS: Final = 5


@njit(cache=True, nogil=True)
def _stop_language(h: np.uint64, slot_hashes: np.ndarray, slot_languages: np.ndarray) -> int:
    """The language whose stop word has hash ``h``, or -1 (open addressing; a word listed for
    several languages was inserted first for the first of them, so it is found for that one)."""
    mask = np.uint64(len(slot_hashes) - 1)
    slot = np.int64(h & mask)
    while slot_languages[slot] >= 0:
        if slot_hashes[slot] == h:
            return int(slot_languages[slot])
        slot = (slot + 1) & np.int64(mask)
    return -1


@njit(cache=True, nogil=True)
def _mask_for(n: int) -> int:
    """Slot mask of a hash set holding up to ``n`` values at most half full."""
    size = 2
    while size < 2 * n:
        size *= 2
    return size - 1


@njit(cache=True, nogil=True, inline="always")
def _slot(value: np.uint64, mask: int) -> np.int64:
    return np.int64((value ^ (value >> np.uint64(32))) & np.uint64(mask))


@njit(cache=True, nogil=True, inline="always")
def _find_or_add(
    values: np.ndarray, stamps: np.ndarray, stamp: int, mask: int, value: np.uint64
) -> tuple[np.int64, bool]:
    """The slot of ``value`` in the set of slots stamped ``stamp``, added where missing, and
    whether it was added. A fresh stamp empties the set without clearing it (sorting each row's
    values cost twice as much)."""
    slot = _slot(value, mask)
    while stamps[slot] == stamp:
        if values[slot] == value:
            return slot, False
        slot = (slot + 1) & mask
    stamps[slot] = stamp
    values[slot] = value
    return slot, True


_IN_PROMPT: Final = 1
_IN_ANSWER: Final = 2


@njit(cache=True, nogil=True)
def _distinct_and_shared(
    answer: np.ndarray,
    na: int,
    prompt: np.ndarray,
    np_: int,
    values: np.ndarray,
    stamps: np.ndarray,
    sides: np.ndarray,
    stamp: int,
) -> tuple[int, int, int]:
    """Distinct values of ``answer[:na]`` and of ``prompt[:np_]``, and how many distinct values
    they share. One set holds both sides, each slot marking which side has its value
    (``sides``): every value is looked up once, not once per set."""
    mask = _mask_for(na + np_)
    p_distinct = 0
    for j in range(np_):
        slot, added = _find_or_add(values, stamps, stamp, mask, prompt[j])
        if added:
            sides[slot] = _IN_PROMPT
            p_distinct += 1
    distinct = shared = 0
    for j in range(na):
        slot, added = _find_or_add(values, stamps, stamp, mask, answer[j])
        if added:
            sides[slot] = _IN_ANSWER
            distinct += 1
        elif not sides[slot] & _IN_ANSWER:
            sides[slot] |= _IN_ANSWER
            distinct += 1
            shared += 1
    return distinct, p_distinct, shared


@njit(cache=True, nogil=True)
def _gram_keys(hashes: np.ndarray, n: int, multipliers: np.ndarray, out: np.ndarray) -> int:
    """Each window of ``len(multipliers)`` words as one key: its hashes times the multipliers, summed."""
    width = len(multipliers)
    count = max(n - (width - 1), 0)
    for j in range(count):
        key = np.uint64(0)
        for o in range(width):
            key += hashes[j + o] * multipliers[o]
        out[j] = key
    return count


@njit(cache=True, nogil=True)
def _count_votes(
    hashes: np.ndarray, slot_hashes: np.ndarray, slot_languages: np.ndarray, votes: np.ndarray
) -> None:
    votes[:] = 0
    for w in range(len(hashes)):
        lang = _stop_language(hashes[w], slot_hashes, slot_languages)
        if lang >= 0:
            votes[lang] += 1


@njit(cache=True, nogil=True)
def _vote_summary(votes: np.ndarray, out: np.ndarray) -> None:
    """Best count, runner-up count and the first language with the best count."""
    best_at = 0
    for lang in range(1, len(votes)):
        if votes[lang] > votes[best_at]:
            best_at = lang
    second = 0  # the largest of the others (votes are never negative)
    for lang in range(len(votes)):
        if lang != best_at and votes[lang] > second:
            second = votes[lang]
    out[BEST] = votes[best_at]
    out[SECOND] = second
    out[BEST_LANGUAGE] = best_at


@njit(cache=True, nogil=True)
def _text_ints(
    hashes: np.ndarray,
    chars: np.ndarray,
    slot_hashes: np.ndarray,
    slot_languages: np.ndarray,
    votes: np.ndarray,
    out: np.ndarray,
) -> None:
    """One text's row of the integer output."""
    out[WORDS] = len(hashes)
    letters = 0
    for w in range(len(chars)):
        letters += chars[w]
    out[LETTERS] = letters
    _count_votes(hashes, slot_hashes, slot_languages, votes)
    _vote_summary(votes, out)


@njit(cache=True, nogil=True)
def word_stats(
    answer_hashes: np.ndarray,
    answer_offsets: np.ndarray,
    answer_chars: np.ndarray,
    prompt_hashes: np.ndarray,
    prompt_offsets: np.ndarray,
    prompt_chars: np.ndarray,
    slot_hashes: np.ndarray,
    slot_languages: np.ndarray,
    languages: int,
    multipliers: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row, from its answer's and prompt's word hashes (and each word's characters): their
    word counts, letters and stop-word votes; the repeated share of the answer's n-grams; the
    answer-prompt n-gram overlap (shared distinct n-grams over the larger side's distinct
    count); the distinct answer words the prompt lacks; and whether a non-empty answer shorter
    than one n-gram has exactly the prompt's words."""
    rows = len(answer_offsets) - 1
    longest = 1
    for i in range(rows):
        longest = max(
            longest, answer_offsets[i + 1] - answer_offsets[i], prompt_offsets[i + 1] - prompt_offsets[i]
        )
    answer_ints = np.zeros((rows, _INT_COLUMNS), dtype=np.int64)
    prompt_ints = np.zeros((rows, _INT_COLUMNS), dtype=np.int64)
    repetition = np.zeros(rows, dtype=np.float64)
    echo = np.zeros(rows, dtype=np.float64)
    new_words = np.zeros(rows, dtype=np.int64)
    short_copy = np.zeros(rows, dtype=np.bool_)
    a_keys = np.empty(longest, dtype=np.uint64)
    p_keys = np.empty(longest, dtype=np.uint64)
    votes = np.zeros(languages, dtype=np.int64)
    # Both sides' values in one set, at most half full: room for the longest pair of sides.
    size = _mask_for(2 * longest) + 1
    values = np.empty(size, dtype=np.uint64)
    stamps = np.zeros(size, dtype=np.int64)
    sides = np.zeros(size, dtype=np.uint8)
    n = len(multipliers)
    for i in range(rows):
        a0, a1 = answer_offsets[i], answer_offsets[i + 1]
        p0, p1 = prompt_offsets[i], prompt_offsets[i + 1]
        a_hashes, p_hashes = answer_hashes[a0:a1], prompt_hashes[p0:p1]
        na, np_ = a1 - a0, p1 - p0
        _text_ints(a_hashes, answer_chars[a0:a1], slot_hashes, slot_languages, votes, answer_ints[i])
        _text_ints(p_hashes, prompt_chars[p0:p1], slot_hashes, slot_languages, votes, prompt_ints[i])
        if 0 < na < n and na == np_:
            same = True
            for w in range(na):
                if a_hashes[w] != p_hashes[w]:
                    same = False
                    break
            short_copy[i] = same
        total = _gram_keys(a_hashes, na, multipliers, a_keys)
        p_total = _gram_keys(p_hashes, np_, multipliers, p_keys)
        distinct, p_distinct, shared = _distinct_and_shared(
            a_keys, total, p_keys, p_total, values, stamps, sides, 2 * i + 1
        )
        if total > 0:
            repetition[i] = 1.0 - distinct / total
        larger = max(distinct, p_distinct)
        if larger > 0:
            echo[i] = shared / larger
        a_words, _, shared_words = _distinct_and_shared(
            a_hashes, na, p_hashes, np_, values, stamps, sides, 2 * i + 2
        )
        new_words[i] = a_words - shared_words
    return answer_ints, prompt_ints, repetition, echo, new_words, short_copy


# Columns of text_profile's output.
NON_ASCII: Final = 0  # 1 where the text holds a non-ASCII character
CONTROL: Final = 1  # 1 where it holds an ASCII control other than tab, newline and carriage return
DIGITS: Final = 2  # how many ASCII digits it holds
SPACES: Final = 3  # how many spaces (U+0020) it holds


def _byte_kinds() -> np.ndarray:
    """Byte -> bit flags: 1 non-ASCII, 2 control (not tab, newline, carriage return), 4 digit,
    8 space."""
    kinds = np.zeros(256, dtype=np.uint8)
    kinds[0x80:] = 1
    kinds[[*range(0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F]] = 2
    kinds[ord("0") : ord("9") + 1] = 4
    kinds[ord(" ")] = 8
    return kinds


_BYTE_KINDS: Final = _byte_kinds()


@njit(cache=True, nogil=True)
def text_profile(data: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per text, the cheap facts that rule out character-class and number patterns. A table
    lookup per byte rather than branches: this pass reads every byte of every message."""
    rows = len(offsets) - 1
    out = np.zeros((rows, 4), dtype=np.int64)
    for i in range(rows):
        seen = digits = spaces = 0
        for k in range(offsets[i], offsets[i + 1]):
            kind = _BYTE_KINDS[data[k]]
            seen |= kind
            digits += (kind >> 2) & 1
            spaces += kind >> 3
        out[i, NON_ASCII] = seen & 1
        out[i, CONTROL] = (seen >> 1) & 1
        out[i, DIGITS] = digits
        out[i, SPACES] = spaces
    return out
