"""Training throughput of `train run`'s loop against a plain transformers Trainer + peft baseline.

Both sides train the same LoRA (r=16, alpha=32, all linear layers) on the same model, the same examples
(tokenized once, the same assistant-only labels), the same batch size, learning rate and seed, for one
epoch over the same examples, in the same process, one after the other:

- baseline: ``Trainer`` with ``DataCollatorForSeq2Seq`` (each example its own row, padded to the longest
  in its batch, attention mask), loss computed by the model over every position;
- chatcurate: examples packed up to max_length tokens and each batch flattened padding-free by
  ``DataCollatorWithFlattening`` (position ids, no mask), loss through the output head only at labelled
  positions and in chunks, token-normalised over the accumulated step.

tokens/s counts real (non-padding) tokens over Trainer's train_runtime. Data: chat JSONL from the shared
folder (default ../shared/data/alpaca_cleaned_first1000.jsonl relative to the repository); the script
skips with a message where that folder is absent. Example:

    .venv/bin/python benchmarks/train_speed.py --examples 64 --max-length 512 --batch-size 8
    .venv/bin/python benchmarks/train_speed.py --data ../shared/data/lima.jsonl --max-length 1024
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
sys.path.insert(0, str(ROOT))

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
os.environ.setdefault("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="example:\n  .venv/bin/python benchmarks/train_speed.py --examples 64",
    )
    p.add_argument("--data", type=Path, default=SHARED / "alpaca_cleaned_first1000.jsonl", help="chat JSONL")
    p.add_argument(
        "--model", default="default", help="'default' (SmolLM2-135M-Instruct), a folder or a hub id"
    )
    p.add_argument("--examples", type=int, default=64, help="examples trained on (one epoch each side)")
    p.add_argument("--max-length", type=int, default=512)
    p.add_argument("--batch-size", type=int, default=8)
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    p.add_argument("--json", type=Path, help="also write the figures here")
    return p.parse_args()


def trainer_args(out: Path, batch_size: int, seed: int) -> Any:
    from transformers import TrainingArguments

    return TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=batch_size,
        gradient_accumulation_steps=1,
        learning_rate=2e-4,
        lr_scheduler_type="cosine",
        warmup_steps=0.1,
        num_train_epochs=1,
        logging_steps=1,
        save_strategy="no",
        seed=seed,
        report_to="none",
        remove_unused_columns=False,
        dataloader_pin_memory=False,
        disable_tqdm=True,
    )


def lora_model(model_path: str, seed: int) -> Any:
    from transformers import set_seed

    from train.config import TrainConfig
    from train.methods import add_lora
    from train.models import load_model

    set_seed(seed)
    return add_lora(load_model(model_path), TrainConfig())


def warm_up(model: Any, batch: dict[str, Any]) -> None:
    """One forward/backward outside the timing, so neither side pays for first-call setup."""
    out = model(**batch)
    out.loss.backward()
    model.zero_grad(set_to_none=True)


def _width(row: dict[str, Any]) -> int:
    return sum(len(e["input_ids"]) for e in row["examples"]) if "examples" in row else len(row["input_ids"])


def train_and_measure(
    trainer: Any, examples: list[Any], rows: list[Any], batch_size: int, flattened: bool = False
) -> dict[str, Any]:
    """Train, timing CPU as well as wall; ``computed_positions`` counts the token positions the
    batches really hold (padded to the longest row, or flattened with no padding at all)."""
    cpu = time.process_time()
    result = trainer.train()
    cpu = time.process_time() - cpu
    runtime = float(result.metrics["train_runtime"])
    tokens = sum(len(e.input_ids) for e in examples)
    computed = sum(
        sum(_width(r) for r in rows[i : i + batch_size])
        if flattened
        else max(_width(r) for r in rows[i : i + batch_size]) * len(rows[i : i + batch_size])
        for i in range(0, len(rows), batch_size)
    )
    return {
        "runtime_s": runtime,
        "cpu_s": cpu,
        "tokens": tokens,
        "tokens_per_s": tokens / runtime,
        "steps": trainer.state.global_step,
        "loss": float(result.training_loss),
        "computed_positions": computed,
    }


def run_baseline(
    model_path: str, tokenizer: Any, examples: list[Any], a: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    from transformers import DataCollatorForSeq2Seq, Trainer

    rows = [
        {"input_ids": e.input_ids, "attention_mask": [1] * len(e.input_ids), "labels": e.labels}
        for e in examples
    ]
    collator = DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)
    model = lora_model(model_path, a.seed)
    warm_up(model, collator(rows[: a.batch_size]))
    trainer = Trainer(
        model=model,
        args=trainer_args(tmp / "baseline", a.batch_size, a.seed),
        train_dataset=rows,
        data_collator=collator,
    )
    return train_and_measure(trainer, examples, rows, a.batch_size)


def run_packed(
    model_path: str, tokenizer: Any, examples: list[Any], a: argparse.Namespace, tmp: Path
) -> dict[str, Any]:
    from train.data import pack_rows, supports_padding_free
    from train.trainer import FlattenPacks, make_trainer

    model = lora_model(model_path, a.seed)
    padding_free = supports_padding_free(model.get_base_model())
    rows = pack_rows(examples, a.max_length)
    collator = FlattenPacks()
    batch = collator(rows[:1])
    warm_up(
        model,
        {
            "input_ids": batch["input_ids"],
            "position_ids": batch["position_ids"],
            "labels": batch["labels"],
        },
    )
    trainer = make_trainer(model, trainer_args(tmp / "packed", a.batch_size, a.seed), rows, None, collator)
    return {
        **train_and_measure(trainer, examples, rows, a.batch_size, flattened=True),
        "rows": len(rows),
        "padding_free": padding_free,
    }


def main() -> int:
    a = parse()
    if not a.data.is_file():
        print(
            f"SKIP: benchmark data not found at {a.data} (the shared data folder is absent); "
            "pass --data path/to/chat.jsonl to run it"
        )
        return 0
    import tempfile

    import torch

    if a.threads:
        torch.set_num_threads(a.threads)
    from train.data import Renderer, encode_split, load_split
    from train.models import load_tokenizer, resolve_model

    model_path = resolve_model(a.model)
    tokenizer = load_tokenizer(model_path)
    rows = load_split(a.data)[: a.examples]
    split = encode_split(Renderer(tokenizer), rows, a.max_length, where=str(a.data))
    examples = split.examples
    print(
        f"{a.data.name}: {len(examples)} examples, {split.tokens} tokens ({len(split.truncated)} truncated "
        f"to {a.max_length}); batch size {a.batch_size}; model {model_path}; "
        f"torch threads {torch.get_num_threads()}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        base = run_baseline(model_path, tokenizer, examples, a, Path(tmp))
        print(
            f"baseline  (Trainer + peft, padded per example): {base['tokens_per_s']:8.1f} tokens/s "
            f"({base['steps']} steps, {base['runtime_s']:.1f} s wall, {base['cpu_s']:.1f} s CPU, "
            f"{base['computed_positions']} positions computed)"
        )
        ours = run_packed(model_path, tokenizer, examples, a, Path(tmp))
        print(
            f"train run (packed, padding-free):               {ours['tokens_per_s']:8.1f} tokens/s "
            f"({ours['steps']} steps, {ours['runtime_s']:.1f} s wall, {ours['cpu_s']:.1f} s CPU, "
            f"{ours['computed_positions']} positions computed)"
        )
    ratio = ours["tokens_per_s"] / base["tokens_per_s"]
    cpu_ratio = base["cpu_s"] / ours["cpu_s"]
    print(
        f"ratio: {ratio:.2f}x tokens/s (target >= 1.5x); {cpu_ratio:.2f}x by CPU time "
        "(steadier on a shared machine)"
    )
    if a.json:
        a.json.write_text(
            json.dumps(
                {"baseline": base, "train_run": ours, "ratio": ratio, "cpu_ratio": cpu_ratio}, indent=2
            )
            + "\n"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
