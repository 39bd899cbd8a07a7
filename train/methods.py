"""The three ways to train: ``lora`` (default), ``qlora`` (LoRA on a 4-bit NF4 base) and ``full``."""

from __future__ import annotations

import os
from typing import Any

from train.config import TrainConfig
from train.errors import TrainError
from train.models import load_model

METHODS = ("lora", "qlora", "full")
QLORA_HINT = "use train.method lora (the same adapter on the unquantized model) on this machine"


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def check_qlora() -> None:
    """Stop with one line unless bitsandbytes can quantize here (CUDA, or its CPU backend)."""
    import torch

    try:
        from bitsandbytes.functional import quantize_4bit
    except Exception as exc:  # noqa: BLE001 - ImportError, or a broken native library
        raise TrainError(
            f"train.method qlora needs bitsandbytes, which does not load here ({_first_line(exc)})",
            hint="pip install 'bitsandbytes>=0.50', or " + QLORA_HINT,
        ) from exc
    device = "cuda" if torch.cuda.is_available() else "cpu"
    try:
        quantize_4bit(torch.ones(64, 64, device=device), quant_type="nf4")
    except Exception as exc:  # noqa: BLE001 - the backend's own error names what is missing
        raise TrainError(
            f"train.method qlora: bitsandbytes has no working {device} backend here ({_first_line(exc)})",
            hint=QLORA_HINT,
        ) from exc


def load_for_method(model_path: str, cfg: TrainConfig) -> Any:
    """The model to train, with its trainable weights marked (an adapter, or every weight)."""
    method = cfg.train.method
    if method == "qlora":
        check_qlora()
        model = _load_4bit(model_path, cfg)
    else:
        model = load_model(model_path, cfg.model.attn_implementation)
    if method == "full":
        for p in model.parameters():
            p.requires_grad_(True)
        return model
    return add_lora(model, cfg)


def _load_4bit(model_path: str, cfg: TrainConfig) -> Any:
    import torch
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    cuda = torch.cuda.is_available()
    compute = torch.bfloat16 if cuda and torch.cuda.is_bf16_supported() else torch.float32
    quant = BitsAndBytesConfig(  # type: ignore[no-untyped-call]
        load_in_4bit=True,
        bnb_4bit_quant_type="nf4",
        bnb_4bit_use_double_quant=True,
        bnb_4bit_compute_dtype=compute,
    )
    device_map = {"": int(os.environ.get("LOCAL_RANK", "0"))} if cuda else {"": "cpu"}
    try:
        model = AutoModelForCausalLM.from_pretrained(
            model_path,
            quantization_config=quant,
            dtype=compute,
            attn_implementation=cfg.model.attn_implementation,
            device_map=device_map,
        )
    except Exception as exc:  # noqa: BLE001
        raise TrainError(
            f"cannot load the model in 4-bit: {_first_line(exc)}", where=model_path, hint=QLORA_HINT
        ) from exc
    return prepare_model_for_kbit_training(  # type: ignore[no-untyped-call]
        model,
        use_gradient_checkpointing=cfg.model.gradient_checkpointing,
        gradient_checkpointing_kwargs={"use_reentrant": False},
    )


def add_lora(model: Any, cfg: TrainConfig) -> Any:
    from peft import LoraConfig, get_peft_model

    lora = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=cfg.lora.target_modules,
        task_type="CAUSAL_LM",
    )
    try:
        return get_peft_model(model, lora)
    except ValueError as exc:
        raise TrainError(f"cannot attach LoRA: {exc}", hint="check lora.target_modules") from exc
