"""Vectorised MinHash + LSH for near-duplicate search, with no Python work per record or shingle.

Why not datasketch's own MinHash: it hashes every shingle in a Python loop and pays one
multiply per permutation per shingle. Here words are hashed by polars, word n-grams are
combined with numpy over the whole batch at once, and signatures use one-permutation hashing
(each shingle hash picks one of ``num_perm`` bins and only the minimum per bin is kept) with
optimal densification for empty bins (Shrivastava, ICML 2017), so the cost per record does not
grow with ``num_perm``. Signatures are kept as 8-bit values (b-bit minwise hashing, Li and
Koenig 2010: the estimate is corrected for chance agreement), and the LSH band keys are taken
from the full 32-bit values, so the index of one million records fits in a few hundred MB.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

_U64: Final = np.uint64
_MASK32: Final = np.uint64(0xFFFFFFFF)
_EMPTY: Final = np.uint32(0xFFFFFFFF)
# Odd multipliers that spread word hashes over n-gram positions (64-bit golden-ratio family).
_POSITION_MULTIPLIERS: Final = np.array(
    [0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0xD6E8FEB86659FD93,
     0xFF51AFD7ED558CCD, 0xC4CEB9FE1A85EC53, 0x94D049BB133111EB, 0xBF58476D1CE4E5B9],
    dtype=np.uint64,
)  # fmt: skip
MAX_SHINGLE: Final = len(_POSITION_MULTIPLIERS)


def mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser: turns structured sums into uniform 64-bit hashes (wrapping uint64)."""
    with np.errstate(over="ignore"):
        x = x ^ (x >> _U64(30))
        x = x * _U64(0xBF58476D1CE4E5B9)
        x = x ^ (x >> _U64(27))
        x = x * _U64(0x94D049BB133111EB)
        return x ^ (x >> _U64(31))


# Texts with non-ASCII characters are normalised by polars first (NFKC, lower case, anything
# but letters and digits to spaces); then one regex takes the words out of every text: ASCII
# letters and digits, and any non-ASCII character (only letters remain there by then).
_NON_ASCII: Final = r"[^\x00-\x7f]"
_NOT_WORD: Final = r"[^\p{L}\p{N}]+"
_WORD: Final = r"[a-z0-9\x{80}-\x{10FFFF}]+"


def word_hashes(texts: pl.Series, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the words of each text, flattened, and each text's offsets into them.

    Words are runs of letters and digits compared lower-cased, so case, spacing and
    punctuation edits change no word. ``offsets[i]:offsets[i + 1]`` are text i's words; an empty
    or null text has none. Hashing is polars' (no Python object per word).
    """
    texts = texts.cast(pl.Utf8).fill_null("")
    special = texts.str.contains(_NON_ASCII)
    lower = texts.str.to_lowercase()
    if special.any():
        fixed = texts.filter(special).str.normalize("NFKC").str.to_lowercase().str.replace_all(_NOT_WORD, " ")
        lower = lower.scatter(special.arg_true(), fixed)
    words = lower.str.extract_all(_WORD)
    lengths = words.list.len().fill_null(0).to_numpy()
    hashes = words.explode().drop_nulls().hash(seed=seed).to_numpy()
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    return hashes.astype(np.uint64, copy=False), offsets


def shingle_hashes(hashes: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word n-grams of each text and the text each belongs to.

    A text shorter than ``n`` words gives one shingle of all its words, so short texts still match.
    """
    if not 1 <= n <= MAX_SHINGLE:
        raise ValueError(f"shingle size must be 1..{MAX_SHINGLE}, got {n}")
    lengths = np.diff(offsets)
    windows = max(0, len(hashes) - n + 1)
    combined = np.zeros(windows, dtype=np.uint64)
    with np.errstate(over="ignore"):
        for j in range(n):  # every window of n words; those crossing a text boundary are dropped
            combined += hashes[j : j + windows] * _POSITION_MULTIPLIERS[j]
    row = np.repeat(np.arange(len(lengths), dtype=np.int64), np.maximum(lengths - n + 1, 0))
    full = combined[_window_starts(offsets, lengths, n)]
    short = np.flatnonzero((lengths > 0) & (lengths < n))
    if len(short):
        padded = np.zeros(len(short), dtype=np.uint64)
        with np.errstate(over="ignore"):
            for j in range(n - 1):
                present = j < lengths[short]
                at = np.where(present, offsets[short] + j, 0)
                padded += np.where(present, hashes[at], _U64(0)) * _POSITION_MULTIPLIERS[j]
        full = np.concatenate([full, padded])
        row = np.concatenate([row, short])
    return mix(full), row


def _window_starts(offsets: np.ndarray, lengths: np.ndarray, n: int) -> np.ndarray:
    """Flat word positions where a window of n words fits inside its text."""
    count = np.maximum(lengths - n + 1, 0)
    total = int(count.sum())
    first = np.repeat(offsets[:-1], count)
    before = np.repeat(np.cumsum(count) - count, count)
    return first + (np.arange(total, dtype=np.int64) - before)


def oph_signatures(
    shingles: np.ndarray, rows: np.ndarray, n_rows: int, num_perm: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """One-permutation MinHash signatures (n_rows, num_perm) uint32, densified; and which rows
    had any shingle (rows with none get no signature and never match)."""
    if num_perm & (num_perm - 1) or not 8 <= num_perm <= 1024:
        raise ValueError(f"num_perm must be a power of two in 8..1024, got {num_perm}")
    bits = num_perm.bit_length() - 1
    with np.errstate(over="ignore"):
        # Shingle hashes are already mixed; the seed only needs to move them.
        mixed = shingles ^ mix(np.array([seed], dtype=np.uint64))
    bins = (mixed >> _U64(64 - bits)).astype(np.int64)
    values = (mixed & _MASK32).astype(np.uint32)
    flat = np.full(n_rows * num_perm, _EMPTY, dtype=np.uint32)
    np.minimum.at(flat, rows * num_perm + bins, values)
    signatures = flat.reshape(n_rows, num_perm)
    has_any = np.zeros(n_rows, dtype=bool)
    has_any[rows] = True
    _densify(signatures, has_any, seed)
    return signatures, has_any


def _densify(signatures: np.ndarray, has_any: np.ndarray, seed: int) -> None:
    """Fill empty bins so every bin of a non-empty text holds a comparable value.

    Improved densification (Shrivastava and Li, ICML 2014): an empty bin borrows the nearest
    non-empty bin to its right or to its left, the direction fixed per bin by a seeded bit, and
    adds a multiple of the distance, so a borrowed value only matches one borrowed from the same
    distance. Fixed directions keep two texts' fills comparable; random ones keep neighbouring
    empty bins from all copying the same donor. No loop over attempts: a few passes over the
    (rows, bins) array, which keeps the cost per record independent of how short a text is.
    """
    num_perm = signatures.shape[1]
    empty_any = (signatures == _EMPTY).any(axis=1)
    for begin in range(0, signatures.shape[0], _DENSIFY_ROWS):  # blocks that stay in cache
        rows = begin + np.flatnonzero(
            has_any[begin : begin + _DENSIFY_ROWS] & empty_any[begin : begin + _DENSIFY_ROWS]
        )
        if len(rows):
            signatures[rows] = _densify_block(signatures[rows], num_perm, seed)


_DENSIFY_ROWS: Final = 4096


def _densify_block(block: np.ndarray, num_perm: int, seed: int) -> np.ndarray:
    empty = block == _EMPTY
    position = np.arange(num_perm, dtype=np.int16)
    far = np.int16(3 * num_perm)
    # Next non-empty bin at or after each bin (circular): a running minimum from the right.
    ahead = np.where(empty, far, position)
    ahead = np.concatenate([ahead, ahead + np.int16(num_perm)], axis=1)[:, ::-1]
    right = np.minimum.accumulate(ahead, axis=1)[:, : num_perm - 1 : -1]
    # Previous non-empty bin at or before each bin (circular): a running maximum from the left.
    behind = np.where(empty, -far, position)
    behind = np.concatenate([behind - np.int16(num_perm), behind], axis=1)
    left = np.maximum.accumulate(behind, axis=1)[:, num_perm:]
    go_right = (mix(np.arange(num_perm, dtype=np.uint64) + _U64(seed)) & _U64(1)).astype(bool)
    donor = np.where(go_right, right, left)
    distance = np.abs(donor - position).astype(np.uint32)
    donor %= np.int16(num_perm)
    with np.errstate(over="ignore"):
        borrowed = np.take_along_axis(block, donor.astype(np.intp), axis=1) + distance * np.uint32(0x9E3779B1)
    return np.where(empty, borrowed, block)


def band_keys(signatures: np.ndarray, bands: int, rows_per_band: int) -> np.ndarray:
    """One 32-bit key per band (n_rows, bands): equal keys mean equal bins across the band."""
    n_rows = signatures.shape[0]
    weights = mix(np.arange(1, bands * rows_per_band + 1, dtype=np.uint64)) | _U64(1)
    used = signatures[:, : bands * rows_per_band].astype(np.uint64)
    with np.errstate(over="ignore"):
        used *= weights[None, :]
        total = used.reshape(n_rows, bands, rows_per_band).sum(axis=2, dtype=np.uint64)
        total += np.arange(bands, dtype=np.uint64)[None, :]
    return (mix(total) >> _U64(32)).astype(np.uint32)


def choose_bands(num_perm: int, threshold: float, recall_weight: float = 0.8) -> tuple[int, int]:
    """Bands and rows per band whose LSH S-curve best separates pairs around ``threshold``.

    Candidates are verified afterwards, so misses weigh more than false candidates.
    """
    grid = np.linspace(0.0, 1.0, 1001)
    best = (1, num_perm)
    best_cost = float("inf")
    for rows_per_band in range(1, num_perm + 1):
        bands = num_perm // rows_per_band
        chance = 1.0 - (1.0 - grid**rows_per_band) ** bands
        false_pos = np.trapezoid(np.where(grid < threshold, chance, 0.0), grid)
        false_neg = np.trapezoid(np.where(grid >= threshold, 1.0 - chance, 0.0), grid)
        cost = float((1.0 - recall_weight) * false_pos + recall_weight * false_neg)
        if cost < best_cost:
            best, best_cost = (bands, rows_per_band), cost
    return best


_SORT_ENTRIES: Final = 1 << 21  # (band, key) entries sorted at once: bounds memory at a million rows


def candidate_pairs(keys: np.ndarray, valid: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs sharing any band key, each pair once (lower row first).

    Each bucket member is paired with the bucket's first member (a star, not all pairs, so a
    large bucket costs linear work). Several bands are sorted at once as (band, key) values,
    and pairs are de-duplicated after each group of bands so memory stays bounded.
    """
    index = np.flatnonzero(valid)
    total_bands = keys.shape[1]
    step = max(1, _SORT_ENTRIES // max(1, len(index)))
    pairs = np.zeros(0, dtype=np.int64)
    for begin in range(0, total_bands, step):
        bands = min(step, total_bands - begin)
        packed = (np.arange(bands, dtype=np.uint64)[None, :] << _U64(32)) | keys[index, begin : begin + bands]
        packed = packed.reshape(-1)
        order = np.argsort(
            packed, kind="stable"
        )  # stable: a bucket's star centre is its lowest row in every band
        ordered = packed[order]
        del packed
        starts = np.ones(len(ordered), dtype=bool)
        starts[1:] = ordered[1:] != ordered[:-1]
        del ordered
        first_pos = np.maximum.accumulate(np.where(starts, np.arange(len(order)), 0))
        member = ~starts
        a = index[order[first_pos[member]] // bands]
        b = index[order[member] // bands]
        low, high = np.minimum(a, b), np.maximum(a, b)
        pairs = np.unique(np.concatenate([pairs, low << 32 | high]))
    return pairs >> 32, pairs & 0xFFFFFFFF


def estimate_jaccard(small: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard estimates for row pairs from 8-bit signatures, corrected for chance agreement."""
    out = np.empty(len(a), dtype=np.float32)
    step = 1 << 18
    for start in range(0, len(a), step):
        agree = (small[a[start : start + step]] == small[b[start : start + step]]).mean(axis=1)
        out[start : start + step] = agree
    chance = 1.0 / 256.0
    return np.clip((out - chance) / (1.0 - chance), 0.0, 1.0)


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union-find over edges, vectorised: each node's label is the smallest node of its component.

    Hooking (every node points at the smaller root of each edge) then pointer jumping until
    nothing changes; chains of near-duplicates end up in one component.
    """
    parent = np.arange(n, dtype=np.int64)
    if not len(a):
        return parent
    while True:
        root_a, root_b = parent[a], parent[b]
        low = np.minimum(root_a, root_b)
        before = parent.copy()
        np.minimum.at(parent, root_a, low)
        np.minimum.at(parent, root_b, low)
        while True:  # pointer jumping: flatten every path to its root
            jumped = parent[parent]
            if np.array_equal(jumped, parent):
                break
            parent = jumped
        if np.array_equal(parent, before):
            return parent


@dataclass(frozen=True)
class Index:
    """What the near-dup search keeps per record: 8-bit signatures and LSH band keys."""

    small: np.ndarray  # (n, num_perm) uint8: low byte of each densified bin
    keys: np.ndarray  # (n, bands) uint32
    valid: np.ndarray  # (n,) bool: the record had at least one shingle


def build_index(
    batches: Iterable[tuple[np.ndarray, np.ndarray]],
    n_rows: int,
    *,
    shingle: int,
    num_perm: int,
    bands: int,
    rows_per_band: int,
    seed: int = 0,
    advance: Callable[[int], None] | None = None,
) -> Index:
    """Signatures and band keys for texts arriving in batches of (word hashes, offsets), so
    only one batch's shingles are in memory at a time."""
    small = np.zeros((n_rows, num_perm), dtype=np.uint8)
    keys = np.zeros((n_rows, bands), dtype=np.uint32)
    valid = np.zeros(n_rows, dtype=bool)
    start = 0
    for hashes, offsets in batches:
        count = len(offsets) - 1
        shingles, rows = shingle_hashes(hashes, offsets, shingle)
        signatures, has_any = oph_signatures(shingles, rows, count, num_perm, seed)
        small[start : start + count] = (signatures & 0xFF).astype(np.uint8)
        keys[start : start + count] = band_keys(signatures, bands, rows_per_band)
        valid[start : start + count] = has_any
        start += count
        if advance is not None:
            advance(count)
    if start != n_rows:
        raise ValueError(f"expected {n_rows} texts, got {start}")
    return Index(small, keys, valid)
