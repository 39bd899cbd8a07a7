"""Semantic leakage: a training prompt whose sentence embedding is close to a protected item's.

Catches template rewrites (names, numbers and wording changed) that share too few words for the
lexical tests. Costs an embedding per candidate the lexical tests left clean, so it is opt-in:
``curate build --semantic`` or ``[leakage] semantic = true``.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Final

import numpy as np
import polars as pl

from curate.stages.embeddings import EmbeddingCache, embed

_BLOCK = 2048  # candidates per similarity block: 2048 x items floats stay small
_NUMBER: Final = re.compile(r"\d+(?:[.,]\d+)*")
# A capitalised word after a lower-case word or comma is a name (sentence starts are ambiguous).
_MID_SENTENCE_NAME: Final = re.compile(r"(?<=[a-z0-9,;] )[A-Z][a-z]+")


def mask_names_and_numbers(text: str) -> str:
    """Numbers and names replaced by placeholders before embedding. all-MiniLM-L6-v2 weighs names
    and numbers heavily: a GSM8K problem with only its names and numbers changed scores about 0.76
    against the original, and about 0.96 once both are masked. A name is masked everywhere once it
    is seen mid-sentence, so "Natalia sold..." loses its sentence-initial name too."""
    names = set(_MID_SENTENCE_NAME.findall(text))
    if names:
        text = re.sub(r"\b(?:" + "|".join(map(re.escape, sorted(names))) + r")\b", "X", text)
    return _NUMBER.sub("N", text)


def semantic_matches(
    candidates: list[str],
    pieces: list[str],
    threshold: float,
    progress: Callable[[int], None] | None = None,
    cache: EmbeddingCache | None = None,
) -> pl.DataFrame:
    """For each candidate, its most similar piece when the cosine similarity reaches ``threshold``.
    Texts in ``cache`` (embedded earlier in the build) are read from it, not embedded again."""
    schema = {"doc": pl.Int64, "piece": pl.Int64, "score": pl.Float64}
    if not candidates or not pieces:
        return pl.DataFrame(schema=schema)
    # One call for both sides: a text that is both a piece and a candidate is embedded once.
    both = embed([*pieces, *candidates], progress=progress, cache=cache)
    protected, vectors = both[: len(pieces)], both[len(pieces) :]
    docs: list[np.ndarray] = []
    best: list[np.ndarray] = []
    scores: list[np.ndarray] = []
    for start in range(0, len(vectors), _BLOCK):
        similarity = vectors[start : start + _BLOCK] @ protected.T
        top = similarity.argmax(axis=1)
        top_score = similarity[np.arange(len(top)), top]
        keep = top_score >= threshold
        docs.append(np.nonzero(keep)[0] + start)
        best.append(top[keep])
        scores.append(top_score[keep])
    return pl.DataFrame(
        {"doc": np.concatenate(docs), "piece": np.concatenate(best), "score": np.concatenate(scores)}
    ).cast(schema)  # type: ignore[arg-type]
