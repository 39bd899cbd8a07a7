"""The method switch: ``full`` and ``lora`` train on a CPU; ``qlora`` runs where bitsandbytes can and
otherwise stops with one line that says why and what to use."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import pytest

from train.config import load_config
from train.errors import TrainError
from train.run import fit


def _cfg(model: Path, data: Path, out: Path, method: str, **extra: Any) -> Any:
    return load_config(
        None,
        {
            "data": str(data),
            "model.name": str(model),
            "model.max_length": 96,
            "output.dir": str(out),
            "train.method": method,
            "train.max_steps": 2,
            "train.batch_size": 2,
            "train.learning_rate": 1e-3,
            "train.save_every": 100,
            **extra,
        },
    )


def test_full_trains_every_weight_and_records_the_method(
    tiny_model_dir: Path, build_dir: Path, tmp_path: Path
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    said: list[str] = []
    out = tmp_path / "full"
    metrics = fit(_cfg(tiny_model_dir, build_dir, out, "full"), say=said.append)
    assert metrics["method"] == "full"
    assert any("full fine-tuning trains all" in line and "GB" in line for line in said)
    assert json.loads((out / "metrics.json").read_text())["method"] == "full"
    assert json.loads((out / "train-config.json").read_text())["method"] == "full"
    base = AutoModelForCausalLM.from_pretrained(tiny_model_dir).state_dict()
    tuned = AutoModelForCausalLM.from_pretrained(out / "model").state_dict()
    changed = [k for k in base if not torch.equal(base[k], tuned[k])]
    assert len(changed) == len(base)  # every weight moved, not an adapter's
    assert not (out / "adapter").exists()


def _bitsandbytes_works() -> bool:
    from train.methods import check_qlora

    try:
        check_qlora()
    except TrainError:
        return False
    return True


def _wider_tiny_model(folder: Path) -> Path:
    """The tiny Llama with every linear layer 64 wide: bitsandbytes' CPU kernel packs weights in blocks
    of 64 input features and cannot run narrower layers."""
    from tests.train.conftest import save_tiny_llama

    return save_tiny_llama(folder, hidden=64, kv_heads=4)


@pytest.mark.slow  # bitsandbytes' CPU kernels are slow; the one-line refusal below runs by default
def test_qlora_runs_where_bitsandbytes_can(build_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "qlora"
    cfg = _cfg(_wider_tiny_model(tmp_path / "model64"), build_dir, out, "qlora")
    if not _bitsandbytes_works():
        with pytest.raises(TrainError, match="qlora") as err:
            fit(cfg, say=lambda _: None)
        assert "\n" not in str(err.value) and "lora" in str(err.value)
        return
    metrics = fit(cfg, say=lambda _: None)
    assert metrics["method"] == "qlora" and metrics["steps"] == 2
    assert metrics["eval_loss_after"] is not None
    assert (out / "adapter" / "adapter_config.json").is_file()


def test_qlora_without_bitsandbytes_is_one_line(
    tiny_model_dir: Path, build_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "bitsandbytes", None)  # import fails as on a machine without it
    monkeypatch.setitem(sys.modules, "bitsandbytes.functional", None)
    with pytest.raises(TrainError) as err:
        fit(_cfg(tiny_model_dir, build_dir, tmp_path / "q", "qlora"), say=lambda _: None)
    text = str(err.value)
    assert "\n" not in text
    assert "qlora needs bitsandbytes" in text and "use train.method lora" in text
