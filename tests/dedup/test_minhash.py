"""The MinHash building blocks: tokenising, shingling, signatures, LSH candidates, union-find."""

from __future__ import annotations

import random

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.stages.dedup import minhash


def words_of(texts: list[str | None]) -> list[list[int]]:
    hashes, offsets = minhash.word_hashes(pl.Series(texts, dtype=pl.Utf8), seed=0)
    return [hashes[offsets[i] : offsets[i + 1]].tolist() for i in range(len(texts))]


def test_case_spacing_and_punctuation_change_no_word() -> None:
    same = words_of(["Hello, World!", "hello world", "  HELLO\tworld\n", "hello...world"])
    assert same[0] == same[1] == same[2] == same[3]
    assert len(same[0]) == 2


def test_empty_null_and_unicode_texts() -> None:
    out = words_of(["", None, "Naïve “quoted” CAFÉ", "naive quoted café"])
    assert out[0] == [] and out[1] == []
    assert len(out[2]) == 3
    assert out[2][1:] == words_of(["quoted café"])[0]  # Unicode quotes are punctuation too
    assert out[2][0] != out[3][0]  # accents are kept: "naïve" is not "naive"


def naive_shingles(words: list[int], n: int) -> list[int]:
    multipliers = [int(m) for m in minhash._POSITION_MULTIPLIERS]
    windows = [words[i : i + n] for i in range(len(words) - n + 1)] if len(words) >= n else [words]
    out = []
    for window in windows:
        total = sum(w * multipliers[j] for j, w in enumerate(window)) % 2**64
        out.append(int(minhash.mix(np.array([total], dtype=np.uint64))[0]))
    return out if words else []


@given(st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=9), max_size=6), st.integers(1, 5))
@settings(max_examples=60, deadline=None)
def test_shingles_match_a_plain_python_definition(texts: list[list[int]], n: int) -> None:
    hashes = np.array([w for text in texts for w in text], dtype=np.uint64)
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in texts])]).astype(np.int64)
    got, rows = minhash.shingle_hashes(hashes, offsets, n)
    expected = sorted((i, s) for i, text in enumerate(texts) for s in naive_shingles(text, n))
    assert sorted(zip(rows.tolist(), got.tolist(), strict=True)) == expected


def signatures_for(sets: list[set[int]], num_perm: int) -> tuple[np.ndarray, np.ndarray]:
    flat = np.array([x for s in sets for x in sorted(s)], dtype=np.uint64)
    rows = np.repeat(np.arange(len(sets)), [len(s) for s in sets])
    return minhash.oph_signatures(minhash.mix(flat), rows, len(sets), num_perm, seed=0)


@pytest.mark.parametrize("jaccard", [0.3, 0.5, 0.8])
@pytest.mark.parametrize("size", [12, 200])
def test_estimates_track_true_jaccard_for_short_and_long_texts(jaccard: float, size: int) -> None:
    rng = random.Random(size)
    estimates = []
    for _ in range(200):
        shared = round(2 * size * jaccard / (1 + jaccard))  # |A| = |B| = size, |A&B| = shared
        base = rng.sample(range(10**9), 2 * size - shared)
        a = set(base[:size])
        b = set(base[:shared]) | set(base[size:])
        true = len(a & b) / len(a | b)
        signatures, _ = signatures_for([a, b], 128)
        small = (signatures & 0xFF).astype(np.uint8)
        estimates.append(minhash.estimate_jaccard(small, np.array([0]), np.array([1]))[0] - true)
    assert abs(float(np.mean(estimates))) < 0.03  # unbiased after densification and 8-bit correction
    assert float(np.std(estimates)) < 0.12


def test_no_empty_bin_survives_densification_and_empty_texts_are_invalid() -> None:
    signatures, valid = signatures_for([{1}, set(range(3)), set(), set(range(1000))], 64)
    assert valid.tolist() == [True, True, False, True]
    assert not (signatures[valid] == 0xFFFFFFFF).any()


def test_identical_sets_share_every_band_and_unrelated_sets_rarely_do() -> None:
    rng = random.Random(1)
    sets = [set(rng.sample(range(10**9), 50)) for _ in range(300)]
    sets.append(set(sets[0]))
    signatures, valid = signatures_for(sets, 64)
    bands, rows_per_band = minhash.choose_bands(64, 0.5)
    keys = minhash.band_keys(signatures, bands, rows_per_band)
    a, b = minhash.candidate_pairs(keys, valid)
    pairs = set(zip(a.tolist(), b.tolist(), strict=True))
    assert (0, 300) in pairs
    assert len(pairs) < 10  # 300 random texts: candidates are the copy and a few chance hits


def test_choose_bands_fits_the_bins_and_moves_with_the_threshold() -> None:
    for num_perm in (16, 64, 128, 256):
        for threshold in (0.3, 0.5, 0.8):
            bands, rows = minhash.choose_bands(num_perm, threshold)
            assert bands * rows <= num_perm
    assert minhash.choose_bands(128, 0.8)[1] > minhash.choose_bands(128, 0.3)[1]


def python_components(n: int, edges: list[tuple[int, int]]) -> list[int]:
    parent = list(range(n))

    def root(i: int) -> int:
        while parent[i] != i:
            i = parent[i]
        return i

    for a, b in edges:
        ra, rb = root(a), root(b)
        parent[max(ra, rb)] = min(ra, rb)
    return [root(i) for i in range(n)]


@given(
    st.integers(1, 40).flatmap(
        lambda n: st.tuples(
            st.just(n), st.lists(st.tuples(st.integers(0, n - 1), st.integers(0, n - 1)), max_size=60)
        )
    )
)
@settings(max_examples=100, deadline=None)
def test_connected_components_match_a_plain_union_find(case: tuple[int, list[tuple[int, int]]]) -> None:
    n, edges = case
    a = np.array([e[0] for e in edges], dtype=np.int64)
    b = np.array([e[1] for e in edges], dtype=np.int64)
    assert minhash.connected_components(n, a, b).tolist() == python_components(n, edges)


def test_a_long_chain_is_one_component() -> None:
    n = 10_000
    labels = minhash.connected_components(n, np.arange(n - 1)[::-1].copy(), np.arange(1, n)[::-1].copy())
    assert (labels == 0).all()


def reference_signature(shingles: list[int], num_perm: int, seed: int) -> list[int]:
    """One text's one-permutation signature, densified, written plainly from the definition."""
    bits = num_perm.bit_length() - 1
    moved = int(minhash.mix(np.array([seed], dtype=np.uint64))[0])
    bins = [0xFFFFFFFF] * num_perm
    for shingle in shingles:
        mixed = shingle ^ moved
        b, value = mixed >> (64 - bits), mixed & 0xFFFFFFFF
        bins[b] = min(bins[b], value)
    go_right = (minhash.mix(np.arange(num_perm, dtype=np.uint64) + np.uint64(seed)) & np.uint64(1)).astype(
        bool
    )
    filled = [p for p in range(num_perm) if bins[p] != 0xFFFFFFFF]
    out = list(bins)
    for p in range(num_perm):
        if bins[p] != 0xFFFFFFFF:
            continue
        # nearest non-empty bin to the right / left, going round the end
        right = next(d for d in range(1, num_perm) if (p + d) % num_perm in filled)
        left = next(d for d in range(1, num_perm) if (p - d) % num_perm in filled)
        distance = right if go_right[p] else left
        donor = (p + distance) % num_perm if go_right[p] else (p - distance) % num_perm
        out[p] = (bins[donor] + distance * 0x9E3779B1) % 2**32
    return out


@given(st.lists(st.lists(st.integers(0, 2**64 - 1), min_size=1, max_size=40), min_size=1, max_size=5))
@settings(max_examples=100, deadline=None)
def test_compiled_signatures_match_the_definition(texts: list[list[int]]) -> None:
    shingles = np.array([s for text in texts for s in text], dtype=np.uint64)
    rows = np.repeat(np.arange(len(texts)), [len(t) for t in texts])
    signatures, valid = minhash.oph_signatures(shingles, rows, len(texts), 16, seed=3)
    assert valid.all()
    for i, text in enumerate(texts):
        assert signatures[i].tolist() == reference_signature(text, 16, 3)


@given(st.lists(st.lists(st.integers(0, 2**64 - 1), max_size=30), min_size=1, max_size=8), st.integers(1, 5))
@settings(max_examples=60, deadline=None)
def test_the_index_is_what_the_separate_steps_give(texts: list[list[int]], n: int) -> None:
    """build_index shingles, signs and bands each text in one compiled pass: the same values."""
    hashes = np.array([w for text in texts for w in text], dtype=np.uint64)
    offsets = np.concatenate([[0], np.cumsum([len(t) for t in texts])]).astype(np.int64)
    index = minhash.build_index(
        lambda start, stop: (hashes, offsets), len(texts), shingle=n, num_perm=16, bands=4, rows_per_band=4,
        seed=5, batch_rows=len(texts),
    )  # fmt: skip
    shingles, rows = minhash.shingle_hashes(hashes, offsets, n)
    signatures, valid = minhash.oph_signatures(shingles, rows, len(texts), 16, seed=5)
    assert index.valid.tolist() == valid.tolist() == [bool(t) for t in texts]
    assert (index.small == (signatures & 0xFF).astype(np.uint8)).all()
    assert (index.keys == minhash.band_keys(signatures, 4, 4)).all()


def test_similar_pairs_connect_what_every_verified_candidate_connects() -> None:
    """Near-copies of a few base texts, and unrelated texts: the compiled pass keeps only a
    spanning forest of the verified candidates, but its components are theirs."""
    rng = random.Random(7)
    bases = [rng.sample(range(10**9), 60) for _ in range(30)]
    sets = [set(b) for b in bases]
    for _ in range(300):  # each copy keeps 45 to 60 of its base's 60 elements and adds others
        base = rng.choice(bases)
        kept = rng.sample(base, rng.randint(45, 60))
        sets.append(set(kept) | set(rng.sample(range(10**9), 60 - len(kept))))
    sets += [set(rng.sample(range(10**9), 60)) for _ in range(100)] + [set()]
    signatures, valid = signatures_for(sets, 64)
    bands, rows_per_band = minhash.choose_bands(64, 0.5)
    index = minhash.Index(
        (signatures & 0xFF).astype(np.uint8), minhash.band_keys(signatures, bands, rows_per_band), valid
    )
    a, b = minhash.candidate_pairs(index.keys, index.valid)
    similar = minhash.estimate_jaccard(index.small, a, b) >= 0.5
    expected = minhash.connected_components(len(sets), a[similar], b[similar])
    forest_a, forest_b = minhash.similar_pairs(index, 0.5)
    assert len(forest_a) == len(sets) - len(np.unique(expected))  # a forest: no edge too many
    assert (minhash.estimate_jaccard(index.small, forest_a, forest_b) >= 0.5).all()
    assert minhash.connected_components(len(sets), forest_a, forest_b).tolist() == expected.tolist()
    assert len(np.unique(expected)) < len(sets) - 250  # the copies did join their bases


def test_similar_pairs_take_any_32_bit_band_key() -> None:
    """The hash table marks an empty slot by its row, not by a key value: the smallest and the
    largest band keys are buckets like any other."""
    small = np.repeat(np.arange(5, dtype=np.uint8)[:, None] // 2, 8, axis=1)  # rows 0-1, 2-3 alike
    keys = np.array([[0xFFFFFFFF], [0xFFFFFFFF], [0], [0], [0]], dtype=np.uint32)
    a, b = minhash.similar_pairs(minhash.Index(small, keys, np.ones(5, dtype=bool)), 0.5)
    assert sorted(zip(a.tolist(), b.tolist(), strict=True)) == [(0, 1), (2, 3)]  # 4 differs from 2


def test_sequence_keys_follow_the_word_order() -> None:
    from curate.stages.dedup.kernels import sequence_keys

    hashes = np.array([5, 9, 9, 5, 5, 9], dtype=np.uint64)
    keys = sequence_keys(hashes, np.array([0, 2, 4, 4, 6], dtype=np.int64)).tolist()
    mixed = [
        int(minhash.mix(np.array([h ^ int(minhash.mix(np.array([p + 1], np.uint64))[0])], np.uint64))[0])
        for p, h in enumerate([5, 9])
    ]
    assert keys[0] == sum(mixed) % 2**64 == keys[3]
    assert keys[1] != keys[0] and keys[2] == 0
