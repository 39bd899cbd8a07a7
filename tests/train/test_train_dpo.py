"""``train run --method dpo``: two DPO steps on the tiny model, metrics with a finite loss."""

from __future__ import annotations

import io
import json
import math
from pathlib import Path
from typing import Any

import pytest

from tests.train.conftest import chat, write_jsonl


def pair(i: int) -> dict[str, Any]:
    return {
        "id": f"p{i}",
        "prompt": [{"role": "user", "content": f"How do I reset my password {i}?"}],
        "chosen": [{"role": "assistant", "content": f"Open settings, choose security {i}."}],
        "rejected": [{"role": "assistant", "content": f"No idea {i}."}],
    }


def make_pair_build(root: Path) -> Path:
    root.mkdir(parents=True)
    write_jsonl(root / "train.jsonl", [pair(i) for i in range(8)])
    write_jsonl(root / "eval.jsonl", [pair(100 + i) for i in range(4)])
    write_jsonl(root / "general_eval.jsonl", [chat(200 + i) for i in range(3)])
    manifest = {"config_hash": "test", "findings": {"preference": {"kind": "preference"}}}
    (root / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    return root


def test_dpo_two_steps(tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from train.cli import main

    build = make_pair_build(tmp_path / "build" / "pairs")
    out = tmp_path / "run"
    args = ["run", "--data", str(build), "--model", str(tiny_model_dir), "--out", str(out)]
    code = main([*args, "--method", "dpo", "--max-steps", "2", "--batch-size", "2", "--grad-accum", "1"])
    assert code == 0, capsys.readouterr()
    metrics = json.loads((out / "metrics.json").read_text())
    for key in (
        "preference_accuracy_before",
        "preference_accuracy_after",
        "preference_margin_before",
        "preference_margin_after",
        "general_loss_before",
        "general_loss_after",
    ):
        assert isinstance(metrics[key], float), key
    assert metrics["steps"] == 2 and metrics["eval_pairs"] == 4
    assert math.isfinite(metrics["train_loss"]) and all(math.isfinite(x) for x in metrics["step_losses"])
    assert 0.0 <= metrics["preference_accuracy_after"] <= 1.0
    # LoRA moved the model: the margins before (the base) and after differ
    assert metrics["preference_margin_after"] != metrics["preference_margin_before"]
    assert (out / "adapter" / "adapter_config.json").is_file()
    assert json.loads((out / "train-config.json").read_text())["method"] == "dpo"
    # sizes the flags left open were picked for the CPU and said in one line; the flags won
    said = capsys.readouterr().out
    assert "sizes for cpu" in said and "model.gradient_checkpointing on" in said
    assert (metrics["batch_size"], metrics["grad_accum"], metrics["max_length"]) == (2, 1, 512)
    assert metrics["gradient_checkpointing"] is True and metrics["estimated_peak_gb"] > 0
    assert not (out / ".train.lock").exists()  # the run folder was held for the run, then let go


def test_dpo_under_several_processes_is_one_line_error(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from train.cli import main

    monkeypatch.setenv("RANK", "0")
    monkeypatch.setenv("WORLD_SIZE", "2")
    build = make_pair_build(tmp_path / "build" / "pairs")
    assert main(["run", "--data", str(build), "--model", str(tiny_model_dir), "--method", "dpo"]) == 2
    err = capsys.readouterr().err
    assert "--method dpo runs in one process" in err and "Traceback" not in err


def test_dpo_on_a_chat_build_is_one_line_error(
    tiny_model_dir: Path, build_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from train.cli import main

    code = main(["run", "--data", str(build_dir), "--model", str(tiny_model_dir), "--method", "dpo"])
    assert code == 2
    assert "not a preference build" in capsys.readouterr().err


def test_compare_shows_pairs_prompts(tiny_model_dir: Path, tmp_path: Path) -> None:
    from rich.console import Console

    from train.cli import main
    from train.show import compare

    build = make_pair_build(tmp_path / "build" / "pairs")
    out = tmp_path / "run"
    args = ["run", "--data", str(build), "--model", str(tiny_model_dir), "--out", str(out), "--method", "dpo"]
    assert main([*args, "--max-steps", "1", "--batch-size", "2", "--grad-accum", "1"]) == 0
    rows = compare(str(out), 2, 4, Console(file=io.StringIO()))
    assert [r["prompt"] for r in rows] == [
        "How do I reset my password 100?",
        "How do I reset my password 101?",
    ]
    assert rows[0]["reference"] == "Open settings, choose security 100."


def test_supervised_run_on_a_preference_build_points_at_dpo(
    tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from train.cli import main

    build = make_pair_build(tmp_path / "build" / "pairs")
    assert main(["run", "--data", str(build), "--model", str(tiny_model_dir)]) == 2
    assert "--method dpo" in capsys.readouterr().err
