"""Lexical leakage: exact word n-grams and shingle containment, as integer set joins.

Protected texts ("pieces": a protected item's question, and its answer where configured) are
indexed once as sets of window hashes; each chunk of training text is hashed the same way,
its windows tested against the set in one compiled pass, and only the few found are joined in
polars.

Two tests, both from the protected piece's point of view (a copy embedded in a long prompt is
still a copy):
- n-gram: the piece shares one ``n``-word window with the text (GPT-3's 13-gram rule). A piece
  shorter than ``n`` words must appear whole, which is what plain 13-gram matching misses.
- containment: at least ``threshold`` of the piece's k-word shingles appear in the text. This
  is what MinHash containment estimates; the hashed shingle sets are small enough to count
  exactly, so there is no estimate error. With masked words (numbers, names, pronouns) the
  same test finds template rewrites.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.stages.leakage.words import KeySet, Words

MATCH_SCHEMA = {
    "doc": pl.Int64,  # candidate index within the chunk
    "piece": pl.Int64,  # protected piece index
    "first": pl.Int64,  # first word of the overlapping span in the candidate
    "last": pl.Int64,  # one past its last word
    "score": pl.Float64,  # share of the piece's windows or shingles found in the candidate
}


def _empty_matches() -> pl.DataFrame:
    return pl.DataFrame(schema=MATCH_SCHEMA)


@dataclass
class NgramIndex:
    """Window hashes of every protected piece with enough words: ``n``-grams, or the whole piece."""

    keys: KeySet  # unique hashes, for the membership prefilter
    pairs: pl.DataFrame  # hash, size, piece
    totals: pl.DataFrame  # piece, windows: distinct windows per piece (the score's denominator)
    sizes: list[int]  # window sizes to compute on the candidate side


def build_ngram_index(pieces: Words, n: int, min_words: int) -> NgramIndex:
    lengths = pieces.lengths
    parts = []
    docs, _, hashes = pieces.informative(n)
    parts.append(pl.DataFrame({"hash": hashes, "size": np.full(len(docs), n, np.int64), "piece": docs}))
    # Shorter pieces: their single whole-piece window, for each length that occurs.
    short_sizes = sorted({int(x) for x in lengths if min_words <= x < n})
    for size in short_sizes:
        docs, pos, hashes = pieces.windows(size)
        whole = (pos == 0) & (lengths[docs] == size)
        parts.append(
            pl.DataFrame(
                {
                    "hash": hashes[whole],
                    "size": np.full(int(whole.sum()), size, np.int64),
                    "piece": docs[whole],
                }
            )
        )
    pairs = pl.concat(parts).unique()
    totals = pairs.group_by("piece").agg(pl.len().alias("windows"))
    keys = KeySet.of(pairs["hash"].unique().to_numpy())
    sizes = sorted(set(pairs["size"].unique().to_list()))
    return NgramIndex(keys, pairs, totals, sizes)


def ngram_matches(words: Words, index: NgramIndex) -> pl.DataFrame:
    """Pieces found in each candidate, with the longest run of consecutive matching windows."""
    found = []
    for size in index.sizes:
        docs, pos, hashes = words.matching_windows(size, index.keys)
        if len(docs):
            found.append(pl.DataFrame({"doc": docs, "pos": pos, "hash": hashes, "size": size}))
    if not found:
        return _empty_matches()
    hits = (
        pl.concat(found)
        .with_columns(pl.col("size").cast(pl.Int64))
        .join(index.pairs, on=["hash", "size"])
        .unique(["doc", "piece", "pos"])
        .sort("doc", "piece", "pos")
    )
    # Consecutive window starts form one overlapping span; report the longest per pair.
    new_run = (pl.col("pos").diff().over("doc", "piece") != 1).fill_null(True)
    runs = (
        hits.with_columns(run=new_run.cum_sum())
        .group_by("doc", "piece", "run")
        .agg(
            pl.col("pos").min().alias("first"),
            (pl.col("pos").max() + pl.col("size").first()).alias("last"),
            pl.len().alias("length"),
        )
    )
    shared = hits.group_by("doc", "piece").agg(pl.col("hash").n_unique().alias("shared"))
    return (
        runs.sort("length", descending=True)
        .unique(["doc", "piece"], keep="first")
        .join(shared, on=["doc", "piece"])
        .join(index.totals, on="piece")
        .select("doc", "piece", "first", "last", (pl.col("shared") / pl.col("windows")).alias("score"))
        .cast(MATCH_SCHEMA)  # type: ignore[arg-type]
    )


@dataclass
class ShingleIndex:
    """Informative k-word shingles of each protected piece long enough to judge by containment."""

    k: int
    keys: KeySet
    pairs: pl.DataFrame  # hash, piece
    totals: pl.DataFrame  # piece, shingles


def build_shingle_index(
    pieces: Words, k: int, min_shingles: int, max_pieces_per_shingle: int
) -> ShingleIndex:
    docs, _, hashes = pieces.informative(k, fallback=False)
    pairs = pl.DataFrame({"hash": hashes, "piece": docs}).unique()
    # A shingle shared by many protected pieces is boilerplate ("which of the following is"):
    # it says nothing about which item leaked and would multiply the join, so it is left out.
    common = pairs.group_by("hash").agg(pl.len().alias("df")).filter(pl.col("df") > max_pieces_per_shingle)
    pairs = pairs.join(common, on="hash", how="anti")
    totals = (
        pairs.group_by("piece").agg(pl.len().alias("shingles")).filter(pl.col("shingles") >= min_shingles)
    )
    pairs = pairs.join(totals.select("piece"), on="piece", how="semi")
    return ShingleIndex(k, KeySet.of(pairs["hash"].unique().to_numpy()), pairs, totals)


def containment_matches(words: Words, index: ShingleIndex, threshold: float) -> pl.DataFrame:
    """Pieces whose shingles the candidate contains at ``threshold`` or more."""
    if not index.keys.size:
        return _empty_matches()
    docs, pos, hashes = words.matching_windows(index.k, index.keys)
    if not len(docs):
        return _empty_matches()
    hits = pl.DataFrame({"doc": docs, "pos": pos, "hash": hashes}).join(index.pairs, on="hash")
    return (
        hits.group_by("doc", "piece")
        .agg(
            pl.col("hash").n_unique().alias("shared"),
            pl.col("pos").min().alias("first"),
            (pl.col("pos").max() + index.k).alias("last"),
        )
        .join(index.totals, on="piece")
        .with_columns(score=pl.col("shared") / pl.col("shingles"))
        .filter(pl.col("score") >= threshold)
        .select("doc", "piece", "first", "last", "score")
        .cast(MATCH_SCHEMA)  # type: ignore[arg-type]
    )
