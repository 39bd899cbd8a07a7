"""Loss on assistant tokens (shared by training and evaluation) and answers for chat/compare.

The loss is a sum of per-token cross-entropies divided by the number of trainable tokens, so a long
answer weighs as much as its tokens and batches of any shape give the same mean.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from typing import Any

from train.data import IGNORE, Collator

# Architectures whose logits are exactly output_embeddings(last hidden state): for them only the
# positions that have a label go through the output head, which saves a good share of the compute.
_PLAIN_HEAD_TYPES = {"llama", "mistral", "qwen2", "qwen3", "smollm3", "phi3", "olmo2", "granite"}


def causal_lm(model: Any) -> Any:
    """The transformers model under a peft wrapper (LoRA layers are injected in place)."""
    get_base = getattr(model, "get_base_model", None)
    return get_base() if callable(get_base) else model


def _fast_parts(model: Any) -> tuple[Any, Any] | None:
    lm = causal_lm(model)
    config = getattr(lm, "config", None)
    if config is None or getattr(config, "model_type", None) not in _PLAIN_HEAD_TYPES:
        return None
    if getattr(config, "model_type", None) == "granite":
        return None  # granite scales its logits
    decoder = getattr(lm, getattr(lm, "base_model_prefix", "model"), None)
    head = lm.get_output_embeddings() if hasattr(lm, "get_output_embeddings") else None
    if decoder is None or head is None or decoder is lm:
        return None
    return decoder, head


def loss_sum(model: Any, batch: dict[str, Any], through_forward: bool = False) -> tuple[Any, int]:
    """Summed cross-entropy over labelled positions and their count.

    ``through_forward`` calls the model's own forward (needed under DDP, which hooks forward);
    otherwise the decoder runs alone and only labelled positions go through the output head.
    """
    import torch.nn.functional as F

    labels = batch["shift_labels"]
    keep = labels != IGNORE
    inputs = {k: batch[k] for k in ("input_ids", "position_ids", "attention_mask") if k in batch}
    parts = None if through_forward else _fast_parts(model)
    if parts is not None:
        decoder, head = parts
        hidden = decoder(**inputs, use_cache=False).last_hidden_state
        logits = head(hidden[keep])
    else:
        logits = model(**inputs, use_cache=False).logits[keep]
    loss = F.cross_entropy(logits.float(), labels[keep], reduction="sum")
    return loss, int(keep.sum().item())


def autocast_for(device: Any, dtype: Any) -> contextlib.AbstractContextManager[Any]:
    import torch

    if dtype is None or dtype == torch.float32:
        return contextlib.nullcontext()
    return torch.autocast(device_type=torch.device(device).type, dtype=dtype)


def _batches(rows: Sequence[dict[str, list[int]]], size: int) -> Iterator[Sequence[dict[str, list[int]]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]


def mean_loss(
    model: Any,
    rows: Sequence[dict[str, list[int]]],
    collator: Collator,
    batch_size: int,
    device: Any,
    amp_dtype: Any = None,
) -> float | None:
    """Token-weighted mean loss of ``rows`` (None when there is nothing to measure)."""
    import torch

    if not rows:
        return None
    was_training = model.training
    model.eval()
    total, count = 0.0, 0
    try:
        with torch.no_grad(), autocast_for(device, amp_dtype):
            for chunk in _batches(rows, batch_size):
                batch = {k: v.to(device) for k, v in collator(chunk).items()}
                loss, n = loss_sum(model, batch)
                total += float(loss)
                count += n
    finally:
        model.train(was_training)
    return total / count if count else None


def prompt_messages(example: dict[str, Any]) -> tuple[list[dict[str, Any]], str | None]:
    """The conversation up to its last assistant turn, and that turn's text as the reference answer."""
    from train.data import clean_messages

    if isinstance(example.get("prompt"), list):  # a preference pair: the chosen answer is the reference
        chosen = example.get("chosen") or [{}]
        return clean_messages(example["prompt"]), str(chosen[-1].get("content") or "")
    messages = clean_messages(example.get("messages") or [])
    last = max((i for i, m in enumerate(messages) if m.get("role") == "assistant"), default=None)
    if last is None:
        return messages, None
    return messages[:last], str(messages[last].get("content") or "")


def generate(model: Any, tokenizer: Any, messages: list[dict[str, Any]], max_new_tokens: int) -> str:
    """Greedy answer to a conversation (deterministic, so base and fine-tuned answers compare fairly)."""
    import torch

    device = next(model.parameters()).device
    enc = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    enc = {k: v.to(device) for k, v in enc.items()}
    model.eval()
    with torch.no_grad():
        out = model.generate(
            **enc, max_new_tokens=max_new_tokens, do_sample=False, pad_token_id=tokenizer.pad_token_id
        )
    return str(tokenizer.decode(out[0, enc["input_ids"].shape[1] :], skip_special_tokens=True)).strip()
