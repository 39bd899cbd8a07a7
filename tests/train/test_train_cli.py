"""The train command: help with examples, one-line errors with exit code 2, a light import."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from train.cli import _parser, main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("command", ["run", "inspect-data", "chat", "compare"])
def test_every_command_has_help_with_an_example(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as info:
        main([command, "--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "example" in out and f"train {command}" in out


def test_top_level_help_lists_commands() -> None:
    text = _parser().format_help()
    for command in ("run", "inspect-data", "chat", "compare"):
        assert command in text


def test_help_does_not_import_torch() -> None:
    code = (
        "import sys; from train.cli import main\ntry:\n main(['--help'])\nexcept SystemExit: pass\n"
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr


def test_config_problems_are_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = tmp_path / "train.toml"
    path.write_text("[lora]\nr = -1\n[train]\nbatch_size = 0\n")
    assert main(["run", str(path), "--data", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "2 problems" in err and "[lora] r" in err and "[train] batch_size" in err


def test_missing_build_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["run", "--data", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err.strip()
    assert "build folder not found" in err and err.count("\n") == 0


def test_chat_on_a_folder_that_is_not_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["chat", "--run", str(tmp_path), "--prompt", "hi"]) == 2
    assert "not a finished run folder" in capsys.readouterr().err


def test_inspect_data_shows_labels(
    build_dir: Path, tiny_model_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert (
        main(["inspect-data", "--data", str(build_dir), "--model", str(tiny_model_dir), "--count", "1"]) == 0
    )
    out = capsys.readouterr().out
    assert "ex0" in out and "-100" in out and "trained" in out


def test_zero_trainable_example_fails_the_run_naming_it(
    build_dir: Path, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    with (build_dir / "train.jsonl").open("a") as fh:
        fh.write(
            '{"id": "bad-one", "messages": [{"role": "user", "content": "hi"}, '
            '{"role": "assistant", "content": "x", "weight": 0}]}\n'
        )
    code = main(
        ["run", "--data", str(build_dir), "--model", str(tiny_model_dir), "--out", str(tmp_path / "r")]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "bad-one" in err and "no trainable token" in err


def test_run_merge_then_compare_and_chat(
    build_dir: Path, tiny_model_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "run"
    code = main(
        [
            "run",
            "--data",
            str(build_dir),
            "--model",
            str(tiny_model_dir),
            "--out",
            str(out),
            "--max-steps",
            "2",
            "--max-length",
            "128",
            "--batch-size",
            "2",
            "--merge",
        ]
    )
    assert code == 0, capsys.readouterr().err
    text = capsys.readouterr().out
    assert "gained" in text and "forgot" in text
    from transformers import AutoModelForCausalLM

    AutoModelForCausalLM.from_pretrained(out / "merged")  # loads without peft
    assert main(["compare", "--run", str(out), "--count", "2", "--max-new-tokens", "4"]) == 0
    table = capsys.readouterr().out
    assert "base" in table and "fine-tuned" in table and "reference" in table
    assert main(["chat", "--run", str(out), "--prompt", "Hello!", "--max-new-tokens", "4"]) == 0
    assert "model>" in capsys.readouterr().out
