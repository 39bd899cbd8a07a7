"""Fixtures for the trainer tests: a tiny Llama with a tiny ChatML tokenizer, and tiny build folders.

Everything is built offline inside the tests; nothing is downloaded.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["HF_DATASETS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

CHAT_TEMPLATE = (
    "{% for message in messages %}"
    "{% if loop.first and messages[0]['role'] != 'system' %}"
    "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
    "{{ '<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n' }}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
)

CORPUS = [
    "How do I reset my password? Open settings, choose security, then reset password.",
    "What is the refund policy? Refunds are possible within thirty days of purchase.",
    "Hello! How can I help you today? Thanks, have a nice day.",
    "The quick brown fox jumps over the lazy dog. 1 2 3 4 5 6 7 8 9 0 + - = ?",
    "system user assistant tool You are a helpful assistant.",
]


def build_tokenizer() -> Any:
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=400,
        special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train_from_iterator(CORPUS * 4, trainer=trainer)
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tok,
        bos_token="<|im_start|>",
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
    )
    fast.chat_template = CHAT_TEMPLATE
    return fast


@pytest.fixture(scope="session")
def tiny_tokenizer() -> Any:
    return build_tokenizer()


def save_tiny_llama(folder: Path, hidden: int = 32, kv_heads: int = 2) -> Path:
    """A two-layer Llama of ``hidden`` width (MLP twice as wide) and the test tokenizer, saved like
    any model folder; seeded, so every call gives the same weights."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    tokenizer = build_tokenizer()
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=hidden,
        intermediate_size=2 * hidden,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=kv_heads,
        max_position_embeddings=512,
        pad_token_id=tokenizer.pad_token_id,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=tokenizer.bos_token_id,
        tie_word_embeddings=True,
    )
    LlamaForCausalLM(config).save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A two-layer Llama with hidden size 32 and its tokenizer, saved like any model folder."""
    return save_tiny_llama(tmp_path_factory.mktemp("tiny-llama"))


def chat(i: int, turns: int = 1) -> dict[str, Any]:
    messages: list[dict[str, Any]] = []
    if i % 3 == 0:
        messages.append({"role": "system", "content": "Be brief."})
    for t in range(turns):
        messages.append({"role": "user", "content": f"How do I reset my password {i} {t}?"})
        messages.append({"role": "assistant", "content": f"Open settings, choose security {i}. Refunds {t}."})
    return {"id": f"ex{i}", "messages": messages, "meta": {"source": "test"}}


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def make_build(root: Path, n_train: int = 24, n_eval: int = 6, general: bool = True) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    write_jsonl(root / "train.jsonl", [chat(i, 1 + i % 3) for i in range(n_train)])
    write_jsonl(root / "eval.jsonl", [chat(100 + i) for i in range(n_eval)])
    if general:
        write_jsonl(root / "general_eval.jsonl", [chat(200 + i, 2) for i in range(4)])
    (root / "manifest.json").write_text(json.dumps({"config_hash": "sha256:test1234"}), encoding="utf-8")
    return root


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    return make_build(tmp_path / "build" / "tiny")


@pytest.fixture
def no_general_build(tmp_path: Path) -> Path:
    return make_build(tmp_path / "build" / "nogen", general=False)


@pytest.fixture
def make_chat() -> Any:
    """The example factory, for tests that need examples without a build folder."""
    return chat
