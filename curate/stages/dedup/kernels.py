"""Compiled loops behind near dedup: shingling, signatures, LSH candidates, components.

Words come from the tokeniser (curate/stages/words) as arrays. These are the per-shingle loops
that numpy and polars can only express with large intermediates (a window-start array per
shingle, a scatter-min over ``rows * num_perm``). numba compiles them once and caches the
machine code next to this file, so a build pays the compile only the first time. They call no
compiled function of another file: numba's cache only notices a change to the file of the
function it compiled. All arithmetic is on ``uint64``/``uint32`` explicitly: numba would
otherwise promote a mix of signed and unsigned integers to float.
"""

# ruff: noqa: SIM109, SIM110  (plain comparisons and loops: what numba compiles well; no generators)

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

from curate.stages.words.kernels import mix64  # splitmix64, the same as ``minhash.mix``

_EMPTY: Final = np.uint32(0xFFFFFFFF)
_FILL_STEP: Final = np.uint32(0x9E3779B1)


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


@njit(cache=True, nogil=True)
def index_rows(
    hashes: np.ndarray,
    offsets: np.ndarray,
    n: int,
    multipliers: np.ndarray,
    seed: np.uint64,
    shift: np.uint64,
    go_right: np.ndarray,
    rows_per_band: int,
    weights: np.ndarray,
    small: np.ndarray,
    keys: np.ndarray,
    valid: np.ndarray,
) -> None:
    """``shingle_hashes``, ``oph_signatures`` and ``band_keys`` for each text at once, written to
    row i of ``small`` (low byte of each bin), ``keys`` and ``valid``: one text's bins stay in
    cache while its shingles land in them, where a batch's signature matrix would not."""
    num_perm = small.shape[1]
    moved = mix64(seed)
    bins = np.empty(num_perm, dtype=np.uint32)
    filled = np.empty(num_perm, dtype=np.int64)
    for i in range(len(offsets) - 1):
        first, length = offsets[i], offsets[i + 1] - offsets[i]
        valid[i] = length > 0
        bins[:] = _EMPTY  # a text with no words keeps its empty bins, as oph_signatures leaves them
        windows = 0 if length == 0 else length - n + 1 if length >= n else 1
        width = n if length >= n else length
        for w in range(windows):
            acc = np.uint64(0)
            for j in range(width):
                acc += hashes[first + w + j] * multipliers[j]
            mixed = mix64(acc) ^ moved
            b = np.int64(mixed >> shift)
            value = np.uint32(mixed & np.uint64(0xFFFFFFFF))
            if value < bins[b]:
                bins[b] = value
        _densify_row(bins, num_perm, go_right, filled)
        for p in range(num_perm):
            small[i, p] = np.uint8(bins[p] & np.uint32(0xFF))
        for band in range(keys.shape[1]):
            total = np.uint64(band)
            for j in range(band * rows_per_band, (band + 1) * rows_per_band):
                total += np.uint64(bins[j]) * weights[j]
            keys[i, band] = np.uint32(mix64(total) >> np.uint64(32))


@njit(cache=True, nogil=True)
def sequence_keys(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """One 64-bit key per text for its exact word sequence (0 for a text with no words): the
    wrapping sum of each word hash mixed with its position."""
    keys = np.zeros(len(offsets) - 1, dtype=np.uint64)
    for i in range(len(offsets) - 1):
        total = np.uint64(0)
        for k in range(offsets[i], offsets[i + 1]):
            total += mix64(hashes[k] ^ mix64(np.uint64(k - offsets[i] + 1)))
        keys[i] = total
    return keys


@njit(cache=True, nogil=True)
def _root(parent: np.ndarray, i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]  # path halving
        i = parent[i]
    return i


@njit(cache=True, nogil=True)
def _union(parent: np.ndarray, a: int, b: int) -> bool:
    """Join the sets of a and b under the smaller root; False when already one set."""
    ra, rb = _root(parent, a), _root(parent, b)
    if ra == rb:
        return False
    if ra < rb:
        parent[rb] = ra
    else:
        parent[ra] = rb
    return True


@njit(cache=True, nogil=True)
def components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union-find over edges: each node's label is the smallest node of its component."""
    parent = np.arange(n, dtype=np.int64)
    for k in range(len(a)):
        _union(parent, a[k], b[k])
    for i in range(n):
        parent[i] = _root(parent, i)
    return parent


@njit(cache=True, nogil=True)
def forest_edges(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Which edges join two components when taken in order (a spanning forest): the others
    connect nothing more, so the forest's components are the edges' components."""
    return join_edges(np.arange(n, dtype=np.int64), a, b)


@njit(cache=True, nogil=True)
def join_edges(parent: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``forest_edges`` onto the components ``parent`` already holds (a union-find's parent
    array, updated): which of the edges join two of them."""
    kept = np.zeros(len(a), dtype=np.bool_)
    for k in range(len(a)):
        kept[k] = _union(parent, a[k], b[k])
    return kept


@njit(cache=True, nogil=True)
def similar_pairs(
    keys: np.ndarray, valid: np.ndarray, small: np.ndarray, passes: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Edges of a spanning forest of the verified LSH candidates. In each band, every row whose
    key an earlier row holds is a candidate with the first such row (a star per bucket); a pair
    whose count of equal signature bytes ``passes`` is joined. A pair already in one component
    is skipped unverified: it would add nothing to the components."""
    n, bands = keys.shape
    size = 1
    while size < 2 * n:
        size *= 2
    mask = size - 1
    # A slot holds a band key (32 bits) and its first row (-1: empty; ``n`` < 2**31): 8 bytes a
    # slot, half of what two 64-bit arrays took.
    table_keys = np.empty(size, dtype=np.uint32)
    table_rows = np.empty(size, dtype=np.int32)
    parent = np.arange(n, dtype=np.int64)
    out_a = np.empty(n, dtype=np.int64)
    out_b = np.empty(n, dtype=np.int64)
    edges = 0
    for band in range(bands):
        table_rows[:] = -1
        for row in range(n):
            if not valid[row]:
                continue
            key = keys[row, band]
            slot = np.int64(mix64(np.uint64(key)) & np.uint64(mask))
            while table_rows[slot] != -1 and table_keys[slot] != key:
                slot = (slot + 1) & mask
            if table_rows[slot] == -1:
                table_keys[slot] = key
                table_rows[slot] = row
                continue
            first = int(table_rows[slot])
            if _root(parent, first) == _root(parent, row):
                continue
            agree = 0
            for p in range(small.shape[1]):
                agree += small[first, p] == small[row, p]
            if passes[agree] and _union(parent, first, row):
                out_a[edges] = first
                out_b[edges] = row
                edges += 1
    return out_a[:edges].copy(), out_b[:edges].copy()


@njit(cache=True, nogil=True)
def kept_rows(group: np.ndarray, priority: np.ndarray, score: np.ndarray) -> np.ndarray:
    """For each row of a group (``group`` >= 0, a row number), the row its group keeps: the
    least (priority, score, row), a NaN score after every number, as a sort on them would give;
    -1 for rows in no group. One pass, where a sort of every grouped row costs far more."""
    n = len(group)
    best = np.full(n, -1, dtype=np.int64)
    for row in range(n):
        g = group[row]
        if g < 0:
            continue
        b = best[g]
        if b < 0 or _before(priority[row], score[row], priority[b], score[b]):
            best[g] = row  # rows ascend, so a tie keeps the earlier row
    kept = np.full(n, -1, dtype=np.int64)
    for row in range(n):
        if group[row] >= 0:
            kept[row] = best[group[row]]
    return kept


@njit(cache=True, nogil=True, inline="always")
def _before(priority_a: int, score_a: float, priority_b: int, score_b: float) -> bool:
    if priority_a != priority_b:
        return priority_a < priority_b
    nan_a, nan_b = score_a != score_a, score_b != score_b
    if nan_a or nan_b:
        return nan_b and not nan_a
    return score_a < score_b
