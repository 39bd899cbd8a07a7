"""Sizes that fit the machine, and what a run will need in memory before anything is loaded.

``train run`` with no config picks the sequence length, packing, batch size, activation checkpointing and
the eval cap from the device it finds; a value written in train.toml or given as a flag always wins.
The memory estimate is a model of where a LoRA step's bytes go (weights, trainable state, activations per
token and layer, one chunk of logits, the runtime), calibrated against measurements on SmolLM2-135M
(benchmarks/RESULTS.md); it is meant to refuse a run that cannot fit, not to predict the peak exactly.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from train.config import TrainConfig
from train.errors import TrainError

GB = 1024**3
# Settings the device decides when neither train.toml nor a flag sets them.
SIZED = (
    "model.max_length",
    "model.gradient_checkpointing",
    "train.pack_length",
    "train.batch_size",
    "train.grad_accum",
    "train.learning_rate",
    "eval.batch_size",
    "eval.max_examples",
)
CPU_RUNTIME_BYTES = 0.9 * GB  # python, torch, transformers, tokenizers, datasets once imported
GPU_RUNTIME_BYTES = 0.6 * GB  # CUDA context and allocator slack


def explicit_settings(path: str | Path | None, overrides: dict[str, Any]) -> set[str]:
    """Dotted names of the settings the user wrote in the file or passed as flags."""
    found = {key for key, value in overrides.items() if value is not None}
    if path is not None and Path(path).is_file():
        raw = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        for key, value in raw.items():
            if isinstance(value, dict):
                found.update(f"{key}.{name}" for name in value)
            else:
                found.add(key)
    return found


@dataclass
class Device:
    """What the sizes are chosen for."""

    kind: str  # "cpu" or "cuda"
    free_bytes: int
    cores: int
    name: str = ""


def find_device() -> Device:
    import torch

    if torch.cuda.is_available():
        free, _total = torch.cuda.mem_get_info()
        return Device("cuda", int(free), os.cpu_count() or 1, torch.cuda.get_device_name())
    return Device(
        "cpu", available_ram(), len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else 1
    )


def available_ram() -> int:
    """MemAvailable, lowered to the cgroup's limit where a container sets one."""
    free = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                free = int(line.split()[1]) * 1024
    except OSError:
        free = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_AVPHYS_PAGES")
    for limit_file in ("/sys/fs/cgroup/memory.max", "/sys/fs/cgroup/memory/memory.limit_in_bytes"):
        try:
            text = Path(limit_file).read_text().strip()
        except OSError:
            continue
        if text.isdigit() and int(text) < free:
            usage_file = Path(limit_file).with_name(
                "memory.current" if limit_file.endswith("max") else "memory.usage_in_bytes"
            )
            used = int(usage_file.read_text().strip()) if usage_file.is_file() else 0
            free = max(0, int(text) - used)
    return free


@dataclass
class ModelShape:
    """What the memory model needs to know about the network, read from its config without weights."""

    params: int
    linear_in_out: int  # sum of in + out features over the linear layers LoRA adapts
    layers: int
    hidden: int
    intermediate: int
    vocab: int


def model_shape(model_path: str) -> ModelShape:
    """Count parameters on the meta device: no weight is read or allocated."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM

    config = AutoConfig.from_pretrained(model_path)
    with torch.device("meta"):
        model = AutoModelForCausalLM.from_config(config)  # type: ignore[no-untyped-call]
    head = model.get_output_embeddings()
    linear = sum(
        m.in_features + m.out_features
        for m in model.modules()
        if isinstance(m, torch.nn.Linear) and m is not head
    )
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    return ModelShape(
        params=sum(p.numel() for p in model.parameters()),
        linear_in_out=linear,
        layers=int(getattr(text, "num_hidden_layers", 1)),
        hidden=int(getattr(text, "hidden_size", 1)),
        intermediate=int(getattr(text, "intermediate_size", 4 * getattr(text, "hidden_size", 1))),
        vocab=int(getattr(text, "vocab_size", 1)),
    )


def choose_sizes(cfg: TrainConfig, explicit: Collection[str], device: Device, shape: ModelShape) -> str:
    """Set every size the user left open for ``device``; return one line that says what and why."""
    chosen: dict[str, Any] = {}

    def pick(name: str, value: Any) -> None:
        if name in explicit:
            return
        section, key = name.split(".")
        setattr(getattr(cfg, section), key, value)
        chosen[name] = value

    method = cfg.train.method
    if method == "full":
        pick("train.learning_rate", 2e-5)  # LoRA's rates would wreck a fully trained model
    if device.kind == "cpu":
        # Short rows and small steps: a CPU trains about 150 tokens a second on SmolLM2-135M with 2 cores,
        # and activations (not weights) dominate the peak; checkpointing keeps them to one layer's worth.
        pick("model.max_length", 512)
        pick("train.batch_size", 2)
        pick("train.grad_accum", 1)
        pick("model.gradient_checkpointing", True)
        pick("eval.batch_size", 2)
        why = f"cpu, {device.cores} cores, {device.free_bytes / GB:.1f} GB free: seconds a step, a small peak"
    else:
        pick("model.max_length", 2048)
        budget = 0.7 * device.free_bytes - fixed_bytes(cfg, shape, device)
        per_row = activation_bytes(cfg, shape, device, tokens=cfg.model.max_length, checkpointing=False)
        rows = int(budget // per_row) // sequences_per_row(cfg) if per_row > 0 else 1
        pick("model.gradient_checkpointing", rows < 1)
        if rows < 1:
            per_row = activation_bytes(cfg, shape, device, tokens=cfg.model.max_length, checkpointing=True)
            rows = int(budget // per_row) // sequences_per_row(cfg) if per_row > 0 else 1
        batch = max(1, min(16, rows))
        pick("train.batch_size", batch)
        pick("train.grad_accum", max(1, 16 // batch))
        pick("eval.batch_size", batch)
        why = f"{device.name or 'cuda'}, {device.free_bytes / GB:.1f} GB free: rows that fill 70% of it"
    pick("eval.max_examples", 256)
    if not chosen:
        return ""
    text = ", ".join(f"{k} {_show(v)}" for k, v in chosen.items())
    return f"sizes for {why}: {text} (set any of them in train.toml or as a flag to override)"


def _show(value: Any) -> str:
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _weight_bytes(device: Device) -> int:
    return 4 if device.kind == "cpu" else 2


def fixed_bytes(cfg: TrainConfig, shape: ModelShape, device: Device) -> float:
    """Weights, gradients and AdamW state: what does not grow with the tokens of a step."""
    wb = _weight_bytes(device)
    method = cfg.train.method
    if method == "full":
        # weights, fp32 gradients and AdamW's two fp32 moments (plus fp32 master weights under bf16)
        per_param = wb + 4 + 8 + (4 if wb < 4 else 0)
        return shape.params * per_param
    weights = shape.params * (0.56 if method == "qlora" else wb)  # NF4: 4 bits + block scales
    lora = cfg.lora.r * shape.linear_in_out
    return weights + lora * (4 + 4 + 8)


def activation_bytes(
    cfg: TrainConfig, shape: ModelShape, device: Device, tokens: int, checkpointing: bool
) -> float:
    """Activations kept for the backward pass of ``tokens`` tokens in one forward."""
    ab = _weight_bytes(device)
    per_token_layer = ab * (18 * shape.hidden + 6 * shape.intermediate)
    if cfg.lora.dropout > 0 and cfg.train.method != "full":
        per_token_layer += ab * 6 * shape.hidden  # each adapted layer keeps its dropped-out input
    if checkpointing:  # one layer input per layer is kept; one layer at a time is recomputed
        per_token = shape.layers * ab * shape.hidden + per_token_layer
    else:
        per_token = shape.layers * per_token_layer
    # The supervised loss is chunked (train.loss); TRL's DPO loss takes the logits of every token at once.
    scored = tokens if cfg.train.method == "dpo" else min(tokens, cfg.train.loss_chunk)
    logits = scored * shape.vocab * 4 * 3  # logits, softmax, gradient
    return tokens * per_token + logits


def sequences_per_row(cfg: TrainConfig) -> int:
    """A DPO row is a pair: its chosen and rejected sequences go through the model together."""
    return 2 if cfg.train.method == "dpo" else 1


def estimate_bytes(cfg: TrainConfig, shape: ModelShape, device: Device) -> float:
    length = (
        cfg.model.max_length if cfg.train.method == "dpo" else cfg.train.pack_length or cfg.model.max_length
    )
    tokens = cfg.train.batch_size * sequences_per_row(cfg) * length
    act = activation_bytes(cfg, shape, device, tokens, cfg.model.gradient_checkpointing)
    runtime = CPU_RUNTIME_BYTES if device.kind == "cpu" else GPU_RUNTIME_BYTES
    return fixed_bytes(cfg, shape, device) + act + runtime


def check_fits(cfg: TrainConfig, shape: ModelShape, device: Device) -> float:
    """Refuse, in one line, a run whose estimated peak exceeds the free memory; return the estimate."""
    need = estimate_bytes(cfg, shape, device)
    if need > device.free_bytes:
        where = "RAM" if device.kind == "cpu" else "GPU memory"
        raise TrainError(
            f"this run needs about {need / GB:.1f} GB but {device.free_bytes / GB:.1f} GB of {where} is free",
            hint="lower model.max_length or train.batch_size, turn on model.gradient_checkpointing"
            + (", or use train.method lora or qlora" if cfg.train.method == "full" else ""),
        )
    return need
