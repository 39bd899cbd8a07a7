"""The transformers ``Trainer`` as ``train run`` uses it: batches, the loss, token-weighted eval, progress.

What is the library's: padding-free batches (``DataCollatorWithFlattening``), padded batches
(``DataCollatorForSeq2Seq``), distribution, eval during training (``eval_strategy``), early stopping
(``EarlyStoppingCallback``), tokens seen across ranks, checkpoints and saving. What is added: the loss is
summed over assistant tokens and divided by the assistant tokens of the whole optimizer step on every rank
(so 2 processes give what 1 gives), it never builds full-vocabulary logits (``train.loss``), and eval losses
are token-weighted means over every rank's share.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from train.loss import assistant_loss_sum

Say = Callable[[str], None]


class FlattenPacks:
    """Each pack (a list of examples) flattened into one padding-free row by the library's collator.

    ``DataCollatorWithFlattening`` restarts position ids per example, from which transformers builds a
    block-diagonal causal mask: packed examples never see each other. Packing first bounds a row to
    ``pack_length`` tokens. A batch of several packs is stacked as rows (the short ones padded at the
    end as a segment of their own) rather than flattened into one long row, because attention without a
    varlen kernel costs the square of the row length; with FlashAttention (``flash``) one row is free.
    ``attention_mask`` only tells the Trainer which tokens to count; the loss drops it before the forward.
    """

    def __init__(self, flash: bool = False) -> None:
        from transformers import DataCollatorWithFlattening

        self.flash = flash
        self.inner = DataCollatorWithFlattening(return_flash_attn_kwargs=flash)  # type: ignore[no-untyped-call]

    def __call__(self, packs: Sequence[dict[str, Any]]) -> dict[str, Any]:
        import torch

        if self.flash or len(packs) == 1:
            batch = dict(self.inner([ex for pack in packs for ex in pack["examples"]]))
            batch["attention_mask"] = torch.ones_like(batch["input_ids"])
            batch["packed"] = torch.tensor(1)
            return batch
        rows = [self.inner(pack["examples"]) for pack in packs]
        width = max(int(r["input_ids"].shape[1]) for r in rows)

        def stack(key: str, fill: Callable[[int], Any]) -> Any:
            return torch.cat([torch.cat([r[key], fill(width - r[key].shape[1])], dim=1) for r in rows], dim=0)

        return {
            "input_ids": stack("input_ids", lambda n: torch.zeros(1, n, dtype=torch.long)),
            "labels": stack("labels", lambda n: torch.full((1, n), -100, dtype=torch.long)),
            "position_ids": stack("position_ids", lambda n: torch.arange(n).unsqueeze(0)),
            "attention_mask": torch.cat(
                [
                    torch.cat(
                        [
                            torch.ones(1, r["input_ids"].shape[1], dtype=torch.long),
                            torch.zeros(1, width - r["input_ids"].shape[1], dtype=torch.long),
                        ],
                        dim=1,
                    )
                    for r in rows
                ]
            ),
            "packed": torch.tensor(1),
        }


def padded_collator(tokenizer: Any) -> Any:
    from transformers import DataCollatorForSeq2Seq

    return DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100)


def make_trainer(
    model: Any,
    args: Any,
    train_rows: Sequence[dict[str, Any]],
    eval_sets: Mapping[str, Sequence[dict[str, Any]]] | None,
    collator: Any,
    tokenizer: Any = None,
    loss_chunk: int = 1024,
    callbacks: list[Any] | None = None,
) -> Any:
    """A Trainer whose loss is the assistant-token mean over each whole optimizer step."""
    import torch
    from transformers import Trainer

    class TokenLossTrainer(Trainer):
        loss_is_scaled_for_ga = True

        def __init__(self, *a: Any, **kw: Any) -> None:
            super().__init__(*a, **kw)
            self.model_accepts_loss_kwargs = True  # makes Trainer count labelled tokens per optimizer step
            self.eval_parts: list[Any] = []

        def compute_loss(
            self,
            model: Any,
            inputs: dict[str, Any],
            return_outputs: bool = False,
            num_items_in_batch: Any = None,
        ) -> Any:
            inputs = dict(inputs)
            labels = inputs.pop("labels")
            inputs.pop("num_items_in_batch", None)
            if inputs.pop("packed", None) is not None:
                inputs.pop("attention_mask", None)  # position ids carry the example boundaries
            total, count = assistant_loss_sum(
                model, inputs, labels, loss_chunk, inside_forward=self.is_fsdp_enabled
            )
            if not model.training:
                part = torch.tensor([[float(total), float(count)]], device=labels.device)
                self.eval_parts.append(self.accelerator.gather_for_metrics(part))
                loss = total / max(count, 1)
            elif num_items_in_batch is not None:
                loss = total / num_items_in_batch
                if self.args.average_tokens_across_devices:
                    loss = loss * self.accelerator.num_processes  # DDP averages; the count spans ranks
            else:  # no count over the step: average this batch, then share the step with the others
                loss = total / max(count, 1) / self.current_gradient_accumulation_steps
            return (loss, {}) if return_outputs else loss

        def evaluation_loop(self, *a: Any, **kw: Any) -> Any:
            """The library's loop, with its loss replaced by the token-weighted mean over all ranks."""
            self.eval_parts = []
            out = super().evaluation_loop(*a, **kw)
            prefix = kw.get("metric_key_prefix", a[4] if len(a) > 4 else "eval")
            if self.eval_parts and out.metrics is not None:
                total, count = torch.cat(self.eval_parts).sum(dim=0).tolist()
                if count:
                    out.metrics[f"{prefix}_loss"] = total / count
                out.metrics[f"{prefix}_tokens"] = int(count)
            self.eval_parts = []
            return out

    return TokenLossTrainer(
        model=model,
        args=args,
        train_dataset=list(train_rows),
        eval_dataset={k: list(v) for k, v in eval_sets.items()} if eval_sets else None,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=callbacks,
    )


def progress_callbacks(write: Callable[[dict[str, Any]], None], say: Say, total_steps: int) -> list[Any]:
    """steps.jsonl lines and an estimate of the time left after the first step."""
    from transformers import TrainerCallback

    class StepLog(TrainerCallback):
        started = 0.0
        first_step_at = 0.0

        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            self.started = time.monotonic()

        def on_step_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            if self.first_step_at or not state.is_world_process_zero:
                return
            self.first_step_at = time.monotonic()
            took = self.first_step_at - self.started
            left = max(0, (state.max_steps or total_steps) - state.global_step)
            say(
                f"step {state.global_step} took {took:.1f} s; about {_duration(took * left)} left "
                f"for {left} more step{'s' if left != 1 else ''} (plus eval)"
            )

        def on_log(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            logs = kwargs.get("logs") or {}
            now = round(time.monotonic() - self.started, 2)
            if "loss" in logs:
                write(
                    {
                        "step": state.global_step,
                        "epoch": round(state.epoch or 0.0, 4),
                        "loss": logs["loss"],
                        "learning_rate": logs.get("learning_rate"),
                        "grad_norm": logs.get("grad_norm"),
                        "tokens": state.num_input_tokens_seen,
                        "elapsed_s": now,
                    }
                )
            evals = {k: v for k, v in logs.items() if k in ("eval_eval_loss", "eval_general_loss")}
            if evals:
                write(
                    {
                        "step": state.global_step,
                        "eval_loss": evals.get("eval_eval_loss"),
                        "general_loss": evals.get("eval_general_loss"),
                        "elapsed_s": now,
                    }
                )

    return [StepLog()]


def on_train_begin(action: Callable[[], None]) -> Any:
    """A callback that runs ``action`` once, when training begins (on every rank)."""
    from transformers import TrainerCallback

    class OnTrainBegin(TrainerCallback):
        def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
            action()

    return OnTrainBegin()


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
