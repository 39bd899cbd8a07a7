"""Pair dedup and grouping: copies of whole pairs go, pairs sharing a prompt stay together.

Exact copies of a whole pair are rejected by exact dedup (a pair's dedup key covers the prompt
and both answers). Chat near dedup leaves pairs aside: over prompt and chosen answer it would
take two pairs of one prompt, whose answers are short beside a long prompt, for copies. Here
instead:

* ``dedup.near``: MinHash over the whole pair (prompt, chosen and rejected) at the near-dup
  threshold; the group keeps one pair (eval before input, best quality, first seen).
* prompt groups: pairs whose prompts are the same after normalisation, near-duplicates by
  MinHash, or open with the same user turn (branches of one dialogue), share a ``cluster_id``,
  so the split never puts one prompt on both sides. Several pairs of one prompt are kept.
* ``pref.contradictory``: two usable pairs of the same prompt whose answers are swapped; neither
  can be trusted, so both go.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import polars as pl

from curate.core.context import BuildContext
from curate.core.frame import reject
from curate.core.pairs import Pair, normalised, text_key
from curate.stages.dedup import minhash
from curate.stages.dedup.exact import ORIGIN_PRIORITY
from curate.stages.preference.rows import pair_rows, pairs_at

NAME = "pair_dedup"


def _text(messages: list[dict[str, Any]]) -> str:
    return "\n".join(m.get("content") or "" for m in messages)


def _index(texts: list[str], ctx: BuildContext) -> minhash.Index:
    settings = ctx.config.dedup
    hashes, offsets = minhash.word_hashes(pl.Series(texts, dtype=pl.Utf8), seed=0)
    bands, rows_per_band = minhash.choose_bands(settings.num_perm, settings.threshold)
    return minhash.build_index(
        lambda start, stop: _batch(hashes, offsets, start, stop),
        len(texts),
        shingle=settings.shingle,
        num_perm=settings.num_perm,
        bands=bands,
        rows_per_band=rows_per_band,
    )


def _near_copies(
    pairs: list[Pair], prompts: minhash.Index, ctx: BuildContext
) -> tuple[np.ndarray, np.ndarray]:
    """Pairs of pairs whose prompts, chosen answers and rejected answers are each near-identical.
    One MinHash over the whole pair finds candidates; each part is then checked on its own, since
    a long shared prompt alone would pass the whole-pair test (sibling branches of one dialogue)."""
    threshold = ctx.config.dedup.threshold
    whole = _index([_text(p.prompt) + "\n" + _text(p.chosen) + "\n" + _text(p.rejected) for p in pairs], ctx)
    a, b = minhash.similar_pairs(whole, threshold)
    if not len(a):
        return a, b
    keep = minhash.estimate_jaccard(prompts.small, a, b) >= threshold
    for side in ("chosen", "rejected"):
        index = _index([_text(getattr(p, side)) for p in pairs], ctx)
        keep &= minhash.estimate_jaccard(index.small, a, b) >= threshold
    return a[keep], b[keep]


def _batch(hashes: np.ndarray, offsets: np.ndarray, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
    return hashes[offsets[start] : offsets[stop]], offsets[start : stop + 1] - offsets[start]


def run(frame: pl.DataFrame, ctx: BuildContext) -> pl.DataFrame:
    rows = pair_rows(frame, (pl.col("status") == "ok") & (pl.col("origin") != "benchmark"))
    if "cluster_id" not in frame.columns:
        frame = frame.with_columns(cluster_id=pl.lit(None, pl.Int64))
    if len(rows) == 0:
        return frame
    pairs = pairs_at(frame, rows)
    n = len(rows)
    order = _keep_order(frame, rows)  # rank of each pair: lower is kept first
    findings: dict[str, Any] = {"pairs": n}

    # Near copies of whole pairs.
    near_a = near_b = np.empty(0, dtype=np.int64)
    prompts = _index([_text(p.prompt) for p in pairs], ctx) if ctx.config.dedup.near else None
    if prompts is not None:
        near_a, near_b = _near_copies(pairs, prompts, ctx)
    labels = minhash.connected_components(n, near_a, near_b)
    kept = _kept(labels, order)
    loser = kept != np.arange(n)
    frame = _reject_at(
        frame,
        rows[loser],
        "dedup.near",
        [f"near-duplicate pair of the kept {frame['origin'][int(rows[k])]} pair" for k in kept[loser]],
        [frame["id"][int(rows[k])] for k in kept[loser]],
    )
    findings["near_copies"] = int(loser.sum())

    # Prompt groups: same normalised prompt, or near-identical prompts.
    prompt_keys = np.array([text_key(normalised(p.prompt)) for p in pairs], dtype=np.int64)
    same_a, same_b = _same_key_edges(prompt_keys)
    # Branches of one dialogue (HH-style data holds a conversation cut at several depths) share
    # their opening user turn: they stay on one side too, or the eval side leaks into train.
    opening = np.array(
        [text_key(normalised(p.prompt[_first_user(p) : _first_user(p) + 1])) for p in pairs], dtype=np.int64
    )
    root_a, root_b = _same_key_edges(opening)
    edges_a, edges_b = [near_a, same_a, root_a], [near_b, same_b, root_b]
    if prompts is not None:
        a, b = minhash.similar_pairs(prompts, ctx.config.dedup.threshold)
        edges_a.append(a)
        edges_b.append(b)
    groups = minhash.connected_components(n, np.concatenate(edges_a), np.concatenate(edges_b))
    group_kept = _kept(groups, order)
    size = np.bincount(groups, minlength=n)[groups]
    grouped = size > 1
    frame = _set_clusters(frame, rows[grouped], rows[group_kept[grouped]])
    findings["prompt_groups"] = int(len(np.unique(groups[grouped])))
    _, same_counts = np.unique(prompt_keys, return_counts=True)
    findings["same_prompt_groups"] = int((same_counts > 1).sum())  # the very same prompt, normalised
    findings["pairs_sharing_a_prompt"] = int(same_counts[same_counts > 1].sum())
    findings["pairs_in_prompt_groups"] = int(grouped.sum())

    # Contradictory preferences: the same prompt with the answers swapped, among usable pairs.
    usable = ~loser
    contradictory = _contradictory(pairs, prompt_keys, usable)
    frame = _reject_at(
        frame,
        rows[contradictory],
        "pref.contradictory",
        ["another pair has the same prompt with chosen and rejected swapped"] * int(contradictory.sum()),
        None,
    )
    findings["contradictory"] = int(contradictory.sum())
    ctx.findings.setdefault("preference", {})["dedup"] = findings
    return frame


def _first_user(pair: Pair) -> int:
    return next((i for i, m in enumerate(pair.prompt) if m["role"] == "user"), 0)


def _keep_order(frame: pl.DataFrame, rows: np.ndarray) -> np.ndarray:
    part = frame[rows]
    priority = part["origin"].cast(pl.Utf8).replace_strict(ORIGIN_PRIORITY, default=3, return_dtype=pl.Int64)
    score = (
        part["quality_score"].fill_null(0.0)
        if "quality_score" in part.columns
        else pl.Series([0.0] * len(rows))
    )
    ranked = pl.DataFrame(
        {"p": priority, "s": -score.cast(pl.Float64), "r": np.arange(len(rows))}
    ).with_row_index("i")
    order = np.empty(len(rows), dtype=np.int64)
    order[ranked.sort("p", "s", "r")["i"].to_numpy()] = np.arange(len(rows))
    return order


def _kept(labels: np.ndarray, order: np.ndarray) -> np.ndarray:
    """For each item, the item its component keeps: the lowest ``order`` in the component."""
    best: dict[int, int] = {}
    for item, label in enumerate(labels.tolist()):
        if label not in best or order[item] < order[best[label]]:
            best[label] = item
    return np.array([best[label] for label in labels.tolist()], dtype=np.int64)


def _same_key_edges(keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    first: dict[int, int] = {}
    a: list[int] = []
    b: list[int] = []
    for item, key in enumerate(keys.tolist()):
        if key in first:
            a.append(first[key])
            b.append(item)
        else:
            first[key] = item
    return np.array(a, dtype=np.int64), np.array(b, dtype=np.int64)


def _contradictory(pairs: list[Pair], prompt_keys: np.ndarray, usable: np.ndarray) -> np.ndarray:
    answers: dict[tuple[int, int, int], list[int]] = defaultdict(list)
    sides = []
    for item, pair in enumerate(pairs):
        chosen, rejected = text_key(normalised(pair.chosen)), text_key(normalised(pair.rejected))
        sides.append((int(prompt_keys[item]), chosen, rejected))
        if usable[item]:
            answers[sides[-1]].append(item)
    hit = np.zeros(len(pairs), dtype=bool)
    for item, (prompt, chosen, rejected) in enumerate(sides):
        if usable[item] and chosen != rejected and answers.get((prompt, rejected, chosen)):
            hit[item] = True
    return hit


def _set_clusters(frame: pl.DataFrame, rows: np.ndarray, kept_rows: np.ndarray) -> pl.DataFrame:
    """Name each prompt group as the build names duplicate groups: by the kept row (an integer
    cluster id) or, where cluster ids are strings, by the kept record's id."""
    if not len(rows):
        return frame
    if frame.schema["cluster_id"] == pl.Utf8:
        values: pl.Series = frame["id"].gather(kept_rows)
    else:
        values = pl.Series(kept_rows, dtype=frame.schema["cluster_id"])
    column = frame["cluster_id"].scatter(rows, values)
    return frame.with_columns(column.alias("cluster_id"))


def _reject_at(
    frame: pl.DataFrame, rows: np.ndarray, code: str, messages: list[str], refs: list[str] | None
) -> pl.DataFrame:
    if not len(rows):
        return frame
    mask = np.zeros(frame.height, dtype=bool)
    mask[rows] = True
    message: list[str | None] = [None] * frame.height
    ref: list[str | None] = [None] * frame.height
    for i, row in enumerate(rows.tolist()):
        message[row] = messages[i]
        if refs is not None:
            ref[row] = refs[i]
    frame = frame.with_columns(_m=pl.Series(message, dtype=pl.Utf8), _ref=pl.Series(ref, dtype=pl.Utf8))
    return reject(frame, pl.lit(pl.Series(mask)), code, pl.col("_m"), ref=pl.col("_ref")).drop("_m", "_ref")
