"""Turn one input line (or row) into a canonical example, or into reasons why it cannot be one.

Checks run in this order, and the first failing level stops the record: bytes (size, UTF-8),
JSON (syntax, depth, object), JSON Schema of the detected format, then semantic checks that a
schema cannot express (role order, tool-call pairing, empty content). Every failure is a reason
code from curate/core/reasons.py with a message that says where in the record it is.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import fastjsonschema
import orjson

from curate.core.pairs import is_pair_record
from curate.core.records import (
    ROLES,
    ConversionError,
    Format,
    detect_format,
    example_json,
    load_schema,
    source_id_of,
    to_chat,
)
from curate.ingest.preference import checked_pair, to_pair

Reason = tuple[str, str]  # (code, message)


@dataclass(slots=True)
class Checked:
    """What validation made of one input record."""

    example: str | None  # canonical example JSON when valid; the parsed record as JSON otherwise
    raw: str | None  # the text, only where it could not be parsed
    reasons: list[Reason] = field(default_factory=list)
    fmt: str | None = None
    source_id: str | None = None
    id: str | None = None  # content id of a valid example
    key: int | None = None  # exact-dedup key of a valid example
    n_messages: int | None = None
    n_assistant: int | None = None


@cache
def _schema_validator(fmt: Format) -> Callable[[Any], Any]:
    return fastjsonschema.compile(load_schema(fmt))


# JSON Schema rule failures that have a more specific reason code than schema.invalid.
def _schema_reason(fmt: Format, error: fastjsonschema.JsonSchemaValueException) -> Reason:
    where = (error.name or "data").replace("data.", "", 1)
    rule = error.rule
    if rule == "enum" and where.endswith((".role", ".from")):
        return "schema.unknown-role", f"{where} is {error.value!r}; expected one of {error.rule_definition}"
    if rule == "enum" and where.endswith(".weight"):
        return "schema.bad-weight", f"{where} is {error.value!r}; weight must be 0 or 1"
    if where in ("messages", "conversations") and rule in ("minItems", "type"):
        return "schema.no-messages", f"{where} must be a non-empty list"
    if rule == "required" and where == "data":
        missing = ", ".join(sorted(set(error.rule_definition) - set(error.value or {})))
        if missing in ("messages", "conversations"):
            return "schema.no-messages", f"{missing} is missing"
        return "schema.invalid", f"{fmt} record is missing {missing}"
    return "schema.invalid", f"{fmt} record: {error.message.replace('data.', '', 1)}"


def check_record(record: Any, format_override: Format | None = None, origin: str = "input") -> Checked:
    """Validate a parsed JSON value and convert it; never raises for bad data."""
    if not isinstance(record, dict):
        kind = type(record).__name__ if record is not None else "null"
        return Checked(
            example=None, raw=_dump_text(record), reasons=[("schema.not-object", f"got a JSON {kind}")]
        )
    source_id = source_id_of(record)
    if format_override is None and is_pair_record(record):
        return _checked_pair(record, source_id, origin)
    fmt = format_override or detect_format(record)
    if fmt is None:
        keys = ", ".join(sorted(map(str, record))[:6]) or "no keys"
        reason = (
            "schema.unknown-format",
            f"expected messages, conversations, instruction/output or chosen/rejected; got {keys}",
        )
        return _bad(record, None, source_id, [reason])
    if fmt == "chat" and format_override is None and is_plain_valid_chat(record):
        example = to_chat(record, "chat")  # messages are already canonical: this only gathers meta
        return _valid(example, fmt, source_id, origin)
    # The fast structural check accepts exactly what chat.schema.json accepts (tested with
    # hypothesis); the compiled schema runs where it fails, for its precise message, and always
    # for the rarer formats.
    if not (fmt == "chat" and chat_shape_ok(record)):
        try:
            _schema_validator(fmt)(record)
        except fastjsonschema.JsonSchemaValueException as error:
            return _bad(record, fmt, source_id, [_schema_reason(fmt, error)])
    try:
        example = to_chat(record, fmt)
    except ConversionError as error:
        return _bad(record, fmt, source_id, [(error.code, str(error))])
    problems = semantic_problems(example["messages"])
    if problems:
        return _bad(record, fmt, source_id, problems)
    return _valid(example, fmt, source_id, origin)


def _checked_pair(record: dict[str, Any], source_id: str | None, origin: str) -> Checked:
    """A preference pair (curate.ingest.preference): its canonical pair, or why it has none."""
    fmt, pair, problems = to_pair(record, semantic_problems)
    if pair is None:
        return _bad(record, fmt, source_id, problems)
    text, pair_id, key, n_messages, n_assistant = checked_pair(pair)
    return Checked(text, None, [], fmt, source_id, pair_id, key, n_messages, n_assistant)


def _valid(example: dict[str, Any], fmt: str, source_id: str | None, origin: str) -> Checked:
    if origin == "general":
        example.setdefault("meta", {})["source"] = "general"
    text, example_id, key = example_json(example)
    messages = example["messages"]
    return Checked(
        example=text,
        raw=None,
        fmt=fmt,
        source_id=source_id,
        id=example_id,
        key=key,
        n_messages=len(messages),
        n_assistant=sum(1 for m in messages if m["role"] == "assistant"),
    )


def is_plain_valid_chat(record: dict[str, Any]) -> bool:
    """The common case, decided in one pass: role/content messages only, no tools, non-empty
    text, system first if at all, then user and assistant alternating, at least one assistant.

    True only where the full checks would find nothing (tests hold the two paths equal); any
    other record takes the full path, which also says what is wrong.
    """
    messages = record["messages"]
    if type(messages) is not list or not messages or "tools" in record:
        return False
    expected = "user"
    answered = False
    for index, message in enumerate(messages):
        if type(message) is not dict or len(message) != 2:
            return False
        role = message.get("role")
        content = message.get("content")
        if type(content) is not str or not content.strip() or "\x00" in content:
            return False
        if role == "system" and index == 0:
            continue
        if role != expected:
            return False
        if role == "assistant":
            answered = True
            expected = "user"
        else:
            expected = "assistant"
    return answered and _meta_and_id_ok(record)


def _meta_and_id_ok(record: dict[str, Any]) -> bool:
    if "id" in record and not _json_schema_string_or_integer(record["id"]):
        return False
    return "meta" not in record or type(record["meta"]) is dict


def _bad(record: Any, fmt: str | None, source_id: str | None, reasons: list[Reason]) -> Checked:
    return Checked(example=_dump_text(record), raw=None, fmt=fmt, source_id=source_id, reasons=reasons)


_OPTIONAL_STR = ("name", "tool_call_id")


def chat_shape_ok(record: dict[str, Any]) -> bool:
    """True when ``record`` satisfies chat.schema.json (structure and types only)."""
    messages = record["messages"]
    if type(messages) is not list or not messages:
        return False
    for message in messages:
        if type(message) is not dict:
            return False
        if message.get("role") not in ROLES or type(message["role"]) is not str:
            return False
        content = message.get("content")
        if content is not None and type(content) is not str:
            return False
        if len(message) > 2 or (len(message) == 2 and "content" not in message):
            for key in _OPTIONAL_STR:
                if key in message and type(message[key]) is not str:
                    return False
            weight = message.get("weight", 0)
            if type(weight) is bool or weight not in (0, 1):
                return False
            if "tool_calls" in message and not _tool_calls_ok(message["tool_calls"]):
                return False
    if len(record) > 1:
        tools = record.get("tools", [])
        if type(tools) is not list or any(type(tool) is not dict for tool in tools):
            return False
        if "id" in record and not _json_schema_string_or_integer(record["id"]):
            return False
        if "meta" in record and type(record["meta"]) is not dict:
            return False
    return True


def _json_schema_string_or_integer(value: Any) -> bool:
    # JSON Schema (draft 6+) counts 3.0 as an integer, and never a boolean.
    return type(value) in (str, int) or (type(value) is float and value.is_integer())


def _tool_calls_ok(calls: Any) -> bool:
    if type(calls) is not list:
        return False
    for call in calls:
        if type(call) is not dict or type(call.get("function")) is not dict:
            return False
        function = call["function"]
        if type(function.get("name")) is not str:
            return False
        if "arguments" in function and type(function["arguments"]) not in (str, dict):
            return False
        if any(key in call and type(call[key]) is not str for key in ("id", "type")):
            return False
    return True


def semantic_problems(messages: list[dict[str, Any]]) -> list[Reason]:
    """Checks on a converted conversation that JSON Schema cannot express."""
    problems: list[Reason] = []
    has_tools = any(m["role"] == "tool" or m.get("tool_calls") for m in messages)
    open_calls: set[str] = set()
    previous: str | None = None
    seen_assistant = False
    for index, message in enumerate(messages):
        role = message["role"]
        content = message.get("content")
        text = content if isinstance(content, str) else ""
        if "\x00" in text:
            problems.append(("schema.invalid", f"messages[{index}].content contains a NUL character"))
        if not text.strip() and not (role == "assistant" and message.get("tool_calls")):
            problems.append(("schema.empty-content", f"messages[{index}] ({role}) has empty content"))
        weight = message.get("weight")
        if weight is not None and (isinstance(weight, bool) or weight not in (0, 1)):
            problems.append(("schema.bad-weight", f"messages[{index}].weight is {weight!r}; must be 0 or 1"))
        order = _order_problem(index, role, previous, has_tools)
        if order:
            problems.append(("schema.role-order", order))
        if role == "assistant":
            seen_assistant = True
            for call_index, call in enumerate(message.get("tool_calls") or []):
                call_id = call.get("id")
                if not call_id:
                    problems.append(
                        ("schema.tool-call-id", f"messages[{index}].tool_calls[{call_index}] has no id")
                    )
                else:
                    open_calls.add(call_id)
        elif role == "tool":
            call_id = message.get("tool_call_id")
            if call_id is None and len(open_calls) == 1:
                open_calls.clear()  # a single pending call needs no explicit id (ShareGPT observations)
            elif call_id not in open_calls:
                problems.append(
                    (
                        "schema.tool-call-id",
                        f"messages[{index}] (tool) answers no pending call id {call_id!r}",
                    )
                )
            else:
                open_calls.discard(call_id)
        previous = role
    if not seen_assistant:
        problems.append(("schema.no-assistant", "the conversation has no assistant turn"))
    return problems


def _order_problem(index: int, role: str, previous: str | None, has_tools: bool) -> str | None:
    if role == "system":
        return None if previous is None else f"messages[{index}] is a system message after the first turn"
    if previous in (None, "system"):
        return None if role == "user" else f"messages[{index}] ({role}) comes before any user turn"
    allowed = {
        "user": {"assistant"},
        "assistant": {"user", "tool"} if has_tools else {"user"},
        "tool": {"tool", "assistant"},
    }[previous]
    if role not in allowed:
        return f"messages[{index}] ({role}) follows {previous}; expected {' or '.join(sorted(allowed))}"
    return None


def check_line(
    data: bytes, max_line_bytes: int, format_override: Format | None = None, origin: str = "input"
) -> Checked:
    """Decode and parse one JSONL line, then validate it."""
    data = data.rstrip(b"\r\n")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a UTF-8 BOM, usually on a file's first line
    if len(data) > max_line_bytes:
        return Checked(
            example=None,
            raw=_preview(data),
            reasons=[("schema.line-too-long", f"{len(data):,} bytes; the limit is {max_line_bytes:,}")],
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        return Checked(
            example=None,
            raw=data.decode("utf-8", errors="replace"),
            reasons=[("schema.invalid-utf8", invalid_utf8_message(data, error.start))],
        )
    try:
        record = orjson.loads(text)
    except orjson.JSONDecodeError as error:
        message = str(error)
        if "recursion" in message.lower() or "depth limit" in message.lower():
            return Checked(
                example=None, raw=text, reasons=[("schema.too-deep", "nesting deeper than 1024 levels")]
            )
        return Checked(
            example=None, raw=text, reasons=[("schema.invalid-json", _json_message(text, message))]
        )
    checked = check_record(record, format_override, origin)
    if checked.raw is not None:
        checked.raw = text
    return checked


def invalid_utf8_message(data: bytes, offset: int) -> str:
    """Name the byte's value and where it is: "byte 0xC3 at offset 194 ..."."""
    return f"byte 0x{data[offset]:02X} at offset {offset} is not valid UTF-8"


# JSON's non-numbers, which Python's json writes by default and orjson rightly refuses.
_NOT_A_NUMBER = re.compile(r"(?<![\w\"])(-?Infinity|NaN)(?![\w\"])")


def _json_message(text: str, message: str) -> str:
    """orjson's message, but a NaN or Infinity named as such, not as "unexpected character"."""
    at = re.search(r"\(char (\d+)\)", message)
    if at is not None:
        found = _NOT_A_NUMBER.match(text, int(at.group(1)))
        if found is not None:
            where = message[message.index("line ") :] if "line " in message else f"char {at.group(1)}"
            return f"{found.group(1)} is not valid JSON (JSON has no NaN or Infinity): {where}"
    return message


def _preview(data: bytes, limit: int = 2048) -> str:
    """Keep rejected.jsonl readable: a multi-MB line is stored truncated, and says so."""
    head = data[:limit].decode("utf-8", errors="replace")
    return f"{head}... [{len(data):,} bytes, truncated]"


def _dump_text(value: Any) -> str:
    try:
        return orjson.dumps(value).decode()
    except TypeError:
        return repr(value)
