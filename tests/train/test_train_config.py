"""train.toml: typed fields, flags over file, every problem reported at once."""

from __future__ import annotations

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


def test_every_field_has_a_docstring() -> None:
    for section in [TrainConfig, *SECTIONS.values()]:
        for name, info in section.model_fields.items():
            assert info.description, f"{section.__name__}.{name} has no docstring"


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
    for line in (
        "colour: unknown key (known: data, model, lora, train, eval, dpo, output)",
        "[lora] r: expected an integer of at least 1, got 0",
        "[lora] dropout: expected a number of at least 0 and below 1, got 1.5",
        "[lora] rank: unknown key (known: r, alpha, dropout, target_modules)",
        '[train] batch_size: expected an integer of at least 1, got "four"',
        '[train] precision: expected one of "auto", "bf16", "fp16", "fp32", got "fp8"',
        "[train] packing: expected true or false, got 1",
        "[train] early_stopping_patience: needs [train] eval_every above 0",
        "[train] max_steps: expected an integer of 0 or more, got -5",
    ):
        assert line in problems, line
    assert text.startswith(str(path)) and "\n" not in text


def test_method_is_one_field_for_adapter_and_objective(tmp_path: Path) -> None:
    """lora, qlora, full and dpo share [train] method (and --method); the old objective key is gone."""
    for method in ("lora", "qlora", "full", "dpo"):
        assert load_config(None, {"train.method": method}).train.method == method
    path = tmp_path / "train.toml"
    path.write_text('[train]\nmethod = "sft"\nobjective = "dpo"\nloss_chunk = 0\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert '[train] method: expected one of "lora", "qlora", "full", "dpo", got "sft"' in problems, problems
    assert any(p.startswith("[train] objective: unknown key") for p in problems), problems
    assert "[train] loss_chunk: expected an integer of at least 1, got 0" in problems, problems


def test_int_is_accepted_for_float_but_bool_is_not_an_int() -> None:
    assert load_config(None, {"train.epochs": 2}).train.epochs == 2.0
    with pytest.raises(
        ConfigError, match=r"\[train\] batch_size: expected an integer of at least 1, got true"
    ):
        load_config(None, {"train.batch_size": True})


def test_a_number_in_quotes_is_not_a_number() -> None:
    with pytest.raises(ConfigError, match=r'\[train\] learning_rate: expected a number above 0, got "1e-4"'):
        load_config(None, {"train.learning_rate": "1e-4"})


def test_relations_are_checked_beside_other_problems(tmp_path: Path) -> None:
    """pack_length against max_length is reported with an unrelated wrong key, not after it is fixed."""
    path = tmp_path / "train.toml"
    path.write_text("[model]\nmax_length = 64\n[train]\npack_length = 32\n[eval]\nbatch_size = 0\n")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == [
        "[eval] batch_size: expected an integer of at least 1, got 0",
        "[train] pack_length: expected 0 or at least [model] max_length (64), got 32",
    ]
    # a wrong max_length is the problem; pack_length is not judged against its default
    path.write_text('[model]\nmax_length = "64"\n[train]\npack_length = 32\n')
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert info.value.problems == ['[model] max_length: expected an integer of at least 16, got "64"']


def test_relative_paths_are_relative_to_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "project" / "configs"
    (folder / "my-model").mkdir(parents=True)
    path = folder / "train.toml"
    path.write_text('data = "../build/x"\n[model]\nname = "my-model"\n[output]\ndir = "runs/x"\n')
    monkeypatch.chdir(tmp_path)
    cfg = load_config(path)
    assert Path(cfg.data) == tmp_path / "project" / "build" / "x"
    assert Path(cfg.model.name) == folder / "my-model"
    assert Path(cfg.output.dir) == folder / "runs" / "x"
    # a hub id and the default stay names; flags stay relative to the working directory
    path.write_text('[model]\nname = "org/model"\n')
    assert load_config(path).model.name == "org/model"
    cfg = load_config(path, {"data": "build/y", "output.dir": "out", "model.name": "default"})
    assert (cfg.data, cfg.output.dir, cfg.model.name) == ("build/y", "out", "default")
    # from the config's own folder, a path in the file reads the same
    monkeypatch.chdir(folder)
    assert Path(load_config("train.toml", {}).base_dir) == Path(".")
    path.write_text('data = "../build/x"\n')
    assert load_config("train.toml").data == str(Path("..") / "build" / "x")


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
        for name in section.model_fields:
            assert name in written, f"samples/train.toml lacks {name}"


def test_sample_data_path_is_the_demo_build() -> None:
    """`make demo` builds samples into build/samples at the repo root; the sample points there."""
    cfg = load_config(ROOT / "samples" / "train.toml")
    assert Path(cfg.data) == ROOT / "build" / "samples"


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


@pytest.mark.parametrize(
    ("config", "build_name", "target"),
    [("samples/train.toml", "samples", "demo"), ("samples/preference/train.toml", "pairs", "demo-dpo")],
)
def test_sample_runs_land_where_the_makefile_compares_them(config: str, build_name: str, target: str) -> None:
    """`make demo` and `make demo-dpo` train, then run `train compare --run runs/<name>`: the sample
    config must send its run folder there (a dir in the file is relative to the file's folder)."""
    import re

    from train.data import Build
    from train.run import run_dir

    recipe = Path("Makefile").read_text().split(f"\n{target}:", 1)[1].split("\n\n", 1)[0]
    compared = re.search(r"train compare --run (\S+)", recipe)
    assert compared is not None, recipe
    build = Build(Path("build") / build_name, Path("t"), Path("e"), None, {})
    assert run_dir(load_config(config), build) == Path(compared.group(1))
