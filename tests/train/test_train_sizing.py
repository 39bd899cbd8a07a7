"""Sizes chosen for the device, explicit settings winning, the memory check and the run-folder lock."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from train.config import load_config
from train.errors import TrainError
from train.lock import run_lock
from train.sizing import (
    CPU_RUNTIME_BYTES,
    GB,
    Device,
    ModelShape,
    check_fits,
    choose_sizes,
    estimate_bytes,
    explicit_settings,
    fixed_bytes,
)

# SmolLM2-135M's shape, so the figures below are the default model's
SMOL = ModelShape(
    params=134_515_008,
    linear_in_out=30 * (4 * 1152 + 2 * 768 + 3 * 2112),
    layers=30,
    hidden=576,
    intermediate=1536,
    vocab=49152,
)
CPU = Device("cpu", 20 * GB, 2)


def test_cpu_sizes_fit_three_gigabytes_and_say_why() -> None:
    cfg = load_config(None, {})
    line = choose_sizes(cfg, set(), CPU, SMOL)
    assert line.startswith("sizes for cpu, 2 cores")
    assert "model.max_length 512" in line and "model.gradient_checkpointing on" in line
    assert cfg.model.max_length == 512 and cfg.train.batch_size * cfg.model.max_length <= 1024
    assert cfg.eval.max_examples == 256
    assert estimate_bytes(cfg, SMOL, CPU) < 3 * GB
    # the sizes the issue met: 4 x 1,024 tokens a forward, no checkpointing
    old = load_config(None, {})
    assert estimate_bytes(old, SMOL, CPU) > 8 * GB


def test_explicit_settings_win(tmp_path: Path) -> None:
    path = tmp_path / "t.toml"
    path.write_text("[model]\nmax_length = 256\n[train]\nbatch_size = 3\n")
    overrides = {"train.grad_accum": 5, "train.max_steps": None}
    explicit = explicit_settings(path, overrides)
    assert explicit == {"model.max_length", "train.batch_size", "train.grad_accum"}
    cfg = load_config(path, overrides)
    line = choose_sizes(cfg, explicit, CPU, SMOL)
    assert (cfg.model.max_length, cfg.train.batch_size, cfg.train.grad_accum) == (256, 3, 5)
    assert "model.max_length" not in line and "train.batch_size" not in line


def test_gpu_sizes_follow_free_memory() -> None:
    small, big = load_config(None, {}), load_config(None, {})
    choose_sizes(small, set(), Device("cuda", 6 * GB, 8, "gpu"), SMOL)
    choose_sizes(big, set(), Device("cuda", 80 * GB, 8, "gpu"), SMOL)
    assert big.model.max_length == 2048
    assert big.train.batch_size > small.train.batch_size >= 1
    assert big.train.batch_size * big.train.grad_accum >= 16
    for cfg, free in ((small, 6), (big, 80)):
        assert estimate_bytes(cfg, SMOL, Device("cuda", free * GB, 8)) < free * GB


def test_full_fine_tuning_lowers_the_rate_and_a_run_that_cannot_fit_is_refused() -> None:
    cfg = load_config(None, {"train.method": "full"})
    choose_sizes(cfg, {"train.method"}, CPU, SMOL)
    assert cfg.train.learning_rate == 2e-5
    with pytest.raises(TrainError, match=r"needs about .* GB but 1\.0 GB of RAM is free") as err:
        check_fits(cfg, SMOL, Device("cpu", 1 * GB, 2))
    assert "\n" not in str(err.value)


def test_a_second_process_cannot_take_a_held_run_folder(tmp_path: Path) -> None:
    holder = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(30)"], stdout=subprocess.DEVNULL
    )
    try:
        lock = tmp_path / "run" / ".train.lock"
        lock.parent.mkdir()
        lock.write_text(json.dumps({"pid": holder.pid, "host": os.uname().nodename, "started": "now"}))
        with pytest.raises(TrainError, match=f"in use by process {holder.pid}"), run_lock(lock.parent):
            pass
    finally:
        holder.kill()
        holder.wait()
    with run_lock(lock.parent) as path:  # the holder is gone: a stale lock is taken over
        assert json.loads(path.read_text())["pid"] == os.getpid()
    assert not lock.exists()


def test_dpo_counts_both_sides_of_a_pair() -> None:
    """A DPO row is a chosen and a rejected sequence: twice a supervised row's activations, and on a
    GPU half the pairs a batch."""
    sft, dpo = load_config(None, {}), load_config(None, {"train.method": "dpo"})
    for cfg in (sft, dpo):
        choose_sizes(cfg, {"train.method"}, CPU, SMOL)
    assert (dpo.model.max_length, dpo.train.batch_size) == (sft.model.max_length, sft.train.batch_size)
    tokens = {
        name: estimate_bytes(cfg, SMOL, CPU) - fixed_bytes(cfg, SMOL, CPU)
        for name, cfg in (("sft", sft), ("dpo", dpo))
    }
    assert tokens["dpo"] - CPU_RUNTIME_BYTES > 1.9 * (tokens["sft"] - CPU_RUNTIME_BYTES)
    assert estimate_bytes(dpo, SMOL, CPU) < 3 * GB
    gpu_sft, gpu_dpo = load_config(None, {}), load_config(None, {"train.method": "dpo"})
    choose_sizes(gpu_sft, {"train.method"}, Device("cuda", 24 * GB, 8, "gpu"), SMOL)
    choose_sizes(gpu_dpo, {"train.method"}, Device("cuda", 24 * GB, 8, "gpu"), SMOL)
    assert gpu_dpo.train.batch_size < gpu_sft.train.batch_size
    assert estimate_bytes(gpu_dpo, SMOL, Device("cuda", 24 * GB, 8)) < 24 * GB
