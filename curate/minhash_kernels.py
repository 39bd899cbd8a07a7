"""Compiled loops behind ``curate.minhash``: tokenising, shingling, signatures and densification.

These are the per-byte and per-shingle loops that numpy and polars can only express with large
intermediates (a regex match list per text, a window-start array per shingle, a scatter-min over
``rows * num_perm``). numba compiles them once and caches the machine code next to this file,
so a build pays the compile only the first time. All arithmetic is on ``uint64``/``uint32``
explicitly: numba would otherwise promote a mix of signed and unsigned integers to float.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

_EMPTY: Final = np.uint32(0xFFFFFFFF)
_WORD_OFFSET: Final = np.uint64(0xCBF29CE484222325)
_WORD_PRIME: Final = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplying by it is a bijection
_FILL_STEP: Final = np.uint32(0x9E3779B1)


@njit(cache=True, nogil=True, inline="always")
def mix64(x: np.uint64) -> np.uint64:
    """splitmix64 finaliser (the same as ``minhash.mix``)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


@njit(cache=True, nogil=True, inline="always")
def word_start(seed: np.uint64) -> np.uint64:
    """The state every word's hash starts from, moved by the seed."""
    return _WORD_OFFSET ^ mix64(seed)


@njit(cache=True, nogil=True, inline="always")
def add_byte(h: np.uint64, packed: np.uint64, filled: int, c: np.uint64) -> tuple[np.uint64, np.uint64, int]:
    """Feed one byte of a word: bytes are packed eight to a 64-bit lane and each full lane is
    folded in with one multiply, so the chain of dependent multiplies is an eighth as long as
    hashing byte by byte. Word bytes are never 0, so packing is unambiguous."""
    packed = (packed << np.uint64(8)) | c
    filled += 1
    if filled == 8:
        return (h ^ packed) * _WORD_PRIME, np.uint64(0), 0
    return h, packed, filled


@njit(cache=True, nogil=True, inline="always")
def finish_word(h: np.uint64, packed: np.uint64) -> np.uint64:
    return mix64((h ^ packed) * _WORD_PRIME)


@njit(cache=True, nogil=True, inline="always")
def feed(
    c: np.uint64,
    h: np.uint64,
    packed: np.uint64,
    filled: int,
    in_word: bool,
    start: np.uint64,
    hashes: np.ndarray,
    count: int,
) -> tuple[np.uint64, np.uint64, int, bool, int]:
    """One byte into the tokeniser (``c`` = 0 for a separator): a word byte extends the word,
    a separator ends it and stores its hash at ``hashes[count]``. Returns the new state."""
    if c != 0:
        h, packed, filled = add_byte(h, packed, filled, c)
        return h, packed, filled, True, count
    if in_word:
        hashes[count] = finish_word(h, packed)
        return start, np.uint64(0), 0, False, count + 1
    return h, packed, filled, False, count


def _word_bytes() -> np.ndarray:
    """Byte -> the byte a word is hashed with (ASCII letters lower-cased), or 0 for a separator.
    Bytes >= 0x80 are parts of non-ASCII characters: letters, once the caller has normalised the text."""
    table = np.zeros(256, dtype=np.uint64)
    for b in range(256):
        if chr(b).isascii() and chr(b).isalnum():
            table[b] = ord(chr(b).lower())
        elif b >= 0x80:
            table[b] = b
    return table


WORD_BYTES: Final = _word_bytes()
ASCII_WORD_BYTES: Final = np.where(np.arange(256) < 0x80, WORD_BYTES, 0).astype(np.uint64)


@njit(cache=True, nogil=True)
def word_hashes(
    data: np.ndarray, offsets: np.ndarray, seed: np.uint64
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Hashes of the words of each ASCII text in ``data[offsets[i]:offsets[i + 1]]``.

    A word is a run of ASCII letters and digits, compared lower-cased. Each word is hashed
    from a seeded start (``add_byte``) and finished with splitmix64. A text holding any byte >= 0x80
    gets no words and is marked in the third result, for the caller to normalise and pass
    to ``letter_word_hashes``. Returns the flat
    hashes, per-text offsets into them and the non-ASCII marks.
    """
    return _word_hashes(data, offsets, seed, True)


@njit(cache=True, nogil=True)
def letter_word_hashes(
    data: np.ndarray, offsets: np.ndarray, seed: np.uint64
) -> tuple[np.ndarray, np.ndarray]:
    """Like ``word_hashes`` for texts already normalised (lower case, punctuation as spaces):
    bytes >= 0x80 are parts of letters and count as word bytes."""
    hashes, word_offsets, _ = _word_hashes(data, offsets, seed, False)
    return hashes, word_offsets


@njit(cache=True, nogil=True)
def _word_hashes(
    data: np.ndarray, offsets: np.ndarray, seed: np.uint64, ascii_only: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = len(offsets) - 1
    table = WORD_BYTES
    # At most one word per two bytes (a word and its separator), plus a final word per text.
    hashes = np.empty((len(data) + 1) // 2 + n, dtype=np.uint64)
    word_offsets = np.zeros(n + 1, dtype=np.int64)
    non_ascii = np.zeros(n, dtype=np.bool_)
    start = word_start(seed)
    count = 0
    for i in range(n):
        h, packed, filled = start, np.uint64(0), 0
        in_word = False
        for k in range(offsets[i], offsets[i + 1]):
            b = data[k]
            if ascii_only and b >= 0x80:
                non_ascii[i] = True
                break
            h, packed, filled, in_word, count = feed(
                table[b], h, packed, filled, in_word, start, hashes, count
            )
        if non_ascii[i]:
            count = word_offsets[i]  # drop the words taken before the first non-ASCII byte
        elif in_word:
            hashes[count] = finish_word(h, packed)
            count += 1
        word_offsets[i + 1] = count
    return hashes[:count].copy(), word_offsets, non_ascii


@njit(cache=True, nogil=True)
def splice_words(
    hashes: np.ndarray, offsets: np.ndarray, rows: np.ndarray, row_hashes: np.ndarray, row_offsets: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Replace the words of texts ``rows`` (ascending) with ``row_hashes``/``row_offsets``."""
    n = len(offsets) - 1
    counts = np.diff(offsets)
    for j in range(len(rows)):
        counts[rows[j]] = row_offsets[j + 1] - row_offsets[j]
    out_offsets = np.zeros(n + 1, dtype=np.int64)
    for i in range(n):
        out_offsets[i + 1] = out_offsets[i] + counts[i]
    out = np.empty(out_offsets[n], dtype=np.uint64)
    j = 0
    for i in range(n):
        if j < len(rows) and rows[j] == i:
            out[out_offsets[i] : out_offsets[i + 1]] = row_hashes[row_offsets[j] : row_offsets[j + 1]]
            j += 1
        else:
            out[out_offsets[i] : out_offsets[i + 1]] = hashes[offsets[i] : offsets[i + 1]]
    return out, out_offsets


@njit(cache=True, nogil=True)
def shingle_hashes(
    hashes: np.ndarray, offsets: np.ndarray, n: int, multipliers: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Mixed hashes of the word n-grams of each text (the weighted sum of its words, one odd
    multiplier per position), and the text each belongs to. A text shorter than ``n`` words
    gives one shingle of all its words."""
    texts = len(offsets) - 1
    total = 0
    for i in range(texts):
        length = offsets[i + 1] - offsets[i]
        if length >= n:
            total += length - n + 1
        elif length > 0:
            total += 1
    out = np.empty(total, dtype=np.uint64)
    rows = np.empty(total, dtype=np.int64)
    at = 0
    for i in range(texts):
        first, length = offsets[i], offsets[i + 1] - offsets[i]
        if length == 0:
            continue
        windows = length - n + 1 if length >= n else 1
        width = n if length >= n else length
        for w in range(windows):
            acc = np.uint64(0)
            for j in range(width):
                acc += hashes[first + w + j] * multipliers[j]
            out[at] = mix64(acc)
            rows[at] = i
            at += 1
    return out, rows


@njit(cache=True, nogil=True)
def oph_signatures(
    shingles: np.ndarray,
    rows: np.ndarray,
    n_rows: int,
    num_perm: int,
    seed: np.uint64,
    shift: np.uint64,
    go_right: np.ndarray,
) -> tuple[np.ndarray, np.ndarray]:
    """One-permutation MinHash: each shingle picks a bin from its top bits (``64 - shift`` of
    them) and keeps the minimum of its low 32 bits there; then empty bins of each non-empty text
    are densified."""
    moved = mix64(seed)
    signatures = np.full((n_rows, num_perm), _EMPTY, dtype=np.uint32)
    has_any = np.zeros(n_rows, dtype=np.bool_)
    for k in range(len(shingles)):
        mixed = shingles[k] ^ moved
        row = rows[k]
        b = np.int64(mixed >> shift)
        value = np.uint32(mixed & np.uint64(0xFFFFFFFF))
        if value < signatures[row, b]:
            signatures[row, b] = value
        has_any[row] = True
    filled = np.empty(num_perm, dtype=np.int64)
    for row in range(n_rows):
        if has_any[row]:
            _densify_row(signatures[row], num_perm, go_right, filled)
    return signatures, has_any


@njit(cache=True, nogil=True)
def _densify_row(bins: np.ndarray, num_perm: int, go_right: np.ndarray, filled: np.ndarray) -> None:
    """Improved densification (Shrivastava and Li, ICML 2014): an empty bin borrows the nearest
    non-empty bin in its fixed direction (circularly) and adds a multiple of the distance, so a
    borrowed value only matches one borrowed from the same distance."""
    count = 0
    for p in range(num_perm):
        if bins[p] != _EMPTY:
            filled[count] = p
            count += 1
    if count == num_perm or count == 0:  # none: every shingle's value was the empty marker itself
        return
    # Walk each gap between consecutive non-empty bins (the last gap wraps past the end).
    for j in range(count):
        before = filled[j]
        after = filled[j + 1] if j + 1 < count else filled[0] + num_perm
        for q in range(before + 1, after):
            p = q - num_perm if q >= num_perm else q
            right = np.int64(go_right[p])  # arithmetic, not a branch: the direction is a coin flip
            donor = before + right * (after - before)
            distance = (q - before) + right * ((after - q) - (q - before))
            if donor >= num_perm:
                donor -= num_perm
            bins[p] = bins[donor] + np.uint32(distance) * _FILL_STEP


@njit(cache=True, nogil=True)
def band_keys(signatures: np.ndarray, bands: int, rows_per_band: int, weights: np.ndarray) -> np.ndarray:
    """One 32-bit key per band: the mixed weighted sum of the band's bins, salted by the band."""
    n_rows = signatures.shape[0]
    keys = np.empty((n_rows, bands), dtype=np.uint32)
    for row in range(n_rows):
        for band in range(bands):
            total = np.uint64(band)
            for j in range(band * rows_per_band, (band + 1) * rows_per_band):
                total += np.uint64(signatures[row, j]) * weights[j]
            keys[row, band] = np.uint32(mix64(total) >> np.uint64(32))
    return keys
