"""The baseline both near-dup benchmarks compare against: datasketch used as its docs show.

Word 5-gram shingles of each text, ``MinHash.bulk`` with 128 permutations, and an empty
``MinHashLSH(threshold=0.8, num_perm=128)`` that the caller queries then inserts into.
"""

from __future__ import annotations

from typing import Any

NUM_PERM = 128
THRESHOLD = 0.8
SHINGLE = 5


def signatures_and_index(texts: list[str]) -> tuple[list[Any], Any]:
    """One MinHash per text, and the LSH index to search them with."""
    from datasketch import MinHash, MinHashLSH

    sets = []
    for text in texts:
        words = text.split()
        last = max(1, len(words) - SHINGLE + 1)
        sets.append({" ".join(words[i : i + SHINGLE]).encode() for i in range(last)})
    return MinHash.bulk(sets, num_perm=NUM_PERM), MinHashLSH(threshold=THRESHOLD, num_perm=NUM_PERM)
