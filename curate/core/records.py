"""The canonical example: format detection, conversion to OpenAI chat, content ids.

Every accepted format becomes ``{"messages": [...], "tools"?: [...], "meta"?: {...}}`` with
message keys in a fixed order, so that the same conversation serialises to the same bytes and
gets the same id whatever file, format or key order it came from.
"""

from __future__ import annotations

import unicodedata
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Final, Literal

import orjson
import xxhash

Format = Literal["chat", "sharegpt", "alpaca"]
FORMATS: Final[tuple[Format, ...]] = ("chat", "sharegpt", "alpaca")
ROLES: Final[frozenset[str]] = frozenset({"system", "user", "assistant", "tool"})

SHAREGPT_ROLES: Final[dict[str, str]] = {
    "system": "system",
    "human": "user",
    "user": "user",
    "gpt": "assistant",
    "assistant": "assistant",
    "model": "assistant",
    "chatgpt": "assistant",
    "bing": "assistant",
    "bard": "assistant",
    "tool": "tool",
    "observation": "tool",
    "function_response": "tool",
}

# Message keys in the order they are written; any other key follows, sorted.
_MESSAGE_KEY_ORDER: Final[tuple[str, ...]] = (
    "role",
    "content",
    "name",
    "tool_calls",
    "tool_call_id",
    "weight",
)


def detect_format(record: dict[str, Any]) -> Format | None:
    """Which format a record is in, from its keys (so mixed files work too)."""
    if "messages" in record:
        return "chat"
    if "conversations" in record:
        return "sharegpt"
    if "instruction" in record and "output" in record:
        return "alpaca"
    return None


class ConversionError(ValueError):
    """A record that passed its schema but still cannot be converted; carries a reason code."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def to_chat(record: dict[str, Any], fmt: Format) -> dict[str, Any]:
    """Convert a schema-valid record to the canonical chat example (without the id)."""
    if fmt == "chat":
        messages = [_canonical_message(m) for m in record["messages"]]
        rest = {k: v for k, v in record.items() if k not in ("messages", "tools", "id", "meta")}
        tools = record.get("tools")
    elif fmt == "sharegpt":
        messages = []
        if isinstance(record.get("system"), str) and record["system"].strip():
            messages.append({"role": "system", "content": record["system"]})
        for turn in record["conversations"]:
            message: dict[str, Any] = {"role": SHAREGPT_ROLES[turn["from"]], "content": turn["value"]}
            if "weight" in turn:
                message["weight"] = turn["weight"]
            messages.append(message)
        rest = {
            k: v for k, v in record.items() if k not in ("conversations", "system", "tools", "id", "meta")
        }
        tools = record.get("tools")
        if isinstance(tools, str):  # LLaMA-Factory keeps tools as a JSON string
            try:
                tools = orjson.loads(tools)
            except orjson.JSONDecodeError as error:
                raise ConversionError(
                    "schema.invalid", f"tools is a string that is not JSON: {error}"
                ) from None
    else:
        user = record["instruction"]
        extra = record.get("input")
        if extra and extra.strip():
            user = f"{user}\n\n{extra}" if user.strip() else extra
        messages = []
        if isinstance(record.get("system"), str) and record["system"].strip():
            messages.append({"role": "system", "content": record["system"]})
        messages += [{"role": "user", "content": user}, {"role": "assistant", "content": record["output"]}]
        rest = {
            k: v
            for k, v in record.items()
            if k not in ("instruction", "input", "output", "system", "id", "meta")
        }
        tools = None
    example: dict[str, Any] = {"messages": messages}
    if tools:
        example["tools"] = tools
    meta = dict(record["meta"]) if isinstance(record.get("meta"), dict) else {}
    meta.update(rest)  # extra top-level fields (subject, category, ...) are kept, not lost
    if meta:
        example["meta"] = meta
    return example


def _canonical_message(message: dict[str, Any]) -> dict[str, Any]:
    if len(message) == 2 and tuple(message) == ("role", "content"):
        return message  # the common case is already canonical
    ordered = {k: message[k] for k in _MESSAGE_KEY_ORDER if k in message}
    for key in sorted(message.keys() - ordered.keys()):
        ordered[key] = message[key]
    return ordered


def source_id_of(record: dict[str, Any]) -> str | None:
    """The record's own id field as a string, where it has one."""
    value = record.get("id")
    if value is None or isinstance(value, (dict, list)):
        return None
    return str(value)


def content_id(messages_json: bytes, tools_json: bytes | None = None) -> str:
    """Stable id: a hash of the canonical messages and tools (not meta, not input position).

    Canonical messages have a fixed key order, so their compact JSON is a canonical encoding.
    """
    payload = messages_json if tools_json is None else messages_json + b"\x1e" + tools_json
    return xxhash.xxh3_128_hexdigest(payload)[:16]


def example_json(example: dict[str, Any]) -> tuple[str, str, int]:
    """The example serialised once, its content id and its exact-dedup key."""
    messages_json = orjson.dumps(example["messages"])
    parts = [b'{"messages":', messages_json]
    tools_json = None
    if "tools" in example:
        tools_json = orjson.dumps(example["tools"], option=orjson.OPT_SORT_KEYS)
        parts += [b',"tools":', tools_json]
    if "meta" in example:
        parts += [b',"meta":', orjson.dumps(example["meta"], default=str)]
    parts.append(b"}")
    return b"".join(parts).decode(), content_id(messages_json, tools_json), dedup_key(example, tools_json)


def dedup_key(example: dict[str, Any], tools_json: bytes | None = None) -> int:
    """Exact-duplicate key: roles and text normalised (Unicode NFC, whitespace runs collapsed, ends
    stripped), so spacing and source format don't hide a copy. A signed 64-bit int for polars."""
    parts: list[str] = []
    for message in example["messages"]:
        content = message.get("content") or ""
        if not content.isascii():
            content = unicodedata.normalize("NFC", content)
        parts.append(message["role"])
        parts.append(" ".join(content.split()))
        if "tool_calls" in message:
            parts.append(orjson.dumps(message["tool_calls"], option=orjson.OPT_SORT_KEYS).decode())
    if tools_json:
        parts.append(tools_json.decode())
    digest = xxhash.xxh3_64_intdigest("\x1f".join(parts).encode())
    return digest - (1 << 64) if digest >= (1 << 63) else digest


def raw_id(source: str, line: int) -> str:
    """Id of a line that never became a record: stable for its file and position."""
    return "raw-" + xxhash.xxh3_64_hexdigest(f"{source}:{line}".encode())


@cache
def schema_path(name: str) -> Path:
    """schemas/<name>.schema.json: packaged as curate/_schemas in a wheel, at the repo root in a checkout."""
    packaged = resources.files("curate") / "_schemas" / f"{name}.schema.json"
    if packaged.is_file():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "schemas" / f"{name}.schema.json"


@cache
def load_schema(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = orjson.loads(schema_path(name).read_bytes())
    return loaded
