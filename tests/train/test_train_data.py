"""The assistant-only mask, checked token by token, plus truncation, packing and build folders."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from train.data import (
    IGNORE,
    Renderer,
    encode_example,
    encode_split,
    load_split,
    open_build,
    pack_rows,
    single_rows,
)
from train.errors import DataError, TrainError

MULTI_TURN = {
    "id": "multi",
    "messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Hello!"},
        {"role": "assistant", "content": "How can I help you today?", "weight": 0},
        {"role": "user", "content": "How do I reset my password?"},
        {"role": "assistant", "content": "Open settings, choose security, then reset password."},
        {"role": "user", "content": "Thanks"},
        {"role": "assistant", "content": "Have a nice day.", "weight": 1},
    ],
}


def runs(tokenizer: Any, ids: list[int], labels: list[int]) -> list[tuple[bool, str]]:
    """Consecutive tokens grouped by trained/not trained, decoded."""
    out: list[tuple[bool, list[int]]] = []
    for tok, lab in zip(ids, labels, strict=True):
        trained = lab != IGNORE
        if out and out[-1][0] == trained:
            out[-1][1].append(tok)
        else:
            out.append((trained, [tok]))
    return [(t, tokenizer.decode(chunk)) for t, chunk in out]


def test_mask_token_by_token_multi_turn_with_system_and_weight(tiny_tokenizer: Any) -> None:
    enc = encode_example(Renderer(tiny_tokenizer), MULTI_TURN, max_length=4096)
    rendered = tiny_tokenizer.apply_chat_template(MULTI_TURN["messages"], tokenize=False)
    assert tiny_tokenizer.decode(enc.input_ids) == rendered
    assert enc.input_ids == tiny_tokenizer(rendered, add_special_tokens=False)["input_ids"]
    # every label is either -100 or the token itself
    assert all(lab in (IGNORE, tok) for tok, lab in zip(enc.input_ids, enc.labels, strict=True))
    assert runs(tiny_tokenizer, enc.input_ids, enc.labels) == [
        (
            False,
            "<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHello!<|im_end|>\n"
            "<|im_start|>assistant\nHow can I help you today?<|im_end|>\n"  # weight 0: context only
            "<|im_start|>user\nHow do I reset my password?<|im_end|>\n<|im_start|>assistant\n",
        ),
        (True, "Open settings, choose security, then reset password.<|im_end|>\n"),
        (False, "<|im_start|>user\nThanks<|im_end|>\n<|im_start|>assistant\n"),
        (True, "Have a nice day.<|im_end|>\n"),
    ]
    # the end-of-turn token itself is trained, so the model learns to stop
    eos = tiny_tokenizer.convert_tokens_to_ids("<|im_end|>")
    trained_eos = [
        j
        for j, (t, lab) in enumerate(zip(enc.input_ids, enc.labels, strict=True))
        if t == eos and lab != IGNORE
    ]
    assert len(trained_eos) == 2


def test_default_system_prompt_is_context(tiny_tokenizer: Any) -> None:
    example = {
        "id": "nosys",
        "messages": [
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": "Hello! How can I help?"},
        ],
    }
    enc = encode_example(Renderer(tiny_tokenizer), example, 4096)
    parts = runs(tiny_tokenizer, enc.input_ids, enc.labels)
    assert parts[0][0] is False and parts[0][1].startswith("<|im_start|>system\nYou are a helpful assistant.")
    assert parts[1:] == [(True, "Hello! How can I help?<|im_end|>\n")]


def test_no_trainable_token_is_an_error_naming_the_id(tiny_tokenizer: Any) -> None:
    example = {
        "id": "all-weight-zero",
        "messages": [
            {"role": "user", "content": "Hello!"},
            {"role": "assistant", "content": "Hi.", "weight": 0},
        ],
    }
    with pytest.raises(DataError, match="all-weight-zero.*no trainable token"):
        encode_example(Renderer(tiny_tokenizer), example, 4096)
    only_user = {"id": "user-only", "messages": [{"role": "user", "content": "Hello!"}]}
    with pytest.raises(TrainError, match="user-only"):
        encode_split(Renderer(tiny_tokenizer), [only_user], 4096)


def test_truncation_is_counted_and_emptied_examples_are_listed(tiny_tokenizer: Any) -> None:
    renderer = Renderer(tiny_tokenizer)
    full = encode_example(renderer, MULTI_TURN, 4096)
    first_trained = next(j for j, lab in enumerate(full.labels) if lab != IGNORE)
    short = encode_example(renderer, MULTI_TURN, first_trained + 3)
    assert short.truncated and short.full_length == len(full.input_ids)
    assert len(short.input_ids) == first_trained + 3 and short.n_trainable == 3
    split = encode_split(renderer, [MULTI_TURN, {**MULTI_TURN, "id": "b"}], max_length=first_trained)
    assert split.truncated == ["multi", "b"] and split.dropped == ["multi", "b"] and split.examples == []


def test_template_that_is_not_incremental_is_reported(tiny_tokenizer: Any) -> None:
    import copy

    tok = copy.deepcopy(tiny_tokenizer)
    # renders only the last message: prefixes are not prefixes of the whole
    tok.chat_template = "{{ messages[-1]['content'] }}{% if add_generation_prompt %}>{% endif %}"
    with pytest.raises(DataError, match="multi.*extension"):
        encode_example(Renderer(tok), MULTI_TURN, 4096)


def test_packs_bound_tokens_and_flatten_padding_free(tiny_tokenizer: Any) -> None:
    from train.trainer import FlattenPacks

    renderer = Renderer(tiny_tokenizer)
    examples = [encode_example(renderer, {**MULTI_TURN, "id": str(i)}, 4096) for i in range(5)]
    n = len(examples[0].input_ids)
    packs = pack_rows(examples, capacity=2 * n + 1)
    assert [len(p["examples"]) for p in packs] == [2, 2, 1]
    assert all(sum(len(e["input_ids"]) for e in p["examples"]) <= 2 * n + 1 for p in packs)
    batch = FlattenPacks()(packs[1:])  # a pack of 2 and a pack of 1: two rows, the short one padded
    assert batch["input_ids"].shape == (2, 2 * n)
    assert batch["position_ids"][0].tolist() == list(range(n)) * 2  # restarts: no example sees another
    assert batch["position_ids"][1].tolist() == list(range(n)) * 2  # the padding is a segment of its own
    assert batch["attention_mask"].tolist() == [[1] * 2 * n, [1] * n + [0] * n]  # counts real tokens
    labels = examples[0].labels
    assert batch["labels"][0].tolist() == ([IGNORE] + labels[1:]) * 2
    assert batch["labels"][1].tolist() == [IGNORE] + labels[1:] + [IGNORE] * n
    one_row = FlattenPacks(flash=True)(packs)
    assert one_row["input_ids"].shape == (1, 5 * n)
    single = single_rows(examples)
    assert len(single) == 5 and single[0] == {"input_ids": examples[0].input_ids, "labels": labels}


def test_default_system_prompt_is_found_and_can_be_left_out(tiny_tokenizer: Any) -> None:
    assert Renderer(tiny_tokenizer).default_system_prompt() == "You are a helpful assistant."
    example = {"id": "x", "messages": MULTI_TURN["messages"][1:3]}
    kept = Renderer(tiny_tokenizer).text(Renderer(tiny_tokenizer).prepare(example["messages"]))
    off = Renderer(tiny_tokenizer, default_system_prompt=False)
    left_out = off.text(off.prepare(example["messages"]))
    assert "You are a helpful assistant." in kept and "helpful" not in left_out
    assert "<|im_start|>system\n<|im_end|>" in left_out
    plain = copy_without_default(tiny_tokenizer)
    assert Renderer(plain).default_system_prompt() is None


def copy_without_default(tokenizer: Any) -> Any:
    import copy

    tok = copy.deepcopy(tokenizer)
    tok.chat_template = (
        "{% for m in messages %}{{ '<|im_start|>' + m['role'] + '\n' + m['content'] + '<|im_end|>\n' }}"
        "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}"
    )
    return tok


def test_open_build_names_what_is_missing(tmp_path: Path) -> None:
    (tmp_path / "train.jsonl").write_text("")
    with pytest.raises(DataError, match="eval.jsonl, manifest.json"):
        open_build(tmp_path)
    with pytest.raises(DataError, match="not found"):
        open_build(tmp_path / "nope")


def test_load_split_through_datasets(build_dir: Path, tiny_tokenizer: Any) -> None:
    build = open_build(build_dir)
    rows = load_split(build.train)
    assert len(rows) == 24 and rows[0]["id"] == "ex0"
    assert build.config_hash == "sha256:test1234" and build.general is not None
    # Arrow fills absent fields with null; the renderer must not see them
    with_weight = json.loads((build_dir / "train.jsonl").read_text().splitlines()[0])
    with_weight["messages"][-1]["weight"] = 1
    (build_dir / "extra.jsonl").write_text(
        json.dumps(with_weight)
        + "\n"
        + json.dumps(
            {
                "id": "x",
                **{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]},
            }
        )
        + "\n"
    )
    mixed = load_split(build_dir / "extra.jsonl")
    assert mixed[1]["messages"][1].get("weight") is None
    out = encode_split(Renderer(tiny_tokenizer), mixed, 4096)
    assert len(out.examples) == 2
