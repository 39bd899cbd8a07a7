"""``train run``, a recipe in order: setup (build, model, data, adapter), measure, fit, measure, save.

Runs on one CPU, one GPU, or several GPUs under ``accelerate launch`` (see train/README.md): the Hugging Face
``Trainer`` does the distribution, checkpoints and resuming; this module adds the assistant-only,
token-normalised loss, packing, the before/after measurements and the run folder.
"""

from __future__ import annotations

import json
import math
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from train.config import TrainConfig
from train.data import (
    Build,
    Collator,
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
from train.models import load_model, load_tokenizer, resolve_model

Say = Callable[[str], None]


@dataclass
class Prepared:
    """Everything set up before the first step."""

    cfg: TrainConfig
    build: Build
    out: Path
    model_path: str
    tokenizer: Any
    model: Any
    padding_free: bool
    train: EncodedSplit
    eval: EncodedSplit
    general: EncodedSplit | None
    general_reason: str | None
    train_rows: list[dict[str, list[int]]] = field(default_factory=list)
    eval_rows: list[dict[str, list[int]]] = field(default_factory=list)
    general_rows: list[dict[str, list[int]]] = field(default_factory=list)


def run_dir(cfg: TrainConfig, build: Build) -> Path:
    return Path(cfg.output.dir) if cfg.output.dir else Path("runs") / build.name


def _cap(rows: list[dict[str, Any]], n: int) -> list[dict[str, Any]]:
    return rows[:n] if n > 0 else rows


def to_rows(split: EncodedSplit, packed: bool, capacity: int) -> list[dict[str, list[int]]]:
    return pack_rows(split.examples, capacity) if packed else single_rows(split.examples)


def prepare(cfg: TrainConfig, say: Say = print) -> Prepared:
    """Open the build, load the model and tokenizer, encode every split, build the rows."""
    if not cfg.data:
        raise DataError("no build folder given", hint="pass --data build/<name> or set data in train.toml")
    build = open_build(cfg.data)
    model_path = resolve_model(cfg.model.name)
    tokenizer = load_tokenizer(model_path)
    renderer = Renderer(tokenizer)
    max_len = cfg.model.max_length

    train_rows = load_split(build.train)
    if not train_rows:
        raise DataError("train.jsonl has no examples", where=str(build.train))
    train = encode_split(renderer, train_rows, max_len, where=str(build.train))
    if not train.examples:
        raise DataError(
            "every example lost its trainable tokens to truncation",
            where=str(build.train),
            hint=f"raise model.max_length above {max_len}",
        )
    evals = encode_split(
        renderer, _cap(load_split(build.eval), cfg.eval.max_examples), max_len, str(build.eval)
    )
    general: EncodedSplit | None = None
    general_reason: str | None = None
    if build.general is None:
        general_reason = "the build has no general_eval.jsonl (no general data was mixed in)"
    else:
        general = encode_split(
            renderer, _cap(load_split(build.general), cfg.eval.max_examples), max_len, str(build.general)
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

    model = load_model(model_path, cfg.model.attn_implementation)
    padding_free = cfg.train.packing and supports_padding_free(model)
    if cfg.train.packing and not padding_free:
        say("[yellow]packing needs position-id masks, which this model/attention lacks: padding instead[/]")
    capacity = cfg.train.pack_length or max_len
    prep = Prepared(
        cfg,
        build,
        run_dir(cfg, build),
        model_path,
        tokenizer,
        model,
        padding_free,
        train,
        evals,
        general,
        general_reason,
    )
    prep.train_rows = to_rows(train, padding_free, capacity)
    prep.eval_rows = to_rows(evals, padding_free, capacity)
    prep.general_rows = to_rows(general, padding_free, capacity) if general is not None else []
    return prep


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


def amp_dtype(precision: str) -> Any:
    import torch

    return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)


def total_steps(cfg: TrainConfig, n_rows: int, world_size: int) -> int:
    if cfg.train.max_steps > 0:
        return cfg.train.max_steps
    batches = math.ceil(n_rows / (cfg.train.batch_size * world_size))
    per_epoch = max(1, math.ceil(batches / cfg.train.grad_accum))
    return max(1, math.ceil(cfg.train.epochs * per_epoch))


def last_checkpoint(folder: Path) -> Path | None:
    found = [p for p in folder.glob("checkpoint-*") if p.is_dir() and p.name.split("-")[-1].isdigit()]
    return max(found, key=lambda p: int(p.name.split("-")[-1])) if found else None


def make_trainer(
    model: Any,
    args: Any,
    rows: list[dict[str, list[int]]],
    pad_id: int,
    padding_free: bool,
    callbacks: list[Any] | None = None,
) -> Any:
    """A transformers Trainer whose loss is the assistant-token sum over the whole accumulated step."""
    from transformers import Trainer

    from train.evaluate import loss_sum

    class TokenLossTrainer(Trainer):
        loss_is_scaled_for_ga = True

        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.model_accepts_loss_kwargs = True  # makes Trainer count labelled tokens per optimizer step
            self.tokens_seen = 0

        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            procs = self.accelerator.num_processes
            total, count = loss_sum(model, inputs, through_forward=procs > 1)
            self.tokens_seen += (
                int(inputs["input_ids"].numel())
                if "attention_mask" not in inputs
                else int(inputs["attention_mask"].sum())
            )
            if num_items_in_batch is not None:
                loss = total / num_items_in_batch
            else:  # no count over the step: average this batch, then share the step with the other batches
                loss = total / max(count, 1) / self.current_gradient_accumulation_steps
            if procs > 1 and self.args.average_tokens_across_devices:
                loss = loss * procs  # DDP averages gradients over processes; the count already spans them
            return (loss, None) if return_outputs else loss

    return TokenLossTrainer(
        model=model,
        args=args,
        train_dataset=rows,
        data_collator=Collator(pad_id, padding_free),
        callbacks=callbacks,
    )


def _callbacks(prep: Prepared, log_path: Path, device: Any, amp: Any, shared: dict[str, Any]) -> list[Any]:
    from transformers import TrainerCallback

    from train.evaluate import mean_loss

    cfg = prep.cfg
    collator = Collator(prep.tokenizer.pad_token_id, prep.padding_free)
    started = time.monotonic()

    def write(entry: dict[str, Any]) -> None:
        shared["steps"].append(entry)
        if shared["main"]:
            with log_path.open("a", encoding="utf-8") as fh:
                fh.write(json.dumps(entry) + "\n")

    class StepLog(TrainerCallback):
        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            logs, st = kwargs.get("logs"), state
            if logs and "loss" in logs:
                write(
                    {
                        "step": st.global_step,
                        "epoch": round(st.epoch or 0.0, 4),
                        "loss": logs["loss"],
                        "learning_rate": logs.get("learning_rate"),
                        "grad_norm": logs.get("grad_norm"),
                        "tokens": shared["trainer"].tokens_seen,
                        "elapsed_s": round(time.monotonic() - started, 2),
                    }
                )

    class EvalEvery(TrainerCallback):
        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            st = state
            every = cfg.train.eval_every
            if not every or st.global_step % every or not prep.eval_rows:
                return
            loss = mean_loss(
                shared["trainer"].model, prep.eval_rows, collator, cfg.eval.batch_size, device, amp
            )
            write({"step": st.global_step, "eval_loss": loss})
            if loss is None:
                return
            if shared["best"] is None or loss < shared["best"] - 1e-4:
                shared["best"], shared["bad"] = loss, 0
            else:
                shared["bad"] += 1
            patience = cfg.train.early_stopping_patience
            if patience and shared["bad"] >= patience:
                shared["early_stopped"] = True
                control.should_training_stop = True

    return [StepLog(), EvalEvery()]


def fit(cfg: TrainConfig, resume: bool = False, say: Say = print) -> dict[str, Any]:
    """Train a LoRA adapter on the build and write the run folder; returns the metrics."""
    import torch
    from transformers import TrainingArguments, set_seed

    from train.evaluate import mean_loss
    from train.plot import plot_losses

    t0 = time.monotonic()
    set_seed(cfg.train.seed)
    prep = prepare(cfg, say)
    out = prep.out
    ckpt_dir = out / "checkpoints"
    checkpoint = last_checkpoint(ckpt_dir) if resume else None
    if resume and checkpoint is None:
        raise TrainError("no checkpoint to resume from", where=str(ckpt_dir), hint="run without --resume")
    precision = precision_of(cfg)
    args = TrainingArguments(
        output_dir=str(ckpt_dir),
        per_device_train_batch_size=cfg.train.batch_size,
        gradient_accumulation_steps=cfg.train.grad_accum,
        learning_rate=cfg.train.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=cfg.train.warmup_ratio,  # a ratio below 1: Trainer turns it into steps
        weight_decay=cfg.train.weight_decay,
        max_grad_norm=cfg.train.max_grad_norm if cfg.train.max_grad_norm > 0 else 1e9,
        num_train_epochs=cfg.train.epochs,
        max_steps=cfg.train.max_steps if cfg.train.max_steps > 0 else -1,
        optim="adamw_torch",
        logging_steps=1,
        save_strategy="steps",
        save_steps=cfg.train.save_every,
        save_total_limit=2,
        seed=cfg.train.seed,
        data_seed=cfg.train.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        **_checkpointing_args(cfg.model.gradient_checkpointing),
        remove_unused_columns=False,
        report_to="none",
        dataloader_num_workers=0,
        dataloader_pin_memory=torch.cuda.is_available(),
        disable_tqdm=False,
    )
    steps = total_steps(cfg, len(prep.train_rows), args.world_size)
    main = args.process_index == 0
    if main:
        out.mkdir(parents=True, exist_ok=True)
        if not resume and ckpt_dir.exists():
            shutil.rmtree(ckpt_dir)  # a fresh run must not resume from an older run's checkpoints
    device = args.device
    amp = amp_dtype(precision)

    model = add_lora(prep.model, cfg)
    model.to(device)
    say(
        f"model {prep.model_path} on {device} ({precision}), LoRA r={cfg.lora.r}: "
        f"{_trainable(model):,} trainable parameters; {len(prep.train.examples)} train examples in "
        f"{len(prep.train_rows)} rows ({'packed, padding-free' if prep.padding_free else 'padded'}); "
        f"{steps} steps"
    )
    collator = Collator(prep.tokenizer.pad_token_id, prep.padding_free)
    say("measuring loss before training ...")
    with model.disable_adapter():
        eval_before = mean_loss(model, prep.eval_rows, collator, cfg.eval.batch_size, device, amp)
        general_before = mean_loss(model, prep.general_rows, collator, cfg.eval.batch_size, device, amp)

    log_path = out / "steps.jsonl"
    if main and not resume and log_path.exists():
        log_path.unlink()
    state: dict[str, Any] = {"steps": [], "best": None, "bad": 0, "early_stopped": False, "main": main}
    trainer = make_trainer(
        model,
        args,
        prep.train_rows,
        prep.tokenizer.pad_token_id,
        prep.padding_free,
        _callbacks(prep, log_path, device, amp, state),
    )
    state["trainer"] = trainer
    cpu0 = time.process_time()
    result = trainer.train(resume_from_checkpoint=str(checkpoint) if checkpoint else None)
    train_cpu = time.process_time() - cpu0

    say("measuring loss after training ...")
    eval_after = mean_loss(model, prep.eval_rows, collator, cfg.eval.batch_size, device, amp)
    general_after = mean_loss(model, prep.general_rows, collator, cfg.eval.batch_size, device, amp)
    runtime = float(result.metrics.get("train_runtime") or 0.0)
    metrics = {
        "eval_loss_before": eval_before,
        "eval_loss_after": eval_after,
        "eval_gain": _diff(eval_before, eval_after),
        "general_loss_before": general_before,
        "general_loss_after": general_after,
        "general_forgetting": _diff(general_after, general_before),
        "general_loss_reason": prep.general_reason,
        "steps": trainer.state.global_step,
        "epochs": round(float(trainer.state.epoch or 0.0), 4),
        "train_loss": float(result.training_loss),
        "early_stopped": state["early_stopped"],
        "best_eval_loss": state["best"],
        "resumed_from": str(checkpoint) if checkpoint else None,
        "train_examples": len(prep.train.examples),
        "train_rows": len(prep.train_rows),
        "train_tokens_per_epoch": prep.train.tokens,
        "train_trainable_tokens_per_epoch": prep.train.trainable_tokens,
        "eval_examples": len(prep.eval.examples),
        "general_examples": len(prep.general.examples) if prep.general else 0,
        "truncated": {
            "train": len(prep.train.truncated),
            "eval": len(prep.eval.truncated),
            "general_eval": len(prep.general.truncated) if prep.general else 0,
        },
        "truncated_ids": {"train": prep.train.truncated[:50]},
        "dropped_after_truncation": {
            "train": prep.train.dropped,
            "eval": prep.eval.dropped,
            "general_eval": prep.general.dropped if prep.general else [],
        },
        "tokens_seen": trainer.tokens_seen,
        "train_runtime_s": round(runtime, 2),
        "tokens_per_second": round(trainer.tokens_seen / runtime, 1) if runtime else None,
        "train_cpu_time_s": round(train_cpu, 2),
        "wall_time_s": round(time.monotonic() - t0, 2),
        "padding_free": prep.padding_free,
        "precision": precision,
        "world_size": args.world_size,
    }
    if main:
        _save(prep, model, metrics, args.world_size, precision, say)
        plot_losses(out / "loss.png", _read_log(log_path), metrics)
    return metrics


def _checkpointing_args(enabled: bool) -> dict[str, Any]:
    """Activation checkpointing under the argument name this transformers version uses."""
    import dataclasses

    from transformers import TrainingArguments

    if not enabled:
        return {}
    names = {f.name for f in dataclasses.fields(TrainingArguments)}
    key = "activation_checkpointing" if "activation_checkpointing" in names else "gradient_checkpointing"
    return {key: True, f"{key}_kwargs": {"use_reentrant": False}}


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else round(a - b, 6)


def _trainable(model: Any) -> int:
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def _read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _save(prep: Prepared, model: Any, metrics: dict[str, Any], world: int, precision: str, say: Say) -> None:
    import peft
    import torch
    import transformers

    out = prep.out
    model.save_pretrained(out / "adapter")
    prep.tokenizer.save_pretrained(out / "adapter")
    resolved = prep.cfg.to_dict()
    resolved["data"] = str(prep.build.path)
    resolved["output"]["dir"] = str(out)
    config = {
        "config": resolved,
        "model_path": prep.model_path,
        "build": {
            "path": str(prep.build.path.resolve()),
            "name": prep.build.name,
            "config_hash": prep.build.config_hash,
        },
        "padding_free": prep.padding_free,
        "precision": precision,
        "world_size": world,
        "versions": {
            "torch": torch.__version__,
            "transformers": transformers.__version__,
            "peft": peft.__version__,
            "python": sys.version.split()[0],
        },
        "argv": sys.argv,
    }
    (out / "train-config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    if prep.cfg.output.merge:
        say("writing merged model ...")
        merged = model.merge_and_unload()
        merged.save_pretrained(out / "merged")
        prep.tokenizer.save_pretrained(out / "merged")
