"""Answers for ``train chat`` and ``train compare`` (the losses are ``train.loss`` through the Trainer)."""

from __future__ import annotations

from typing import Any


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


def generate(
    model: Any,
    tokenizer: Any,
    messages: list[dict[str, Any]],
    max_new_tokens: int,
    default_system_prompt: bool = True,
) -> str:
    """Greedy answer to a conversation (deterministic, so base and fine-tuned answers compare fairly).

    ``default_system_prompt`` false renders a conversation without a system message the way training
    did: with an empty one, not the template's default.
    """
    import torch

    if not default_system_prompt and messages and messages[0].get("role") != "system":
        messages = [{"role": "system", "content": ""}, *messages]

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
