"""End-to-end runs on a tiny Llama: outputs, the before/after losses, resume, packing equivalence."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from train.config import load_config
from train.run import fit


def tiny_config(model_dir: Path, data: Path, out: Path, **train: Any) -> Any:
    overrides: dict[str, Any] = {
        "data": str(data),
        "model.name": str(model_dir),
        "model.max_length": 128,
        "output.dir": str(out),
        "train.batch_size": 2,
        "train.grad_accum": 2,
        "train.learning_rate": 5e-3,
        "train.save_every": 2,
        "eval.batch_size": 4,
    }
    overrides.update({f"train.{k}": v for k, v in train.items()})
    return load_config(None, overrides)


def test_run_writes_adapter_metrics_config_and_plot(
    tiny_model_dir: Path, build_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    metrics = fit(tiny_config(tiny_model_dir, build_dir, out, max_steps=6), say=lambda _: None)
    for name in (
        "adapter/adapter_config.json",
        "metrics.json",
        "train-config.json",
        "loss.png",
        "steps.jsonl",
    ):
        assert (out / name).is_file(), name
    saved = json.loads((out / "metrics.json").read_text())
    for key in ("eval_loss_before", "eval_loss_after", "general_loss_before", "general_loss_after"):
        assert isinstance(saved[key], float), key
    assert saved["eval_loss_after"] < saved["eval_loss_before"]  # a high learning rate on easy data
    assert saved["eval_loss_change"] == pytest.approx(
        saved["eval_loss_after"] - saved["eval_loss_before"], abs=1e-5
    )
    assert saved["method"] == "lora" and saved["tokens_seen"] > 0
    assert not (out / ".train.lock").exists()
    assert saved["steps"] == 6 and metrics["padding_free"] is True
    resolved = json.loads((out / "train-config.json").read_text())
    assert resolved["build"]["config_hash"] == "sha256:test1234"
    assert resolved["config"]["train"]["max_steps"] == 6
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps if "loss" in s] == [1, 2, 3, 4, 5, 6]

    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    tuned = PeftModel.from_pretrained(base, out / "adapter")
    assert any("lora_A" in name for name, _ in tuned.named_parameters())


def test_no_general_data_gives_null_with_reason(
    tiny_model_dir: Path, no_general_build: Path, tmp_path: Path
) -> None:
    metrics = fit(
        tiny_config(tiny_model_dir, no_general_build, tmp_path / "r", max_steps=1), say=lambda _: None
    )
    assert metrics["general_loss_before"] is None and metrics["general_loss_after"] is None
    assert "general_eval.jsonl" in metrics["general_loss_reason"]
    saved = json.loads((tmp_path / "r" / "metrics.json").read_text())
    assert saved["general_loss_after"] is None and saved["general_loss_reason"]


def test_resume_continues_from_the_last_checkpoint(
    tiny_model_dir: Path, build_dir: Path, tmp_path: Path
) -> None:
    out = tmp_path / "run"
    fit(tiny_config(tiny_model_dir, build_dir, out, max_steps=2), say=lambda _: None)
    assert (out / "checkpoints" / "checkpoint-2").is_dir()
    metrics = fit(tiny_config(tiny_model_dir, build_dir, out, max_steps=4), resume=True, say=lambda _: None)
    assert metrics["resumed_from"].endswith("checkpoint-2")
    assert metrics["steps"] == 4
    steps = [json.loads(line) for line in (out / "steps.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps if "loss" in s] == [1, 2, 3, 4]  # the log continues, not restarts


def test_resume_without_checkpoint_is_an_error(tiny_model_dir: Path, build_dir: Path, tmp_path: Path) -> None:
    from train.errors import TrainError

    with pytest.raises(TrainError, match="no checkpoint to resume from"):
        fit(
            tiny_config(tiny_model_dir, build_dir, tmp_path / "empty", max_steps=1),
            resume=True,
            say=lambda _: None,
        )


def test_packed_loss_equals_per_example_loss(
    tiny_model_dir: Path, tiny_tokenizer: Any, make_chat: Any
) -> None:
    """Padding-free packing must not let examples see each other: same loss as one example per row."""
    import torch
    from transformers import AutoModelForCausalLM

    from train.data import Renderer, encode_example, pack_rows, single_rows
    from train.loss import assistant_loss_sum
    from train.trainer import FlattenPacks, padded_collator

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir, attn_implementation="sdpa").eval()
    renderer = Renderer(tiny_tokenizer)
    examples = [encode_example(renderer, make_chat(i, 1 + i % 3), 512) for i in range(6)]

    def loss(batch: dict[str, Any], inside: bool = False) -> tuple[Any, int]:
        labels = batch.pop("labels")
        if batch.pop("packed", None) is not None:
            batch.pop("attention_mask")
        return assistant_loss_sum(model, batch, labels, chunk=7, inside_forward=inside)

    with torch.no_grad():
        packs = pack_rows(examples, 512)
        assert len(packs) < len(examples)
        packed, n1 = loss(FlattenPacks()(packs))
        padded, n2 = loss(dict(padded_collator(tiny_tokenizer)(single_rows(examples))))
        inside, n3 = loss(FlattenPacks()(packs), inside=True)
        one_row, n4 = loss(FlattenPacks(flash=True)(packs))  # the whole batch as one row
    assert n1 == n2 == n3 == n4 == sum(e.n_trainable for e in examples)
    assert one_row.item() == pytest.approx(padded.item(), rel=1e-4)
    assert packed.item() == pytest.approx(padded.item(), rel=1e-4)
    assert inside.item() == pytest.approx(padded.item(), rel=1e-4)


def test_early_stopping_stops(tiny_model_dir: Path, build_dir: Path, tmp_path: Path) -> None:
    cfg = tiny_config(
        tiny_model_dir,
        build_dir,
        tmp_path / "es",
        max_steps=30,
        eval_every=1,
        early_stopping_patience=1,
        learning_rate=0.5,
    )
    metrics = fit(cfg, say=lambda _: None)
    assert metrics["early_stopped"] is True and metrics["steps"] < 30
