"""Token counts: exact where they decide the length check, calibrated estimate elsewhere."""

from __future__ import annotations

import random
from pathlib import Path

import polars as pl
import pytest

from curate.core.frame import MESSAGES_DTYPE
from curate.stages.tokens import TokenizerChoice, choose_tokenizer, count_tokens


@pytest.fixture(scope="module")
def tokenizer_json(tmp_path_factory: pytest.TempPathFactory) -> str:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    corpus = ["the thermostat resets when you hold the dial for ten seconds"] * 50 + ["héllo wörld 😀"] * 10
    tokenizer.train_from_iterator(
        corpus, trainers.BpeTrainer(vocab_size=400, initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    )
    path = tmp_path_factory.mktemp("tok") / "tokenizer.json"
    tokenizer.save(str(path))
    return str(path)


def conversations(n: int, seed: int = 0) -> pl.Series:
    rng = random.Random(seed)
    words = ["the", "thermostat", "dial", "seconds", "wörld", "😀", "reset", "xyzzy", "ten"]
    rows = []
    for _ in range(n):
        length = rng.choice([3, 10, 40, 400])
        rows.append(
            {
                "messages": [
                    {"role": "user", "content": " ".join(rng.choices(words, k=length))},
                    {"role": "assistant", "content": " ".join(rng.choices(words, k=length // 2 + 1))},
                ]
            }
        )
    import orjson

    return pl.Series([orjson.dumps(r).decode() for r in rows])


def test_calibrated_counts_decide_the_limit_like_exact_counts(tokenizer_json: str) -> None:
    messages = conversations(3000)
    limit = 300
    exact, all_exact = count_tokens(
        messages, TokenizerChoice("tokenizer", tokenizer_json), limit, exact_max_records=10**6
    )
    assert all_exact.all()
    choice = TokenizerChoice("tokenizer", tokenizer_json)
    mixed, is_exact = count_tokens(messages, choice, limit, exact_max_records=100)
    assert 0 < is_exact.sum() < len(messages)  # only risky rows and the calibration sample
    assert ((mixed > limit) == (exact > limit)).all()  # the same rows are too long
    assert (mixed.filter(is_exact) == exact.filter(is_exact)).all()
    # Estimated rows are close to the truth on average (calibrated on this data).
    estimated = ~is_exact
    error = ((mixed.filter(estimated) - exact.filter(estimated)).abs() / exact.filter(estimated)).mean()
    assert error < 0.35
    assert choice.stats["exact_rows"] == int(is_exact.sum())


def test_estimate_without_tokenizer() -> None:
    messages = conversations(10)
    tokens, exact = count_tokens(messages, choose_tokenizer("estimate"), 100, 10)
    assert not exact.any()
    decoded = messages.str.json_decode(MESSAGES_DTYPE).struct.field("messages")
    n_bytes = [sum(len(m["content"].encode()) for m in row) for row in decoded.to_list()]
    assert tokens.to_list() == [-(-b // 4) + 4 * 2 for b in n_bytes]


def test_missing_tokenizer_path_is_a_config_error(tmp_path: Path) -> None:
    from curate.core.errors import ConfigError

    with pytest.raises(ConfigError, match="no tokenizer.json"):
        choose_tokenizer(str(tmp_path / "nope"))
