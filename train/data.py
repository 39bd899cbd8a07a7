"""From a build folder to token ids and labels: the chat template, the assistant-only loss mask, packing.

The mask is derived from the model's own chat template by rendering message prefixes: for assistant
message ``i`` the trainable tokens are those between ``render(messages[:i], add_generation_prompt=True)``
and ``render(messages[:i + 1])``, i.e. exactly what the model would have to generate for that turn
(its content and the end-of-turn marker). The diff is taken on token ids when the prefix tokenizes to a
prefix of the whole conversation, and on character offsets otherwise, so it is exact token by token.
Assistant messages with ``weight: 0`` stay in the context but are not trained on.
"""

from __future__ import annotations

import contextlib
import json
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from train.errors import DataError

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

IGNORE = -100


@dataclass
class Build:
    """A curated build folder, as ``curate build`` writes it."""

    path: Path
    train: Path
    eval: Path
    general: Path | None
    manifest: dict[str, Any]

    @property
    def name(self) -> str:
        return self.path.resolve().name

    @property
    def config_hash(self) -> str | None:
        value = self.manifest.get("config_hash")
        if value is None and isinstance(self.manifest.get("config"), dict):
            value = self.manifest["config"].get("hash")
        return value if isinstance(value, str) else None


def open_build(path: str | Path) -> Build:
    """Check that a build folder holds what training needs, naming every missing piece at once."""
    root = Path(path)
    if not root.is_dir():
        raise DataError(
            "build folder not found", where=str(root), hint="run `curate build` first, or pass --data"
        )
    missing = [n for n in ("train.jsonl", "eval.jsonl", "manifest.json") if not (root / n).is_file()]
    if missing:
        raise DataError(
            f"build folder lacks {', '.join(missing)}",
            where=str(root),
            hint="point --data at the output folder of `curate build`",
        )
    try:
        manifest = json.loads((root / "manifest.json").read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DataError(f"manifest.json is not valid JSON: {exc}", where=str(root / "manifest.json")) from exc
    if not isinstance(manifest, dict):
        raise DataError("manifest.json must hold a JSON object", where=str(root / "manifest.json"))
    general = root / "general_eval.jsonl"
    return Build(
        root, root / "train.jsonl", root / "eval.jsonl", general if general.is_file() else None, manifest
    )


def load_split(path: Path) -> list[dict[str, Any]]:
    """Load one JSONL split through ``datasets`` (the build contract) as plain dicts."""
    from datasets import load_dataset

    if path.stat().st_size == 0:
        return []
    try:
        dataset = load_dataset("json", data_files=str(path), split="train")
    except Exception as exc:  # noqa: BLE001 - the reader's error becomes one line with the file
        text = str(exc).strip().splitlines()
        raise DataError(
            f"cannot load the split: {text[0] if text else type(exc).__name__}",
            where=str(path),
            hint="each line must be a chat example in the OpenAI format",
        ) from exc
    if "messages" not in dataset.column_names:
        raise DataError("no 'messages' field", where=str(path), hint="each line must be a chat example")
    rows: list[dict[str, Any]] = dataset.to_list()
    for line, row in enumerate(rows, start=1):
        if row.get("id") is None:
            row["id"] = f"{path.name}:{line}"
        row["id"] = str(row["id"])
    return rows


def clean_messages(messages: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """Drop the nulls that Arrow adds for fields a message does not have; templates test for presence."""
    out = []
    for m in messages:
        msg = {k: v for k, v in m.items() if v is not None}
        msg["content"] = msg.get("content") or ""
        out.append(msg)
    return out


def is_trained(message: dict[str, Any]) -> bool:
    return message.get("role") == "assistant" and message.get("weight", 1) != 0


@dataclass
class Encoded:
    """One tokenized example: ``labels[j]`` is ``input_ids[j]`` where the model learns that token, or -100."""

    id: str
    input_ids: list[int]
    labels: list[int]
    truncated: bool = False
    full_length: int = 0

    @property
    def n_trainable(self) -> int:
        return sum(1 for x in self.labels if x != IGNORE)


def tool_calls_as_text(message: dict[str, Any]) -> dict[str, Any]:
    """Fold an assistant's ``tool_calls`` into its content, for templates that would silently drop them.

    Without this, a tool-calling turn renders as an empty answer and the model learns to say nothing.
    The calls are written the way Hermes/Qwen-style templates do: one ``<tool_call>`` JSON block each.
    """
    calls = message.get("tool_calls") or []
    if not calls:
        return message
    blocks = []
    for call in calls:
        fn = call.get("function") or call
        args = fn.get("arguments")
        if isinstance(args, str):
            with contextlib.suppress(json.JSONDecodeError):
                args = json.loads(args)
        blocks.append(
            "<tool_call>\n" + json.dumps({"name": fn.get("name"), "arguments": args}) + "\n</tool_call>"
        )
    text = "\n".join(blocks)
    content = message.get("content") or ""
    out = {k: v for k, v in message.items() if k != "tool_calls"}
    out["content"] = f"{content}\n{text}" if content else text
    return out


class Renderer:
    """Renders conversations with a tokenizer's chat template and tokenizes them without extra specials."""

    def __init__(self, tokenizer: PreTrainedTokenizerBase, default_system_prompt: bool = True) -> None:
        self.tokenizer = tokenizer
        self.keep_default_system = default_system_prompt
        template = (
            tokenizer.chat_template
            if isinstance(tokenizer.chat_template, str)
            else str(tokenizer.chat_template)
        )
        self.renders_tool_calls = "tool_calls" in template

    def prepare(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if not self.keep_default_system and messages and messages[0].get("role") != "system":
            messages = [{"role": "system", "content": ""}, *messages]  # the template's default stays out
        if self.renders_tool_calls:
            return messages
        return [tool_calls_as_text(m) if m.get("role") == "assistant" else m for m in messages]

    def default_system_prompt(self) -> str | None:
        """The system text the template adds to a conversation that has none, if it adds one.

        Renders one user turn with and without a marker system message; where the template wraps a
        default prompt the same way, the text between the marker's frame is that prompt.
        """
        marker, user = "\u2063SYSTEM-MARKER\u2063", [{"role": "user", "content": "USER-MARKER"}]
        try:
            bare = self.text(user)
            framed = self.text([{"role": "system", "content": marker}, *user])
        except Exception:  # noqa: BLE001 - a template that rejects system messages adds none either
            return None
        if marker not in framed:
            return None
        before, after = framed.split(marker, 1)
        if bare.startswith(before) and bare.endswith(after) and len(bare) > len(before) + len(after):
            return bare[len(before) : len(bare) - len(after)]
        return None

    def text(self, messages: list[dict[str, Any]], tools: Any = None, generation_prompt: bool = False) -> str:
        if not messages and not generation_prompt:
            return ""
        kwargs: dict[str, Any] = {"tokenize": False, "add_generation_prompt": generation_prompt}
        if tools:
            kwargs["tools"] = tools
        return str(self.tokenizer.apply_chat_template(messages, **kwargs))

    def ids(self, text: str) -> list[int]:
        return list(self.tokenizer(text, add_special_tokens=False)["input_ids"])


def encode_example(renderer: Renderer, example: dict[str, Any], max_length: int) -> Encoded:
    """Tokenize one example and mark its trainable tokens; raise ``DataError`` if none is trainable."""
    ex_id = str(example.get("id"))
    messages = renderer.prepare(clean_messages(example.get("messages") or []))
    tools = example.get("tools") or None
    if not messages:
        raise DataError("example has no messages", where=f"example {ex_id}")
    full = renderer.text(messages, tools)
    spans: list[tuple[int, int]] = []  # character spans of the trainable turns in `full`
    for i, message in enumerate(messages):
        if not is_trained(message):
            continue
        before = renderer.text(messages[:i], tools, generation_prompt=True)
        upto = renderer.text(messages[: i + 1], tools)
        if not (full.startswith(upto) and upto.startswith(before)):
            raise DataError(
                f"the chat template does not render message {i} as an extension of the ones before it, "
                "so its trainable tokens cannot be located",
                where=f"example {ex_id}",
                hint="use a model whose chat template renders turns incrementally",
            )
        if len(upto) > len(before):
            spans.append((len(before), len(upto)))
    if not spans:
        raise DataError(
            "example has no trainable token (no assistant turn with weight 1)",
            where=f"example {ex_id}",
            hint="fix or drop it in the curation step",
        )
    input_ids, labels = _label_spans(renderer, full, spans)
    full_length = len(input_ids)
    truncated = full_length > max_length
    if truncated:
        input_ids, labels = input_ids[:max_length], labels[:max_length]
    return Encoded(ex_id, input_ids, labels, truncated, full_length)


def _label_spans(renderer: Renderer, full: str, spans: list[tuple[int, int]]) -> tuple[list[int], list[int]]:
    ids = renderer.ids(full)
    labels = [IGNORE] * len(ids)
    for start, end in spans:
        a, b = renderer.ids(full[:start]), renderer.ids(full[:end])
        if ids[: len(a)] == a and ids[: len(b)] == b:
            for j in range(len(a), len(b)):
                labels[j] = ids[j]
            continue
        # A token crosses a span edge: use offsets; a token is trained when it starts inside the span.
        offsets = renderer.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)[
            "offset_mapping"
        ]
        for j, (s, _e) in enumerate(offsets):
            if start <= s < end:
                labels[j] = ids[j]
    return ids, labels


@dataclass
class EncodedSplit:
    """A tokenized split with what happened on the way: truncations and examples emptied by truncation."""

    examples: list[Encoded]
    truncated: list[str] = field(default_factory=list)
    dropped: list[str] = field(default_factory=list)

    @property
    def tokens(self) -> int:
        return sum(len(e.input_ids) for e in self.examples)

    @property
    def trainable_tokens(self) -> int:
        return sum(e.n_trainable for e in self.examples)


def encode_split(
    renderer: Renderer, rows: Iterable[dict[str, Any]], max_length: int, where: str = ""
) -> EncodedSplit:
    """Encode every row; examples whose trainable tokens all fall past max_length are dropped and listed."""
    out = EncodedSplit([])
    problems: list[str] = []
    for row in rows:
        try:
            enc = encode_example(renderer, row, max_length)
        except DataError as exc:
            problems.append(str(exc))
            continue
        if enc.truncated:
            out.truncated.append(enc.id)
        if enc.n_trainable == 0:
            out.dropped.append(enc.id)
            continue
        out.examples.append(enc)
    if problems:
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        raise DataError(problems[0] + more, where=where or None)
    return out


# --- rows: what the collators batch ------------------------------------------------------------------


def as_item(e: Encoded) -> dict[str, list[int]]:
    """An example as the library's collators take it: labels aligned with input_ids (-100: not trained)."""
    return {"input_ids": e.input_ids, "labels": e.labels}


def single_rows(examples: Sequence[Encoded]) -> list[dict[str, list[int]]]:
    """One example per row (plain padding)."""
    return [as_item(e) for e in examples]


def pack_rows(examples: Sequence[Encoded], capacity: int) -> list[dict[str, Any]]:
    """First-fit-decreasing bin packing into packs of at most ``capacity`` tokens.

    A pack is ``{"examples": [...]}``; the collator flattens a batch of packs into one padding-free row,
    so ``capacity`` times the batch size bounds the tokens of a forward pass.
    """
    order = sorted(range(len(examples)), key=lambda i: -len(examples[i].input_ids))
    bins: list[list[int]] = []
    room: list[int] = []
    for i in order:
        n = len(examples[i].input_ids)
        for b, free in enumerate(room):
            if n <= free:
                bins[b].append(i)
                room[b] -= n
                break
        else:
            bins.append([i])
            room.append(capacity - n)
    return [{"examples": [as_item(examples[i]) for i in sorted(members)]} for members in bins]


def supports_padding_free(model: Any) -> bool:
    """Whether this transformers build derives block-diagonal masks from position ids for this attention."""
    try:
        from transformers import masking_utils
    except ImportError:
        return False
    impl = getattr(model.config, "_attn_implementation", None) or "eager"
    ok_impl = impl in ("sdpa", "eager", "flash_attention_2", "flash_attention_3", "flex_attention")
    modeling = sys.modules.get(type(model).__module__)
    uses_mask_utils = modeling is not None and hasattr(modeling, "create_causal_mask")
    return ok_impl and uses_mask_utils and hasattr(masking_utils, "find_packed_sequence_indices")
