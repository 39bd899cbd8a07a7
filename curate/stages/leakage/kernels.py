"""Compiled loops behind lexical leakage: a set of window hashes, and the windows of each
document found in it.

Words come from the tokeniser (curate/stages/words) as arrays. numba compiles these once and
caches the machine code next to this file; they call no compiled function of another file
(numba's cache only notices a change to the file of the function it compiled). Arithmetic is on
``uint64`` explicitly: numba would otherwise promote a mix of signed and unsigned integers to float.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

_SPREAD: Final = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it is a bijection
_FILTER_BITS: Final = 22  # a 512 KB bit filter in front of the set: most windows miss it


@njit(cache=True, nogil=True, inline="always")
def _spread(key: np.uint64, bits: int) -> np.int64:
    """The top ``bits`` of a multiplicative hash: one multiply, where splitmix64 takes four steps."""
    return np.int64((key * _SPREAD) >> np.uint64(64 - bits))


@njit(cache=True, nogil=True)
def key_table(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """An open-addressing set of ``keys`` (distinct): slots, which slots are used, and a bit
    filter (one bit per ``_spread`` value, set for each key)."""
    bits = 4
    while (1 << bits) < 2 * len(keys):
        bits += 1
    slots = np.zeros(1 << bits, dtype=np.uint64)
    used = np.zeros(1 << bits, dtype=np.bool_)
    seen = np.zeros(1 << (_FILTER_BITS - 6), dtype=np.uint64)
    mask = (1 << bits) - 1
    for key in keys:
        f = _spread(key, _FILTER_BITS)
        seen[f >> 6] |= np.uint64(1) << np.uint64(f & 63)
        slot = _spread(key, bits)
        while used[slot] and slots[slot] != key:
            slot = (slot + 1) & mask
        slots[slot] = key
        used[slot] = True
    return slots, used, seen


@njit(cache=True, nogil=True)
def window_hits(
    hashes: np.ndarray,
    offsets: np.ndarray,
    n: int,
    base: np.uint64,
    base_inverse: np.uint64,
    slots: np.ndarray,
    used: np.ndarray,
    seen: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The n-word windows inside each document whose hash is in the ``key_table`` set:
    (document, start within it, hash), in document and position order. A window's hash is
    sum(hash[start + i] * base**i) modulo 2**64 (``Words.windows``), rolled along each document."""
    bits = 0
    while (1 << bits) < len(slots):
        bits += 1
    mask = len(slots) - 1
    top = np.uint64(1)
    for _ in range(n - 1):
        top *= base  # base ** (n - 1)
    docs = np.empty(16, dtype=np.int64)
    starts = np.empty(16, dtype=np.int64)
    found = np.empty(16, dtype=np.uint64)
    count = 0
    for d in range(len(offsets) - 1):
        first, last = offsets[d], offsets[d + 1] - n  # window starts first..last
        if last < first or n <= 0:
            continue
        window = np.uint64(0)
        power = np.uint64(1)
        for i in range(n):
            window += hashes[first + i] * power
            power *= base
        for start in range(first, last + 1):
            if start > first:  # drop the word before, shift down one power, add the new last word
                window = (window - hashes[start - 1]) * base_inverse + hashes[start + n - 1] * top
            f = _spread(window, _FILTER_BITS)
            if not (seen[f >> 6] >> np.uint64(f & 63)) & np.uint64(1):
                continue
            slot = _spread(window, bits)
            while used[slot]:
                if slots[slot] == window:
                    if count == len(docs):
                        docs, starts, found = _grown(docs), _grown(starts), _grown(found)
                    docs[count], starts[count], found[count] = d, start - first, window
                    count += 1
                    break
                slot = (slot + 1) & mask
    return docs[:count].copy(), starts[:count].copy(), found[:count].copy()


@njit(cache=True, nogil=True)
def _grown(values: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(values), dtype=values.dtype)
    out[: len(values)] = values
    return out
