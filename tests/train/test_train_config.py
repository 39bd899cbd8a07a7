"""train.toml: typed fields, flags over file, every problem reported at once."""

from __future__ import annotations

import dataclasses
import inspect
import subprocess
import sys
from pathlib import Path

import pytest

from train.config import SECTIONS, TrainConfig, load_config
from train.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]


def test_defaults_are_the_documented_ones() -> None:
    cfg = load_config()
    assert (cfg.lora.r, cfg.lora.alpha, cfg.lora.dropout, cfg.lora.target_modules) == (
        16,
        32,
        0.05,
        "all-linear",
    )
    assert cfg.model.name == "default" and cfg.train.packing is True and cfg.train.precision == "auto"


def test_every_field_has_a_doc_comment() -> None:
    for section in [TrainConfig, *SECTIONS.values()]:
        source = inspect.getsource(section)
        for f in dataclasses.fields(section):
            if f.name in SECTIONS:
                continue
            after = source.split(f"    {f.name}:", 1)[1].splitlines()[1].strip()
            assert after.startswith('"""'), f"{section.__name__}.{f.name} has no docstring"


def test_flags_override_the_file(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text("[train]\nmax_steps = 10\nlearning_rate = 1e-4\n[lora]\nr = 8\n")
    cfg = load_config(path, {"train.max_steps": 3, "train.learning_rate": None, "model.name": "some/model"})
    assert cfg.train.max_steps == 3 and cfg.train.learning_rate == 1e-4 and cfg.lora.r == 8
    assert cfg.model.name == "some/model"


def test_all_problems_at_once(tmp_path: Path) -> None:
    path = tmp_path / "train.toml"
    path.write_text(
        'colour = "blue"\n'
        "[lora]\nr = 0\ndropout = 1.5\nrank = 3\n"
        '[train]\nbatch_size = "four"\nprecision = "fp8"\npacking = 1\n'
        "early_stopping_patience = 2\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path, {"train.max_steps": -5})
    problems = info.value.problems
    text = str(info.value)
    assert len(problems) == 9, problems
    for needle in (
        "colour",
        "lora.r must be at least 1",
        "lora.dropout",
        "lora.rank",
        "train.batch_size must be int",
        "train.precision",
        "train.packing must be bool",
        "early_stopping_patience needs",
        "train.max_steps must be 0 or more",
    ):
        assert needle in text, needle
    assert text.startswith(str(path)) and "\n" not in text


def test_int_is_accepted_for_float_but_bool_is_not_an_int() -> None:
    assert load_config(None, {"train.epochs": 2}).train.epochs == 2.0
    with pytest.raises(ConfigError, match="train.batch_size must be int"):
        load_config(None, {"train.batch_size": True})


def test_bad_toml_is_one_problem(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text("[train\n")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_config(path)


def test_sample_config_loads_and_comments_every_field() -> None:
    path = ROOT / "samples" / "train.toml"
    cfg = load_config(path)
    assert cfg.model.name == "default"
    lines = path.read_text().splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#"):
            assert lines[i - 1].lstrip().startswith("#"), f"uncommented field: {line}"
    written = {line.split("=")[0].strip() for line in lines if "=" in line and not line.startswith("#")}
    for section in SECTIONS.values():
        for f in dataclasses.fields(section):
            assert f.name in written, f"samples/train.toml lacks {f.name}"


def test_modules_keep_heavy_imports_out() -> None:
    code = (
        "import sys, train.config, train.data, train.models, train.run, train.show, train.evaluate\n"
        "import train.cli\n"
        "heavy = [m for m in ('torch', 'transformers', 'peft', 'datasets') if m in sys.modules]\n"
        "assert not heavy, heavy"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
