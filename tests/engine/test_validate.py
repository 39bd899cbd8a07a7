"""Validation: every defect gets its own reason code and a message that says where."""

from __future__ import annotations

import orjson
import pytest

from curate.ingest.validate import check_line, check_record


def codes(record: object) -> list[str]:
    return [code for code, _ in check_record(record).reasons]


def chat(*turns: tuple[str, str], **extra: object) -> dict[str, object]:
    return {"messages": [{"role": r, "content": c} for r, c in turns], **extra}


def test_valid_chat_has_id_and_canonical_example() -> None:
    checked = check_record(chat(("user", "hi"), ("assistant", "hello"), id=7))
    assert checked.reasons == []
    assert checked.source_id == "7"
    assert orjson.loads(checked.example) == {
        "messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    }
    assert len(checked.id) == 16


@pytest.mark.parametrize(
    ("record", "code"),
    [
        (chat(("user", "hi"), ("assistant", "")), "schema.empty-content"),
        (chat(("user", "hi"), ("assistant", "   \n")), "schema.empty-content"),
        (chat(("usr", "hi"), ("assistant", "x")), "schema.unknown-role"),
        (chat(("user", "a"), ("user", "b"), ("assistant", "c")), "schema.role-order"),
        (
            chat(
                ("assistant", "a"),
            ),
            "schema.role-order",
        ),
        (
            chat(("user", "a"), ("assistant", "b"), ("system", "c"), ("user", "d"), ("assistant", "e")),
            "schema.role-order",
        ),
        (
            chat(
                ("user", "only a question"),
            ),
            "schema.no-assistant",
        ),
        ({"messages": []}, "schema.no-messages"),
        ({"messages": "hi"}, "schema.no-messages"),
        ({"prompt": "x", "completion": "y"}, "schema.unknown-format"),
        (
            {"messages": [{"role": "user", "content": 5}, {"role": "assistant", "content": "x"}]},
            "schema.invalid",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a", "weight": 2},
                ]
            },
            "schema.bad-weight",
        ),
        (
            {
                "messages": [
                    {"role": "user", "content": "q"},
                    {"role": "assistant", "content": "a", "weight": True},
                ]
            },
            "schema.bad-weight",
        ),
        (
            {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a\x00b"}]},
            "schema.invalid",
        ),
        ([1, 2], "schema.not-object"),
        ("text", "schema.not-object"),
    ],
)
def test_defects_get_their_code(record: object, code: str) -> None:
    assert code in codes(record)


def test_tool_calls_must_pair() -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
    good = {
        "messages": [
            {"role": "user", "content": "where is my order?"},
            {"role": "assistant", "content": None, "tool_calls": [call]},
            {"role": "tool", "tool_call_id": "call_1", "content": "shipped"},
            {"role": "assistant", "content": "It shipped."},
        ]
    }
    assert codes(good) == []
    no_id = orjson.loads(orjson.dumps(good))
    del no_id["messages"][1]["tool_calls"][0]["id"]
    no_id["messages"][2]["tool_call_id"] = "call_9"
    assert "schema.tool-call-id" in codes(no_id)
    orphan = orjson.loads(orjson.dumps(good))
    orphan["messages"][2]["tool_call_id"] = "call_2"
    assert "schema.tool-call-id" in codes(orphan)


def test_sharegpt_and_alpaca_convert_to_the_same_example_as_chat() -> None:
    as_chat = check_record(chat(("user", "Name a colour."), ("assistant", "Blue.")))
    as_sharegpt = check_record(
        {"conversations": [{"from": "human", "value": "Name a colour."}, {"from": "gpt", "value": "Blue."}]}
    )
    as_alpaca = check_record({"instruction": "Name a colour.", "input": "", "output": "Blue."})
    assert as_chat.id == as_sharegpt.id == as_alpaca.id
    assert as_chat.example == as_sharegpt.example == as_alpaca.example


def test_id_ignores_key_order_and_meta_but_not_content() -> None:
    a = check_record({"messages": [{"content": "q", "role": "user"}, {"role": "assistant", "content": "a"}]})
    b = check_record(
        {
            "meta": {"x": 1},
            "messages": [{"role": "user", "content": "q"}, {"content": "a", "role": "assistant"}],
        }
    )
    c = check_record(chat(("user", "q"), ("assistant", "a!")))
    assert a.id == b.id != c.id


def test_dedup_key_ignores_spacing_but_id_does_not() -> None:
    a = check_record(chat(("user", "What  is\n2+2?"), ("assistant", "4")))
    b = check_record(chat(("user", "What is 2+2? "), ("assistant", "4")))
    assert a.key == b.key and a.id != b.id


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b'{"messages": [truncated', "schema.invalid-json"),
        (b'{"messages": [], }', "schema.invalid-json"),
        (b'{"x": NaN}', "schema.invalid-json"),
        (b"\xff\xfe{}", "schema.invalid-utf8"),
        (b"[" * 5000 + b"]" * 5000, "schema.too-deep"),
        (b'{"messages": "' + b"x" * 200 + b'"}', "schema.line-too-long"),
        (b'{"a": "nul\x00byte"}', "schema.invalid-json"),
    ],
    ids=["truncated", "trailing-comma", "nan", "invalid-utf8", "deep-nesting", "too-long", "raw-nul"],
)
def test_bad_lines(data: bytes, code: str) -> None:
    checked = check_line(data, max_line_bytes=100 if code == "schema.line-too-long" else 1 << 20)
    assert [c for c, _ in checked.reasons] == [code]
    assert checked.raw is not None and checked.example is None


def test_bom_and_crlf_are_tolerated() -> None:
    line = b'\xef\xbb\xbf{"messages":[{"role":"user","content":"q"},{"role":"assistant","content":"a"}]}\r\n'
    assert check_line(line, 1 << 20).reasons == []


def test_huge_line_raw_is_truncated_preview() -> None:
    checked = check_line(b'{"a":"' + b"y" * 5_000_000 + b'"}', max_line_bytes=1_000_000)
    assert checked.raw is not None and len(checked.raw) < 3000 and "truncated" in checked.raw
