"""``train run --method dpo``: preference tuning of a LoRA adapter with TRL's DPOTrainer.

A recipe in order: open the preference build, load the model, measure, fit, measure, save.
The reference model is the base with the adapter switched off (TRL does this for a peft model
given no ``ref_model``), so no second copy of the weights is held. Before and after training the
run measures, on the eval pairs, the preference accuracy (the share of pairs whose log-probability
of the chosen answer, given the prompt, exceeds that of the rejected one) and the mean margin, and
on general_eval.jsonl the loss per assistant token, as supervised runs do (what it forgot).
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections.abc import Collection
from pathlib import Path
from typing import Any

from train.config import TrainConfig
from train.data import Build, load_split, open_build
from train.errors import DataError, TrainError
from train.models import load_model, load_tokenizer, resolve_model

PAIR_KEYS = ("prompt", "chosen", "rejected")


def is_preference_build(build: Build) -> bool:
    findings = build.manifest.get("findings") or {}
    return (findings.get("preference") or {}).get("kind") == "preference"


def refuse_preference_build(cfg: TrainConfig) -> None:
    """A supervised run on a preference build: say what to run instead of failing on its lines."""
    if cfg.data and Path(cfg.data, "manifest.json").is_file() and is_preference_build(open_build(cfg.data)):
        raise DataError(
            "a preference build holds (prompt, chosen, rejected) pairs, not chat examples",
            where=cfg.data,
            hint="train on it with --method dpo",
        )


def load_pairs(path: Path, limit: int = 0, keep_id: bool = False) -> list[dict[str, Any]]:
    """The pairs of a split in TRL's conversational form (prompt, chosen, rejected messages only)."""
    pairs = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as error:
            raise DataError(f"not valid JSON ({error.msg})", where=f"{path}:{number}") from None
        if not isinstance(row, dict) or not all(isinstance(row.get(key), list) for key in PAIR_KEYS):
            raise DataError(
                "not a preference pair (prompt, chosen and rejected lists of messages)",
                where=f"{path}:{number}",
                hint="train --method dpo on a build of kind preference",
            )
        pair: dict[str, Any] = {key: [_message(m) for m in row[key]] for key in PAIR_KEYS}
        pairs.append(pair)
        if keep_id:
            pairs[-1]["id"] = str(row.get("id", number))
        if limit and len(pairs) >= limit:
            break
    return pairs


def _message(message: dict[str, Any]) -> dict[str, str]:
    return {"role": str(message["role"]), "content": str(message.get("content") or "")}


def _ids(tokenizer: Any, messages: list[dict[str, str]], generation_prompt: bool) -> list[int]:
    encoded = tokenizer.apply_chat_template(
        messages, tokenize=True, add_generation_prompt=generation_prompt, return_dict=True
    )
    return list(encoded["input_ids"])


def completion_tokens(
    tokenizer: Any, pair: dict[str, Any], side: str, max_length: int
) -> tuple[list[int], int]:
    """Token ids of prompt + answer and where the answer starts, cut to ``max_length`` from the
    left of the prompt (the answer is what is scored)."""
    prompt = _ids(tokenizer, pair["prompt"], True)
    whole = _ids(tokenizer, pair["prompt"] + pair[side], False)
    start = len(prompt) if whole[: len(prompt)] == prompt else len(os.path.commonprefix([prompt, whole]))
    overflow = max(0, len(whole) - max_length)
    overflow = min(overflow, max(0, start - 1))  # keep at least one prompt token as context
    return whole[overflow:], start - overflow


def answer_logprob(model: Any, ids: list[int], start: int, device: Any) -> float:
    """Sum of the log-probabilities of tokens ``start:`` given those before them."""
    import torch

    tokens = torch.tensor([ids], device=device)
    with torch.no_grad():
        logits = model(input_ids=tokens).logits[0, :-1].float()
    logprobs = torch.log_softmax(logits, dim=-1)
    targets = tokens[0, 1:]
    picked = logprobs.gather(1, targets[:, None])[:, 0]
    return float(picked[start - 1 :].sum())


def preference_accuracy(
    model: Any, tokenizer: Any, pairs: list[dict[str, Any]], max_length: int, device: Any
) -> dict[str, Any]:
    """Share of pairs with log p(chosen | prompt) > log p(rejected | prompt), and the mean margin."""
    if not pairs:
        return {"accuracy": None, "mean_margin": None, "pairs": 0}
    model.eval()
    margins = []
    for pair in pairs:
        chosen = answer_logprob(model, *completion_tokens(tokenizer, pair, "chosen", max_length), device)
        rejected = answer_logprob(model, *completion_tokens(tokenizer, pair, "rejected", max_length), device)
        margins.append(chosen - rejected)
    return {
        "accuracy": round(sum(m > 0 for m in margins) / len(margins), 4),
        "mean_margin": round(sum(margins) / len(margins), 4),
        "pairs": len(margins),
    }


def _general_loss(model: Any, tokenizer: Any, build: Build, cfg: TrainConfig, device: Any) -> tuple[Any, Any]:
    """Loss per assistant token on general_eval.jsonl, as supervised runs measure it (``train.loss``)."""
    from train.data import Renderer, encode_split, single_rows
    from train.trainer import padded_collator

    if build.general is None:
        return None, "the build has no general_eval.jsonl (no general data was mixed in)"
    rows = load_split(build.general)
    if cfg.eval.max_examples:
        rows = rows[: cfg.eval.max_examples]
    renderer = Renderer(tokenizer, cfg.model.default_system_prompt)
    split = encode_split(renderer, rows, cfg.model.max_length, str(build.general))
    if not split.examples:
        return None, "general_eval.jsonl has no usable example"
    items = single_rows(split.examples)
    collator = padded_collator(tokenizer)

    def measure() -> float | None:
        import torch

        from train.loss import assistant_loss_sum

        was_training = model.training
        model.eval()
        total, count = 0.0, 0
        try:
            with torch.no_grad():
                for start in range(0, len(items), cfg.eval.batch_size):
                    batch = {
                        k: v.to(device)
                        for k, v in collator(items[start : start + cfg.eval.batch_size]).items()
                    }
                    labels = batch.pop("labels")
                    loss, n = assistant_loss_sum(model, batch, labels, cfg.train.loss_chunk)
                    total += float(loss)
                    count += n
        finally:
            model.train(was_training)
        return total / count if count else None

    return measure, None


def fit_dpo(cfg: TrainConfig, say: Any = print, explicit: Collection[str] | None = None) -> dict[str, Any]:
    """Train a LoRA adapter with DPO on the build's pairs and write the run folder; returns the metrics.

    ``explicit`` names the settings the user chose; the other sizes are picked for the device, as for
    supervised runs (``train.sizing``). ``None`` takes ``cfg`` exactly as given.
    """
    from transformers import set_seed

    from train.lock import run_lock
    from train.run import rank_and_world, run_dir
    from train.sizing import check_fits, choose_sizes, find_device, model_shape

    t0 = time.monotonic()
    if rank_and_world()[1] > 1:
        raise TrainError(
            "--method dpo runs in one process: several processes were started",
            hint="run `train run --method dpo` without accelerate launch or torchrun",
        )
    set_seed(cfg.train.seed)
    if not cfg.data:
        raise DataError("no build folder given", hint="pass --data build/<name> or set data in train.toml")
    build = open_build(cfg.data)
    if not is_preference_build(build):
        raise DataError(
            "not a preference build: --method dpo trains on (prompt, chosen, rejected) pairs",
            where=str(build.path),
            hint='build preference pairs with [build] kind = "preference" (or pair inputs)',
        )
    model_path = resolve_model(cfg.model.name)
    device, shape = find_device(), model_shape(model_path)
    if explicit is not None and (line := choose_sizes(cfg, explicit, device, shape)):
        say(line)
    need = check_fits(cfg, shape, device)
    out = run_dir(cfg, build)
    with run_lock(out):
        return _fit(cfg, build, model_path, out, say, t0, need)


def _fit(
    cfg: TrainConfig, build: Build, model_path: str, out: Path, say: Any, t0: float, need: float
) -> dict[str, Any]:
    import torch
    from datasets import Dataset
    from peft import LoraConfig
    from trl import DPOConfig, DPOTrainer  # type: ignore[attr-defined]  # heavy: only DPO needs TRL

    from train.run import checkpointing_args, precision_of

    train_pairs = load_pairs(build.train)
    if not train_pairs:
        raise DataError("train.jsonl has no pairs", where=str(build.train))
    eval_pairs = load_pairs(build.eval, cfg.eval.max_examples)
    tokenizer = load_tokenizer(model_path)
    model = load_model(model_path, cfg.model.attn_implementation)
    precision = precision_of(cfg)
    device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.to(device)  # type: ignore[arg-type]  # transformers types .to() for dtypes only

    say(f"measuring preference accuracy before training on {len(eval_pairs)} eval pairs ...")
    before = preference_accuracy(model, tokenizer, eval_pairs, cfg.model.max_length, device)
    general, general_reason = _general_loss(model, tokenizer, build, cfg, device)
    general_before = general() if general else None

    ckpt_dir = out / "checkpoints"
    out.mkdir(parents=True, exist_ok=True)
    if ckpt_dir.exists():
        shutil.rmtree(ckpt_dir)
    args = DPOConfig(
        output_dir=str(ckpt_dir),
        per_device_train_batch_size=cfg.train.batch_size,
        gradient_accumulation_steps=cfg.train.grad_accum,
        learning_rate=cfg.dpo.learning_rate or cfg.train.learning_rate,
        lr_scheduler_type="cosine",
        warmup_steps=cfg.train.warmup_ratio,
        weight_decay=cfg.train.weight_decay,
        num_train_epochs=cfg.train.epochs,
        max_steps=cfg.train.max_steps if cfg.train.max_steps > 0 else -1,
        logging_steps=1,
        save_strategy="no",
        seed=cfg.train.seed,
        data_seed=cfg.train.seed,
        bf16=precision == "bf16",
        fp16=precision == "fp16",
        max_length=cfg.model.max_length,
        # TRL turns checkpointing on by default; here it follows model.gradient_checkpointing
        **checkpointing_args(cfg.model.gradient_checkpointing),
        beta=cfg.dpo.beta,
        loss_type=[cfg.dpo.loss_type],
        report_to="none",
        dataloader_num_workers=0,
        dataset_num_proc=None,
        use_cpu=not torch.cuda.is_available(),
        disable_tqdm=False,
    )
    target = cfg.lora.target_modules
    lora = LoraConfig(
        r=cfg.lora.r,
        lora_alpha=cfg.lora.alpha,
        lora_dropout=cfg.lora.dropout,
        target_modules=target,
        task_type="CAUSAL_LM",
    )
    trainer = DPOTrainer(
        model=model,
        ref_model=None,  # the base with the adapter off is the reference: one copy of the weights
        args=args,
        train_dataset=Dataset.from_list(train_pairs),
        processing_class=tokenizer,
        peft_config=lora,
    )
    tuned: Any = trainer.model
    trainable = sum(int(p.numel()) for p in tuned.parameters() if p.requires_grad)
    say(
        f"DPO on {model_path} ({device}, {precision}): {len(train_pairs)} pairs, beta {cfg.dpo.beta}, "
        f"LoRA r={cfg.lora.r}: {trainable:,} trainable; batches of {cfg.train.batch_size} pairs x "
        f"{cfg.train.grad_accum}, up to {cfg.model.max_length} tokens a side; about {need / 1024**3:.1f} GB "
        "by estimate"
    )
    cpu0 = time.process_time()
    result = trainer.train()
    train_cpu = time.process_time() - cpu0

    say("measuring preference accuracy after training ...")
    after = preference_accuracy(tuned, tokenizer, eval_pairs, cfg.model.max_length, device)
    if general is not None:
        general, _ = _general_loss(tuned, tokenizer, build, cfg, device)
    general_after = general() if general else None
    losses = [entry["loss"] for entry in trainer.state.log_history if "loss" in entry]
    metrics = {
        "method": "dpo",
        "preference_accuracy_before": before["accuracy"],
        "preference_accuracy_after": after["accuracy"],
        "preference_margin_before": before["mean_margin"],
        "preference_margin_after": after["mean_margin"],
        "eval_pairs": after["pairs"],
        "train_pairs": len(train_pairs),
        "general_loss_before": general_before,
        "general_loss_after": general_after,
        "general_forgetting": None
        if general_before is None or general_after is None
        else round(general_after - general_before, 6),
        "general_loss_reason": general_reason,
        "train_loss": float(result.training_loss),
        "step_losses": losses,
        "steps": trainer.state.global_step,
        "epochs": round(float(trainer.state.epoch or 0.0), 4),
        "beta": cfg.dpo.beta,
        "train_runtime_s": round(float(result.metrics.get("train_runtime") or 0.0), 2),
        "train_cpu_time_s": round(train_cpu, 2),
        "wall_time_s": round(time.monotonic() - t0, 2),
        "precision": precision,
        "max_length": cfg.model.max_length,
        "batch_size": cfg.train.batch_size,
        "grad_accum": cfg.train.grad_accum,
        "gradient_checkpointing": cfg.model.gradient_checkpointing,
        "estimated_peak_gb": round(need / 1024**3, 2),
    }
    if not math.isfinite(metrics["train_loss"]):
        say("[red]the DPO loss is not finite[/]")
    _save(out, tuned, tokenizer, cfg, build, model_path, metrics, precision)
    shutil.rmtree(ckpt_dir, ignore_errors=True)
    return metrics


def _save(
    out: Path,
    model: Any,
    tokenizer: Any,
    cfg: TrainConfig,
    build: Build,
    model_path: str,
    metrics: dict[str, Any],
    precision: str,
) -> None:
    from train.run import write_run

    model.save_pretrained(out / "adapter")
    tokenizer.save_pretrained(out / "adapter")
    write_run(cfg, build, model_path, out, metrics, precision, world=1)
