"""Two CPU processes (gloo, torchrun) give the metrics of one process on the same data.

Rank 0 alone prints and writes; tokens seen, losses and truncation counts cover both ranks' shares.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.train.conftest import make_build


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _args(model: Path, data: Path, out: Path, batch: int) -> list[str]:
    config = out.parent / "no-dropout.toml"
    config.write_text("[lora]\ndropout = 0.0\n")  # dropout masks depend on how rows are split
    return [
        "run",
        str(config),
        "--data", str(data),
        "--model", str(model),
        "--out", str(out),
        "--max-steps", "2",
        "--batch-size", str(batch),
        "--grad-accum", "1",
        "--max-length", "48",  # some examples are cut: truncation counts must match too
        "--lr", "5e-3",
        "--no-gradient-checkpointing",
    ]  # fmt: skip


def test_two_processes_equal_one(tiny_model_dir: Path, tmp_path: Path) -> None:
    from train.cli import main

    data = make_build(tmp_path / "build" / "dist", n_train=16, n_eval=5)
    env = {
        **os.environ,
        "OMP_NUM_THREADS": "1",
        "PYTHONPATH": os.pathsep.join([str(Path.cwd()), os.environ.get("PYTHONPATH", "")]),
    }
    two = subprocess.run(
        [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--nproc_per_node",
            "2",
            "--master_addr",
            "127.0.0.1",
            "--master_port",
            str(_free_port()),
            "-m",
            "train.cli",
            *_args(tiny_model_dir, data, tmp_path / "two", batch=1),
        ],  # fmt: skip
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert two.returncode == 0, two.stderr[-3000:]
    assert two.stdout.count("what the model gained") == 1  # only rank 0 prints the summary
    assert two.stdout.count("measuring loss before training") == 1
    assert main(_args(tiny_model_dir, data, tmp_path / "one", batch=2)) == 0

    m2: dict[str, Any] = json.loads((tmp_path / "two" / "metrics.json").read_text())
    m1: dict[str, Any] = json.loads((tmp_path / "one" / "metrics.json").read_text())
    assert (m2["world_size"], m1["world_size"]) == (2, 1)
    assert m2["tokens_seen"] == m1["tokens_seen"] > 0
    assert m2["truncated"] == m1["truncated"] and m1["truncated"]["train"] > 0
    for key in ("eval_loss_before", "general_loss_before", "eval_loss_after", "general_loss_after"):
        assert m2[key] == pytest.approx(m1[key], rel=1e-4), key
    assert m2["train_loss"] == pytest.approx(m1["train_loss"], rel=1e-4)
    assert m2["eval_loss_after"] != pytest.approx(m2["eval_loss_before"], rel=1e-3)  # it trained
    assert not (tmp_path / "two" / ".train.lock").exists()
