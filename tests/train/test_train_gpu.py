"""A short bf16 run on a GPU; skipped with a reason where there is none."""

from __future__ import annotations

from pathlib import Path

import pytest


def _has_cuda() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


@pytest.mark.gpu
@pytest.mark.skipif(not _has_cuda(), reason="no CUDA GPU on this machine")
def test_bf16_run_on_gpu(tiny_model_dir: Path, build_dir: Path, tmp_path: Path) -> None:
    from train.config import load_config
    from train.run import fit

    cfg = load_config(
        None,
        {
            "data": str(build_dir),
            "model.name": str(tiny_model_dir),
            "model.max_length": 128,
            "output.dir": str(tmp_path / "gpu"),
            "train.max_steps": 3,
        },
    )
    metrics = fit(cfg, say=lambda _: None)
    import torch

    assert metrics["precision"] == ("bf16" if torch.cuda.is_bf16_supported() else "fp32")
    assert metrics["eval_loss_after"] is not None
