"""Compiled loops behind the word signals: tokenising, stop-word votes and 3-gram statistics.

A word is a run of letters, digits and apostrophes (``[\\p{L}\\p{N}']+``) of the lower-cased
text. Extracting the words as polars lists of strings, then hashing, exploding and joining them,
was the slowest part of the stage; these loops walk the UTF-8 bytes once and keep only what the
signals read: counts, stop-word votes and 3-gram statistics. Words are compared by 64-bit hash,
as the list version did. Arithmetic is on ``uint64`` explicitly (see curate/stages/dedup/kernels.py).
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

_FNV_OFFSET: Final = np.uint64(0xCBF29CE484222325)
_FNV_PRIME: Final = np.uint64(0x100000001B3)


@njit(cache=True, nogil=True, inline="always")
def _mix64(x: np.uint64) -> np.uint64:
    """splitmix64 finaliser: FNV alone spreads short words poorly over the low bits. (A copy of
    minhash_kernels.mix64: numba's cache would not notice a change to a function in another file.)"""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True)
def hash_bytes(data: np.ndarray, start: int, stop: int) -> np.uint64:
    """The hash of one word's bytes (the tokeniser computes the same one on the fly)."""
    h = _FNV_OFFSET
    for k in range(start, stop):
        h = (h ^ np.uint64(data[k])) * _FNV_PRIME
    return _mix64(h)


@njit(cache=True, nogil=True)
def _tokenise(
    data: np.ndarray, start: int, stop: int, is_word: np.ndarray, hashes: np.ndarray, bounds: np.ndarray
) -> tuple[int, int]:
    """Hash the words of ``data[start:stop]`` into ``hashes`` (their byte ranges into ``bounds``);
    returns (words, characters in words)."""
    count = 0
    letters = 0
    in_word = False
    h = _FNV_OFFSET
    k = start
    while k < stop:
        b = np.int64(data[k])
        if b < 0x80:  # ASCII, most bytes: one table lookup, one hash step
            if is_word[b]:
                if not in_word:
                    in_word = True
                    h = _FNV_OFFSET
                    bounds[count, 0] = k
                h = (h ^ np.uint64(b)) * _FNV_PRIME
                letters += 1
            elif in_word:
                in_word = False
                hashes[count] = _mix64(h)
                bounds[count, 1] = k
                count += 1
            k += 1
            continue
        if b < 0xE0:
            cp, width = ((b & 0x1F) << 6) | (np.int64(data[k + 1]) & 0x3F), 2
        elif b < 0xF0:
            cp = ((b & 0x0F) << 12) | ((np.int64(data[k + 1]) & 0x3F) << 6) | (np.int64(data[k + 2]) & 0x3F)
            width = 3
        else:
            cp = (
                ((b & 0x07) << 18)
                | ((np.int64(data[k + 1]) & 0x3F) << 12)
                | ((np.int64(data[k + 2]) & 0x3F) << 6)
                | (np.int64(data[k + 3]) & 0x3F)
            )
            width = 4
        if is_word[cp]:
            if not in_word:
                in_word = True
                h = _FNV_OFFSET
                bounds[count, 0] = k
            for j in range(k, k + width):
                h = (h ^ np.uint64(data[j])) * _FNV_PRIME
            letters += 1
        elif in_word:
            in_word = False
            hashes[count] = _mix64(h)
            bounds[count, 1] = k
            count += 1
        k += width
    if in_word:
        hashes[count] = _mix64(h)
        bounds[count, 1] = stop
        count += 1
    return count, letters


@njit(cache=True, nogil=True)
def _stop_language(
    data: np.ndarray,
    start: int,
    stop: int,
    h: np.uint64,
    slot_hashes: np.ndarray,
    slot_languages: np.ndarray,
    slot_bounds: np.ndarray,
    stop_bytes: np.ndarray,
) -> int:
    """The language whose stop word this word is, or -1 (open addressing, bytes compared)."""
    mask = np.uint64(len(slot_hashes) - 1)
    slot = np.int64(h & mask)
    while slot_languages[slot] >= 0:
        if slot_hashes[slot] == h:
            a, b = slot_bounds[slot, 0], slot_bounds[slot, 1]
            if b - a == stop - start:
                same = True
                for j in range(b - a):
                    if stop_bytes[a + j] != data[start + j]:
                        same = False
                        break
                if same:
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
    data: np.ndarray,
    bounds: np.ndarray,
    hashes: np.ndarray,
    n: int,
    stop_table: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int],
    votes: np.ndarray,
) -> None:
    slot_hashes, slot_languages, slot_bounds, stop_bytes, longest = stop_table
    votes[:] = 0
    for w in range(n):
        a, b = bounds[w, 0], bounds[w, 1]
        if b - a <= longest:
            lang = _stop_language(data, a, b, hashes[w], slot_hashes, slot_languages, slot_bounds, stop_bytes)
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
    data: np.ndarray,
    bounds: np.ndarray,
    hashes: np.ndarray,
    count: int,
    letters: int,
    stop_table: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int],
    votes: np.ndarray,
    out: np.ndarray,
) -> None:
    """One text's row of the integer output."""
    out[WORDS] = count
    out[LETTERS] = letters
    _count_votes(data, bounds, hashes, count, stop_table, votes)
    _vote_summary(votes, out)


@njit(cache=True, nogil=True)
def word_stats(
    answer_data: np.ndarray,
    answer_offsets: np.ndarray,
    prompt_data: np.ndarray,
    prompt_offsets: np.ndarray,
    is_word: np.ndarray,
    stop_table: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int],
    languages: int,
    multipliers: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per row: the answer's and the prompt's word counts, letters and stop-word votes; the
    repeated share of the answer's n-grams; the answer-prompt n-gram overlap (shared distinct
    n-grams over the larger side's distinct count); the distinct answer words the prompt lacks;
    and whether a non-empty answer shorter than one n-gram has exactly the prompt's words."""
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
    a_hashes = np.empty(longest, dtype=np.uint64)
    p_hashes = np.empty(longest, dtype=np.uint64)
    a_bounds = np.empty((longest, 2), dtype=np.int64)
    p_bounds = np.empty((longest, 2), dtype=np.int64)
    a_keys = np.empty(longest, dtype=np.uint64)
    p_keys = np.empty(longest, dtype=np.uint64)
    votes = np.zeros(languages, dtype=np.int64)
    # Both sides' values in one set, at most half full.
    values = np.empty(4 * longest, dtype=np.uint64)
    stamps = np.zeros(4 * longest, dtype=np.int64)
    sides = np.zeros(4 * longest, dtype=np.uint8)
    n = len(multipliers)
    for i in range(rows):
        na, a_letters = _tokenise(
            answer_data, answer_offsets[i], answer_offsets[i + 1], is_word, a_hashes, a_bounds
        )
        np_, p_letters = _tokenise(
            prompt_data, prompt_offsets[i], prompt_offsets[i + 1], is_word, p_hashes, p_bounds
        )
        _text_ints(answer_data, a_bounds, a_hashes, na, a_letters, stop_table, votes, answer_ints[i])
        _text_ints(prompt_data, p_bounds, p_hashes, np_, p_letters, stop_table, votes, prompt_ints[i])
        if 0 < na < n and na == np_:
            same = True
            for w in range(na):
                a0, a1 = a_bounds[w, 0], a_bounds[w, 1]
                p0, p1 = p_bounds[w, 0], p_bounds[w, 1]
                if a1 - a0 != p1 - p0:
                    same = False
                    break
                for j in range(a1 - a0):
                    if answer_data[a0 + j] != prompt_data[p0 + j]:
                        same = False
                        break
                if not same:
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
