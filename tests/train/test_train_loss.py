"""The chunked assistant-token loss equals the plain full-logits computation, in value and gradients."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest


def _plain(model: Any, batch: dict[str, Any], labels: Any) -> Any:
    import torch.nn.functional as F

    logits = model(**batch, use_cache=False).logits[:, :-1]
    keep = labels[:, 1:] != -100
    return F.cross_entropy(logits[keep].float(), labels[:, 1:][keep], reduction="sum")


@pytest.mark.parametrize("chunk", [1, 5, 4096])
def test_chunked_loss_and_gradients_equal_the_plain_computation(
    tiny_model_dir: Path, tiny_tokenizer: Any, make_chat: Any, chunk: int
) -> None:
    import torch
    from transformers import AutoModelForCausalLM

    from train.data import Renderer, encode_example, pack_rows
    from train.loss import assistant_loss_sum, plain_head
    from train.trainer import FlattenPacks

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir).train()
    assert plain_head(model) is not None  # the chunked path is the one under test
    renderer = Renderer(tiny_tokenizer)
    examples = [encode_example(renderer, make_chat(i, 1 + i % 3), 512) for i in range(5)]
    batch = FlattenPacks()(pack_rows(examples, 512))
    labels = batch.pop("labels")
    batch.pop("packed"), batch.pop("attention_mask")  # for the Trainer's token count only

    plain = _plain(model, batch, labels)
    plain.backward()
    expected = {n: p.grad.clone() for n, p in model.named_parameters() if p.grad is not None}
    model.zero_grad(set_to_none=True)

    chunked, count = assistant_loss_sum(model, batch, labels, chunk)
    chunked.backward()
    got = {n: p.grad for n, p in model.named_parameters() if p.grad is not None}

    assert count == sum(e.n_trainable for e in examples)
    assert chunked.item() == pytest.approx(plain.item(), rel=1e-5)
    assert got.keys() == expected.keys() and "model.embed_tokens.weight" in got  # tied head: trained
    for name, grad in expected.items():
        torch.testing.assert_close(got[name], grad, rtol=1e-4, atol=1e-4, msg=name)


def test_memory_grows_with_the_chunk_not_the_positions(tiny_model_dir: Path) -> None:
    """Under checkpointing, the backward graph keeps no logits: the saved tensors are the chunk inputs."""
    import torch

    from train.loss import chunked_head_loss

    head = torch.nn.Linear(32, 1000, bias=False)
    hidden = torch.randn(512, 32, requires_grad=True)
    targets = torch.randint(0, 1000, (512,))
    saved: list[int] = []

    def pack(t: Any) -> Any:
        saved.append(t.numel())
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        chunked_head_loss(hidden, head, targets, chunk=64).backward()
    assert max(saved) < 512 * 1000  # full logits would be 512 x 1000
    assert max(saved) <= 64 * 1000
