"""``train run``, a recipe in order: size, setup (build, data, model), measure, fit, measure, save.

Runs on one CPU, one GPU, or several processes under ``accelerate launch`` or ``torchrun`` (see
train/README.md): the Hugging Face ``Trainer`` does the distribution, eval during training, early stopping,
checkpoints, resuming and saving; ``train.trainer`` adds the assistant-only loss; this module adds the
sizes, the before/after measurements and the run folder. Only rank 0 prints and writes.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import shutil
import sys
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from train.config import TrainConfig
from train.data import (
    Build,
    EncodedSplit,
    Renderer,
    encode_split,
    load_split,
    open_build,
    pack_rows,
    single_rows,
    supports_padding_free,
)
from train.errors import DataError, TrainError
from train.models import load_tokenizer, resolve_model

Say = Callable[[str], None]


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the process count as a launcher (torchrun, accelerate) sets them."""
    return int(os.environ.get("RANK", "0")), int(os.environ.get("WORLD_SIZE", "1"))


@dataclass
class Splits:
    """The encoded splits and the rows the Trainer reads."""

    train: EncodedSplit
    eval: EncodedSplit
    general: EncodedSplit | None
    general_reason: str | None
    train_rows: list[dict[str, Any]]
    eval_sets: dict[str, list[dict[str, Any]]]


def run_dir(cfg: TrainConfig, build: Build) -> Path:
    return Path(cfg.output.dir) if cfg.output.dir else Path("runs") / build.name


def sample(rows: list[dict[str, Any]], n: int, seed: int) -> list[dict[str, Any]]:
    """At most ``n`` rows, a seeded random sample in file order (the same rows before and after)."""
    if n <= 0 or len(rows) <= n:
        return rows
    keep = sorted(random.Random(seed).sample(range(len(rows)), n))
    return [rows[i] for i in keep]


def encode_splits(cfg: TrainConfig, build: Build, renderer: Renderer, packed: bool, say: Say) -> Splits:
    max_len = cfg.model.max_length
    rows = load_split(build.train)
    if not rows:
        raise DataError("train.jsonl has no examples", where=str(build.train))
    train = encode_split(renderer, rows, max_len, where=str(build.train))
    if not train.examples:
        raise DataError(
            "every example lost its trainable tokens to truncation",
            where=str(build.train),
            hint=f"raise model.max_length above {max_len}",
        )
    cap = cfg.eval.max_examples

    def eval_rows(path: Path, name: str) -> list[dict[str, Any]]:
        every = load_split(path)
        picked = sample(every, cap, cfg.train.seed)
        if len(picked) < len(every):
            say(f"{name}: {len(picked)} of {len(every)} examples sampled for the loss (eval.max_examples)")
        return picked

    evals = encode_split(renderer, eval_rows(build.eval, "eval.jsonl"), max_len, str(build.eval))
    general: EncodedSplit | None = None
    general_reason: str | None = None
    if build.general is None:
        general_reason = "the build has no general_eval.jsonl (no general data was mixed in)"
    else:
        general = encode_split(
            renderer, eval_rows(build.general, "general_eval.jsonl"), max_len, str(build.general)
        )
        if not general.examples:
            general, general_reason = None, "general_eval.jsonl has no usable example"
    for name, split in (("train", train), ("eval", evals), ("general_eval", general)):
        if split is not None and (split.truncated or split.dropped):
            say(
                f"[yellow]{name}: {len(split.truncated)} of {len(split.examples) + len(split.dropped)} "
                "examples "
                f"truncated to {max_len} tokens, {len(split.dropped)} dropped (no trainable token left)[/]"
            )
    capacity = cfg.train.pack_length or max_len
    # An eval batch is one pack per process (so the token-weighted gather drops duplicates exactly),
    # packed eval.batch_size times larger than a training pack.
    eval_capacity = capacity * cfg.eval.batch_size

    def rows_of(split: EncodedSplit, cap_tokens: int) -> list[dict[str, Any]]:
        return pack_rows(split.examples, cap_tokens) if packed else single_rows(split.examples)

    eval_sets = {"eval": rows_of(evals, eval_capacity)} if evals.examples else {}
    if general is not None:
        eval_sets["general"] = rows_of(general, eval_capacity)
    return Splits(train, evals, general, general_reason, rows_of(train, capacity), eval_sets)


def precision_of(cfg: TrainConfig) -> str:
    import torch

    wanted = cfg.train.precision
    if wanted != "auto":
        if wanted in ("bf16", "fp16") and not torch.cuda.is_available():
            raise TrainError(f"train.precision {wanted} needs a GPU", hint="use auto or fp32 on a CPU")
        return wanted
    if torch.cuda.is_available() and torch.cuda.is_bf16_supported():
        return "bf16"
    return "fp32"


def total_steps(cfg: TrainConfig, n_rows: int, world_size: int) -> int:
    if cfg.train.max_steps > 0:
        return cfg.train.max_steps
    batches = math.ceil(n_rows / (cfg.train.batch_size * world_size))
    per_epoch = max(1, math.ceil(batches / cfg.train.grad_accum))
    return max(1, math.ceil(cfg.train.epochs * per_epoch))


def last_checkpoint(folder: Path) -> Path | None:
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def training_args(cfg: TrainConfig, ckpt_dir: Path, precision: str, packed: bool, can_eval: bool) -> Any:
    import torch
    from transformers import TrainingArguments

    t = cfg.train
    every = t.eval_every if can_eval else 0
    return TrainingArguments(
        output_dir=str(ckpt_dir),
        per_device_train_batch_size=t.batch_size,
        per_device_eval_batch_size=1,  # one pack (eval.batch_size training packs) per process
        gradient_accumulation_steps=t.grad_accum,
        learning_rate=t.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=t.warmup_ratio,  # a ratio below 1: Trainer turns it into steps
        weight_decay=t.weight_decay,
        max_grad_norm=t.max_grad_norm if t.max_grad_norm > 0 else 1e9,
        num_train_epochs=t.epochs,
        max_steps=t.max_steps if t.max_steps > 0 else -1,
        optim="adamw_torch",
        logging_steps=1,
        eval_strategy="steps" if every else "no",
        eval_steps=every or None,
        metric_for_best_model="eval_eval_loss" if every and t.early_stopping_patience else None,
        greater_is_better=False,
        prediction_loss_only=True,
        save_strategy="steps",
        save_steps=t.save_every,
        save_total_limit=2,
        seed=t.seed,
        data_seed=t.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        **checkpointing_args(cfg.model.gradient_checkpointing),
        include_num_input_tokens_seen="non_padding",  # packed batches carry a mask for this count only
        remove_unused_columns=False,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        ddp_find_unused_parameters=False,
        # several processes on CPUs join over gloo only when told so; else each would train alone
        use_cpu=not torch.cuda.is_available() and rank_and_world()[1] > 1,
        disable_tqdm=False,
    )


def fit(
    cfg: TrainConfig, resume: bool = False, say: Say = print, explicit: Collection[str] | None = None
) -> dict[str, Any]:
    """Train on the build and write the run folder; returns the metrics (the same on every rank).

    ``explicit`` names the settings the user chose (train.toml keys and flags); every other size is then
    picked for the device. ``None`` takes ``cfg`` exactly as given.
    """
    from transformers import set_seed

    from train.lock import run_lock
    from train.sizing import GB, check_fits, choose_sizes, find_device, fixed_bytes, model_shape

    rank, world = rank_and_world()
    main = rank == 0
    tell: Say = say if main else (lambda _text: None)
    t0 = time.monotonic()
    set_seed(cfg.train.seed)
    if not cfg.data:
        raise DataError("no build folder given", hint="pass --data build/<name> or set data in train.toml")
    build = open_build(cfg.data)
    model_path = resolve_model(cfg.model.name)
    device, shape = find_device(), model_shape(model_path)
    if explicit is not None and (line := choose_sizes(cfg, explicit, device, shape)):
        tell(line)
    need = check_fits(cfg, shape, device)
    if cfg.train.method == "full":
        as_lora = fixed_bytes(TrainConfig(), shape, device)
        tell(
            f"[yellow]full fine-tuning trains all {shape.params / 1e6:.0f}M weights: about "
            f"{fixed_bytes(cfg, shape, device) / GB:.1f} GB for weights, gradients and AdamW states "
            f"(LoRA: {as_lora / GB:.1f} GB), {need / GB:.1f} GB in all by estimate[/]"
        )
    out = run_dir(cfg, build)
    lock = run_lock(out) if main else contextlib.nullcontext(out)
    with lock:
        metrics = _fit(cfg, build, model_path, out, resume, tell, main, world, t0, need)
    _leave_process_group()
    return metrics


def _leave_process_group() -> None:
    """Wait for every rank, then close the process group before the interpreter exits.

    A gloo group left open is torn down during interpreter shutdown, where its threads can abort the
    process ("terminate called without an active exception") while rank 0 is still writing the run.
    """
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        dist.barrier()
        dist.destroy_process_group()


def _fit(
    cfg: TrainConfig,
    build: Build,
    model_path: str,
    out: Path,
    resume: bool,
    tell: Say,
    main: bool,
    world: int,
    t0: float,
    need: float,
) -> dict[str, Any]:
    from train.methods import load_for_method
    from train.plot import plot_losses
    from train.trainer import FlattenPacks, make_trainer, on_train_begin, padded_collator, progress_callbacks

    tokenizer = load_tokenizer(model_path)
    renderer = Renderer(tokenizer, cfg.model.default_system_prompt)
    default_system = renderer.default_system_prompt()
    if default_system:
        state = "kept" if cfg.model.default_system_prompt else "left out (model.default_system_prompt false)"
        tell(
            f"the chat template adds a system prompt to examples without one: {default_system[:60]!r}"
            f"{'...' if len(default_system) > 60 else ''}; {state}"
        )
    ckpt_dir = out / "checkpoints"
    checkpoint = last_checkpoint(ckpt_dir) if resume else None
    if resume and checkpoint is None:
        raise TrainError("no checkpoint to resume from", where=str(ckpt_dir), hint="run without --resume")
    precision = precision_of(cfg)
    model = load_for_method(model_path, cfg)
    packed = cfg.train.packing and supports_padding_free(_base(model))
    if cfg.train.packing and not packed:
        tell("[yellow]packing needs position-id masks, which this model/attention lacks: padding instead[/]")
    splits = encode_splits(cfg, build, renderer, packed, tell)
    args = training_args(cfg, ckpt_dir, precision, packed, "eval" in splits.eval_sets)
    if args.world_size != world:
        raise TrainError(
            f"{world} processes were started but the Trainer sees {args.world_size}",
            hint="start them with accelerate launch or torchrun, which set RANK and WORLD_SIZE for each",
        )
    steps = total_steps(cfg, len(splits.train_rows), args.world_size)
    if main and not resume and ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)  # a fresh run must not resume from an older run's checkpoints
    log_path = out / "steps.jsonl"
    if main and not resume and log_path.exists():
        log_path.unlink()
    log: list[dict[str, Any]] = []

    def write(entry: dict[str, Any]) -> None:
        log.append(entry)
        if main:
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")

    # The before-measurement runs when training begins, after the Trainer has wrapped the model: an
    # evaluate() before train() registers the bare model with accelerate, which then skips the DDP wrap.
    before: dict[str, float | None] = {}
    holder: list[Any] = []

    def measure_before() -> None:
        tell("measuring loss before training ...")
        before.update(_evaluate(holder[0], model, "before", adapter_off=cfg.train.method != "full"))

    callbacks = [on_train_begin(measure_before), *progress_callbacks(write, tell, steps)]
    if args.metric_for_best_model:
        from transformers import EarlyStoppingCallback

        callbacks.append(EarlyStoppingCallback(cfg.train.early_stopping_patience, 1e-4))
    flash = cfg.model.attn_implementation.startswith("flash")
    trainer = make_trainer(
        model,
        args,
        splits.train_rows,
        splits.eval_sets,
        FlattenPacks(flash) if packed else padded_collator(tokenizer),
        tokenizer,
        cfg.train.loss_chunk,
        callbacks,
    )
    unit = f"packs of up to {cfg.train.pack_length or cfg.model.max_length} tokens" if packed else "rows"
    tell(
        f"{cfg.train.method} on {model_path} ({args.device}, {precision}, {world} process"
        f"{'es' if world > 1 else ''}): {_trainable(model):,} trainable parameters; "
        f"{len(splits.train.examples)} train examples in {len(splits.train_rows)} "
        f"{unit}"
        f"; {steps} steps of {cfg.train.batch_size * cfg.train.grad_accum * world} "
        f"{'packs' if packed else 'rows'}; about {need / 1024**3:.1f} GB by estimate"
    )
    holder.append(trainer)
    cpu0 = time.process_time()
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    train_cpu = time.process_time() - cpu0
    tell("measuring loss after training ...")
    after = _evaluate(trainer, model, "after", adapter_off=False)
    runtime = float(result.metrics.get("train_runtime") or 0.0)
    tokens = int(trainer.state.num_input_tokens_seen)
    early = bool(
        cfg.train.early_stopping_patience and trainer.state.global_step < (trainer.state.max_steps or steps)
    )
    metrics = {
        "method": cfg.train.method,
        "eval_loss_before": before.get("eval"),
        "eval_loss_after": after.get("eval"),
        "eval_loss_change": _change(before.get("eval"), after.get("eval")),
        "general_loss_before": before.get("general"),
        "general_loss_after": after.get("general"),
        "general_loss_change": _change(before.get("general"), after.get("general")),
        "general_loss_reason": splits.general_reason,
        "steps": trainer.state.global_step,
        "epochs": round(float(trainer.state.epoch or 0.0), 4),
        "train_loss": float(result.training_loss),
        "early_stopped": early,
        "best_eval_loss": trainer.state.best_metric,
        "resumed_from": str(checkpoint) if checkpoint else None,
        "train_examples": len(splits.train.examples),
        "train_rows": len(splits.train_rows),
        "train_tokens_per_epoch": splits.train.tokens,
        "train_trainable_tokens_per_epoch": splits.train.trainable_tokens,
        "eval_examples": len(splits.eval.examples),
        "general_examples": len(splits.general.examples) if splits.general else 0,
        "eval_max_examples": cfg.eval.max_examples,
        "truncated": {
            "train": len(splits.train.truncated),
            "eval": len(splits.eval.truncated),
            "general_eval": len(splits.general.truncated) if splits.general else 0,
        },
        "truncated_ids": {"train": splits.train.truncated[:50]},
        "dropped_after_truncation": {
            "train": splits.train.dropped,
            "eval": splits.eval.dropped,
            "general_eval": splits.general.dropped if splits.general else [],
        },
        "tokens_seen": tokens,
        "train_runtime_s": round(runtime, 2),
        "tokens_per_second": round(tokens / runtime, 1) if runtime else None,
        "train_cpu_time_s": round(train_cpu, 2),
        "wall_time_s": round(time.monotonic() - t0, 2),
        "estimated_peak_gb": round(need / 1024**3, 2),
        "padding_free": packed,
        "precision": precision,
        "world_size": world,
        "default_system_prompt": default_system if cfg.model.default_system_prompt else None,
    }
    saved = "model" if cfg.train.method == "full" else "adapter"
    trainer.save_model(str(out / saved))  # every rank takes part (FSDP gathers the shards); rank 0 writes
    if main:
        write_run(
            cfg, build, model_path, out, metrics, precision, world, padding_free=metrics["padding_free"]
        )
        plot_losses(out / "loss.png", log, metrics)
        if cfg.output.merge and saved == "adapter":
            tell("writing merged model ...")
            merged = trainer.accelerator.unwrap_model(model).merge_and_unload()
            merged.save_pretrained(out / "merged")
            tokenizer.save_pretrained(out / "merged")
    return metrics


def _evaluate(trainer: Any, model: Any, prefix: str, adapter_off: bool) -> dict[str, float | None]:
    """Token-weighted loss of each eval set, on every rank's share, through ``Trainer.evaluate``."""
    if not trainer.eval_dataset:
        return {}
    switch = model.disable_adapter() if adapter_off else contextlib.nullcontext()
    with switch:
        found = trainer.evaluate(metric_key_prefix=prefix)
    return {name: found.get(f"{prefix}_{name}_loss") for name in trainer.eval_dataset}


def _base(model: Any) -> Any:
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def checkpointing_args(enabled: bool) -> dict[str, Any]:
    """Activation checkpointing on or off under the argument name this transformers version uses.

    Always set, never left to the arguments' default: TRL's configs default it to on.
    """
    import dataclasses

    from transformers import TrainingArguments

    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    key = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    if not enabled:
        return {key: False}
    return {key: True, f"{key}_kwargs": {"use_reentrant": False}}


def _change(before: float | None, after: float | None) -> float | None:
    """after - before: negative when the loss fell."""
    return None if before is None or after is None else round(after - before, 6)


def _trainable(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def write_run(
    cfg: TrainConfig,
    build: Build,
    model_path: str,
    out: Path,
    metrics: dict[str, Any],
    precision: str,
    world: int,
    **extra: Any,
) -> None:
    """``train-config.json`` (what ran: the resolved config, the build, the versions) and ``metrics.json``."""
    import peft
    import torch
    import transformers

    resolved = cfg.to_dict()
    resolved["data"] = str(build.path)
    resolved["output"]["dir"] = str(out)
    versions = {
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
    }
    if "trl" in sys.modules:  # DPO runs train through TRL
        versions["trl"] = sys.modules["trl"].__version__
    config = {
        "config": resolved,
        "method": cfg.train.method,
        "model_path": model_path,
        "build": {"path": str(build.path.resolve()), "name": build.name, "config_hash": build.config_hash},
        **extra,
        "precision": precision,
        "world_size": world,
        "versions": {**versions, "python": sys.version.split()[0]},
        "argv": sys.argv,
    }
    (out / "train-config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
