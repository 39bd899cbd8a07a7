"""The assistant-token loss without full-vocabulary logits for every token.

A causal LM's forward turns every position into a row of logits (49,152 floats for SmolLM2), and the
library's loss keeps them, their softmax and their gradient alive at once. Here the forward stops at the
last hidden state (``logits_to_keep`` empty), only positions whose next token is trained go through the
output head, and they go through it in chunks under activation checkpointing: the backward pass recomputes
one chunk's logits at a time, so memory grows with the chunk, not with the sequence times the vocabulary.
The forward still runs through the model itself, so DDP's hooks see it.

Where the head is not a plain linear layer over the last hidden state (logit scaling, soft-capping, a
4-bit head under QLoRA) or the weights are sharded (FSDP, which only gathers them inside the forward),
the model computes the logits itself, but only at the trained positions.
"""

from __future__ import annotations

from typing import Any

IGNORE = -100

# Architectures whose logits are exactly output_embeddings(last hidden state).
PLAIN_HEAD_TYPES = {"llama", "mistral", "qwen2", "qwen3", "smollm3", "phi3", "olmo2"}


def causal_lm(model: Any) -> Any:
    """The transformers model under DDP/peft wrappers (LoRA layers are injected in place)."""
    inner = getattr(model, "module", model)
    get_base = getattr(inner, "get_base_model", None)
    return get_base() if callable(get_base) else inner


def plain_head(model: Any) -> Any | None:
    """The output head when the chunked path is exact for this model, else None."""
    import torch

    lm = causal_lm(model)
    config = getattr(lm, "config", None)
    if getattr(config, "model_type", None) not in PLAIN_HEAD_TYPES:
        return None
    head = lm.get_output_embeddings() if hasattr(lm, "get_output_embeddings") else None
    # a quantized head (bitsandbytes packs its weight into bytes) computes its own logits
    plain = type(head).__module__.startswith("torch.") and isinstance(head, torch.nn.Linear)
    return head if plain and head is not None and head.weight.is_floating_point() else None


def _chunk_sum(hidden: Any, weight: Any, bias: Any, targets: Any) -> Any:
    import torch.nn.functional as F

    logits = F.linear(hidden, weight, bias).float()
    return F.cross_entropy(logits, targets, reduction="sum")


def chunked_head_loss(hidden: Any, head: Any, targets: Any, chunk: int) -> Any:
    """Summed cross-entropy of ``head(hidden)`` against ``targets``, ``chunk`` rows of logits at a time."""
    import torch
    from torch.utils.checkpoint import checkpoint

    bias = getattr(head, "bias", None)
    weight = head.weight
    if hidden.dtype != weight.dtype:
        hidden = hidden.to(weight.dtype)
    total = hidden.new_zeros((), dtype=torch.float32)
    grad = torch.is_grad_enabled() and (hidden.requires_grad or weight.requires_grad)
    for start in range(0, hidden.shape[0], chunk):
        part = (hidden[start : start + chunk], weight, bias, targets[start : start + chunk])
        total = total + (checkpoint(_chunk_sum, *part, use_reentrant=False) if grad else _chunk_sum(*part))
    return total


def assistant_loss_sum(
    model: Any, inputs: dict[str, Any], labels: Any, chunk: int, inside_forward: bool = False
) -> tuple[Any, int]:
    """Summed next-token cross-entropy over trained positions, and their count.

    ``labels`` are aligned with ``input_ids`` (not shifted; -100 where nothing is trained), as the
    library's collators give them. ``inside_forward`` makes the model compute the (few) logits itself.
    """
    import torch
    import torch.nn.functional as F

    keep = labels[:, 1:] != IGNORE  # position j predicts token j + 1
    targets = labels[:, 1:][keep]
    count = int(keep.sum().item())
    head = None if inside_forward else plain_head(model)
    if head is not None:
        empty = torch.zeros(0, dtype=torch.long, device=labels.device)
        out = model(**inputs, use_cache=False, logits_to_keep=empty, output_hidden_states=True)
        hidden = out.hidden_states[-1][:, :-1][keep]
        return chunked_head_loss(hidden, head, targets, chunk), count
    if labels.shape[0] == 1:  # one (flattened) row: the model computes logits only where they are needed
        positions = keep[0].nonzero().flatten()
        logits = model(**inputs, use_cache=False, logits_to_keep=positions).logits[0]
    else:
        logits = model(**inputs, use_cache=False).logits[:, :-1][keep]
    return F.cross_entropy(logits.float(), targets, reduction="sum"), count
