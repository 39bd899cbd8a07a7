"""Vectorised MinHash + LSH for near-duplicate search, with no Python work per record or shingle.

Why not datasketch's own MinHash: it hashes every shingle in a Python loop and pays one
multiply per permutation per shingle. Here words are tokenised and hashed straight from the
texts' UTF-8 bytes (curate/stages/words), and word n-grams combined, by compiled loops (``kernels``), and
signatures use one-permutation hashing (each shingle hash picks one of ``num_perm`` bins and
only the minimum per bin is kept) with densification for empty bins, so the cost per record
does not grow with ``num_perm``. Signatures are kept as 8-bit values (b-bit minwise hashing, Li and
Koenig 2010: the estimate is corrected for chance agreement), and the LSH band keys are taken
from the full 32-bit values, so the index of one million records fits in a few hundred MB.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from curate.stages.dedup import kernels
from curate.stages.words.rules import DEDUP
from curate.stages.words.texts import words_of_texts

_U64: Final = np.uint64
_MASK32: Final = np.uint64(0xFFFFFFFF)
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
        mixed: np.ndarray = x ^ (x >> _U64(31))
        return mixed


def word_hashes(texts: pl.Series, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """64-bit hashes of the words of each text, flattened, and each text's offsets into them.

    Words are read by near dedup's rules (``words.rules.DEDUP``: runs of letters and digits of
    the NFKC-normalised, lower-cased text), so case, spacing and punctuation edits change no
    word. ``offsets[i]:offsets[i + 1]`` are text i's words; an empty or null text has none.
    """
    words = words_of_texts(texts, DEDUP, seed=seed)
    return words.hashes, words.offsets


def shingle_hashes(hashes: np.ndarray, offsets: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Hashes of the word n-grams of each text and the text each belongs to.

    A text shorter than ``n`` words gives one shingle of all its words, so short texts still match.
    """
    if not 1 <= n <= MAX_SHINGLE:
        raise ValueError(f"shingle size must be 1..{MAX_SHINGLE}, got {n}")
    return kernels.shingle_hashes(
        hashes.astype(np.uint64, copy=False), offsets.astype(np.int64, copy=False), n, _POSITION_MULTIPLIERS
    )


def oph_signatures(
    shingles: np.ndarray, rows: np.ndarray, n_rows: int, num_perm: int, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    """One-permutation MinHash signatures (n_rows, num_perm) uint32, densified; and which rows
    had any shingle (rows with none get no signature and never match).

    Empty bins borrow from the nearest non-empty bin in a direction fixed per bin by a seeded
    bit (improved densification, Shrivastava and Li, ICML 2014): fixed directions keep two
    texts' fills comparable; random ones keep neighbouring empty bins from all copying the same
    donor.
    """
    shift, go_right = _bin_choice(num_perm, seed)
    return kernels.oph_signatures(
        shingles.astype(np.uint64, copy=False),
        rows.astype(np.int64, copy=False),
        n_rows,
        num_perm,
        np.uint64(seed),
        shift,
        go_right,
    )


def _bin_choice(num_perm: int, seed: int) -> tuple[np.uint64, np.ndarray]:
    """The shift that takes a shingle's bin from its top bits, and each bin's fill direction."""
    if num_perm & (num_perm - 1) or not 8 <= num_perm <= 1024:
        raise ValueError(f"num_perm must be a power of two in 8..1024, got {num_perm}")
    shift = np.uint64(64 - (num_perm.bit_length() - 1))
    go_right = (mix(np.arange(num_perm, dtype=np.uint64) + _U64(seed)) & _U64(1)).astype(bool)
    return shift, go_right


def band_keys(signatures: np.ndarray, bands: int, rows_per_band: int) -> np.ndarray:
    """One 32-bit key per band (n_rows, bands): equal keys mean equal bins across the band."""
    return kernels.band_keys(signatures, bands, rows_per_band, _band_weights(bands, rows_per_band))


def _band_weights(bands: int, rows_per_band: int) -> np.ndarray:
    return mix(np.arange(1, bands * rows_per_band + 1, dtype=np.uint64)) | _U64(1)


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
    large bucket costs linear work). Several bands are sorted at once as one 64-bit value per
    entry, (band, key, row) packed high to low, so a plain sort puts each bucket's lowest row
    first; pairs are de-duplicated after each group of bands so memory stays bounded.
    """
    index = np.flatnonzero(valid)
    total_bands = keys.shape[1]
    row_bits = max(1, (len(index) - 1).bit_length())
    step = max(1, _SORT_ENTRIES // max(1, len(index)))
    pairs = np.zeros(0, dtype=np.int64)
    for begin in range(0, total_bands, step):
        bands = min(step, total_bands - begin)
        band_bits = max(1, (bands - 1).bit_length())
        if band_bits + 32 + row_bits > 64:  # too many rows to pack: an index sort instead
            bucket, row = _sorted_entries(keys[index, begin : begin + bands])
        else:
            packed = (np.arange(bands, dtype=np.uint64)[None, :] << _U64(32)) | keys[
                index, begin : begin + bands
            ]
            packed = (packed << _U64(row_bits)) | np.arange(len(index), dtype=np.uint64)[:, None]
            packed = np.sort(packed.reshape(-1))
            bucket, row = packed >> _U64(row_bits), (packed & _U64((1 << row_bits) - 1)).astype(np.int64)
            del packed
        first, other = first_with_members(bucket, row)
        del bucket
        a, b = index[first], index[other]
        low, high = np.minimum(a, b), np.maximum(a, b)
        pairs = _sorted_unique(np.concatenate([pairs, low << 32 | high]))
    return pairs >> 32, pairs & 0xFFFFFFFF


def first_with_members(bucket: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The candidate rule: in entries sorted by bucket, each bucket's first row paired with every
    other row of the bucket (one pair a member, not all pairs)."""
    starts = np.ones(len(bucket), dtype=bool)
    starts[1:] = bucket[1:] != bucket[:-1]
    first_pos = np.maximum.accumulate(np.where(starts, np.arange(len(row)), 0))
    member = ~starts
    return row[first_pos[member]], row[member]


def _sorted_unique(values: np.ndarray) -> np.ndarray:
    """np.unique by a plain sort: numpy 2.4's hash-based unique is far slower on tens of millions
    of int64 values than sorting them (benchmarks/RESULTS.md)."""
    values = np.sort(values)
    keep = np.ones(len(values), dtype=bool)
    keep[1:] = values[1:] != values[:-1]
    return values[keep]


def _sorted_entries(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(band, key) of every entry in sorted order, rows ascending within a bucket, and the row."""
    bands = keys.shape[1]
    packed = ((np.arange(bands, dtype=np.uint64)[None, :] << _U64(32)) | keys).reshape(-1)
    order = np.argsort(packed, kind="stable")
    return packed[order], order // bands


def estimate_jaccard(small: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Jaccard estimates for row pairs from 8-bit signatures, corrected for chance agreement."""
    out = np.empty(len(a), dtype=np.float32)
    # Pairs at a time: each step gathers two (step, num_perm) byte arrays and compares them, so
    # the step bounds the memory; a larger step was no faster (benchmarks/RESULTS.md).
    step = 1 << 16
    for start in range(0, len(a), step):
        agree = (small[a[start : start + step]] == small[b[start : start + step]]).mean(axis=1)
        out[start : start + step] = agree
    return _corrected(out)


def _corrected(agree: np.ndarray) -> np.ndarray:
    """Share of equal 8-bit bins (float32) to a Jaccard estimate: less the chance agreement."""
    chance = 1.0 / 256.0
    return np.clip((agree - chance) / (1.0 - chance), 0.0, 1.0)


def similar_pairs(index: Index, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Row pairs whose estimate reaches ``threshold`` among the LSH candidates (rows sharing a
    band key), enough of them to connect the same components as all of them would.

    Candidates are each bucket member with the bucket's first row, as in ``candidate_pairs``;
    the compiled pass keeps one hash table per band instead of sorting every band's keys.
    """
    if len(index.keys) >= 1 << 31:
        raise ValueError("similar_pairs numbers rows in 32 bits")  # polars' own row limit is 2**32
    num_perm = index.small.shape[1]
    # The estimate for each possible count of equal bins, computed as estimate_jaccard does.
    shares = (np.arange(num_perm + 1, dtype=np.float64) / num_perm).astype(np.float32)
    passes = _corrected(shares) >= threshold
    return kernels.similar_pairs(index.keys, index.valid, index.small, passes)


def connected_components(n: int, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Union-find over edges: each node's label is the smallest node of its component, so
    chains of near-duplicates end up in one component."""
    return kernels.components(n, a.astype(np.int64, copy=False), b.astype(np.int64, copy=False))


@dataclass(frozen=True)
class Index:
    """What the near-dup search keeps per record: 8-bit signatures and LSH band keys."""

    small: np.ndarray  # (n, num_perm) uint8: low byte of each densified bin
    keys: np.ndarray  # (n, bands) uint32
    valid: np.ndarray  # (n,) bool: the record had at least one shingle


def build_index(
    words_of: Callable[[int, int], tuple[np.ndarray, np.ndarray]],
    n_rows: int,
    *,
    shingle: int,
    num_perm: int,
    bands: int,
    rows_per_band: int,
    seed: int = 0,
    batch_rows: int = 16_384,
    workers: int | None = None,
    advance: Callable[[int], None] | None = None,
) -> Index:
    """Signatures and band keys for texts ``0..n_rows``, taken in batches: ``words_of(start,
    stop)`` gives the batch's (word hashes, offsets). Batches run on ``workers`` threads (the
    compiled loops and polars release the GIL), so only that many batches' shingles are in
    memory at a time; each writes its own rows of the index."""
    if not 1 <= shingle <= MAX_SHINGLE:
        raise ValueError(f"shingle size must be 1..{MAX_SHINGLE}, got {shingle}")
    shift, go_right = _bin_choice(num_perm, seed)
    weights = _band_weights(bands, rows_per_band)
    small = np.zeros((n_rows, num_perm), dtype=np.uint8)
    keys = np.zeros((n_rows, bands), dtype=np.uint32)
    valid = np.zeros(n_rows, dtype=bool)

    def one_batch(start: int) -> int:
        stop = min(start + batch_rows, n_rows)
        hashes, offsets = words_of(start, stop)
        if len(offsets) - 1 != stop - start:
            raise ValueError(f"expected {stop - start} texts, got {len(offsets) - 1}")
        # The same values shingle_hashes, oph_signatures and band_keys give, in one pass per text.
        kernels.index_rows(
            hashes.astype(np.uint64, copy=False),
            offsets.astype(np.int64, copy=False),
            shingle,
            _POSITION_MULTIPLIERS,
            np.uint64(seed),
            shift,
            go_right,
            rows_per_band,
            weights,
            small[start:stop],
            keys[start:stop],
            valid[start:stop],
        )
        return stop - start

    workers = workers or min(4, os.cpu_count() or 1)
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for count in pool.map(one_batch, range(0, n_rows, batch_rows)):
            if advance is not None:
                advance(count)
    return Index(small, keys, valid)


def compile_kernels() -> None:
    """Compile every compiled loop of near dedup once (numba caches the machine code), so the
    first build after set-up does not pay the compile: ``make setup`` calls this."""
    from curate.stages.dedup.kernels import sequence_keys
    from curate.stages.words.examples import words_of_examples

    examples = pl.Series(
        [
            '{"messages":[{"role":"user","content":"Hello, world: one two three"}]}',
            '{"messages":[{"role":"assistant","content":"Caf\\u00e9 na\\u00efve"}]}',
            '{"messages":[{"role":"user","content":"café"}]}',
        ]
    )
    words = words_of_examples(examples, DEDUP)
    every = words.of("all")
    hashes, offsets = every.hashes, every.offsets
    user = words.of("user")
    sequence_keys(user.hashes, user.offsets)
    shingles, rows = shingle_hashes(hashes, offsets, 3)
    signatures, _ = oph_signatures(shingles, rows, len(offsets) - 1, 64, 0)
    band_keys(signatures, 16, 4)
    index = build_index(
        lambda start, stop: (hashes, offsets),
        len(offsets) - 1,
        shingle=3,
        num_perm=64,
        bands=16,
        rows_per_band=4,
    )
    a, b = similar_pairs(index, 0.5)
    connected_components(len(offsets) - 1, a, b)
