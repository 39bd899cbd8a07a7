"""chatcurate's LoRA trainer: fine-tune a chat model on a curated build and measure gain and forgetting.

Nothing heavy is imported here: torch, transformers and peft load inside the functions that need them,
so ``train --help`` stays fast.
"""

from __future__ import annotations

__all__ = ["TrainError"]

from train.errors import TrainError
