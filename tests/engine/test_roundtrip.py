"""Hypothesis round-trips: what the readers read and the writers write is the same conversation."""

from __future__ import annotations

import gzip
from pathlib import Path

import fastjsonschema
import orjson
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.core.records import load_schema
from curate.ingest.inputs import InputSpec, ingest
from curate.ingest.store import with_examples
from curate.ingest.validate import chat_shape_ok, check_record
from curate.output.writers import example_lines, rejected_lines

text = st.text(
    st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=60
).filter(lambda s: s.strip() != "")


@st.composite
def conversations(draw: st.DrawFn) -> dict:
    turns = draw(st.integers(1, 3))
    messages = []
    if draw(st.booleans()):
        messages.append({"role": "system", "content": draw(text)})
    for _ in range(turns):
        messages.append({"role": "user", "content": draw(text)})
        assistant = {"role": "assistant", "content": draw(text)}
        if draw(st.booleans()):
            assistant["weight"] = draw(st.sampled_from([0, 1]))
        messages.append(assistant)
    record: dict = {"messages": messages}
    if draw(st.booleans()):
        record["meta"] = {"topic": draw(text)}
    return record


SETTINGS = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)


@SETTINGS
@given(
    records=st.lists(conversations(), min_size=1, max_size=8),
    container=st.sampled_from(["jsonl", "gz", "json", "parquet"]),
)
def test_read_write_read_is_identity(tmp_path_factory, records: list[dict], container: str) -> None:
    folder = tmp_path_factory.mktemp("rt")
    path = (
        folder
        / {"jsonl": "in.jsonl", "gz": "in.jsonl.gz", "json": "in.json", "parquet": "in.parquet"}[container]
    )
    payload = b"\n".join(orjson.dumps(r) for r in records) + b"\n"
    if container == "jsonl":
        path.write_bytes(payload)
    elif container == "gz":
        path.write_bytes(gzip.compress(payload))
    elif container == "json":
        path.write_bytes(orjson.dumps(records))
    else:
        import pyarrow as pa
        import pyarrow.parquet as pq

        # pyarrow infers the struct fields from every row (polars stops at the first rows).
        pq.write_table(pa.Table.from_pylist([{"messages": r["messages"]} for r in records]), path)
        records = [{"messages": r["messages"]} for r in records]
    frame, _ = ingest([InputSpec(str(path), "input")], 1 << 20, parallel=False)
    frame = with_examples(frame)  # JSONL rows keep spans into their file until written
    assert frame["status"].to_list() == ["ok"] * len(records)
    written = [orjson.loads(line) for line in example_lines(frame).to_list()]
    for original, back in zip(records, written, strict=True):
        assert back["messages"] == original["messages"]
        assert back.get("meta") == original.get("meta")
        assert back["id"] == check_record(original).id
    # And the written lines read back to the same ids.
    again = folder / "again.jsonl"
    again.write_text("\n".join(example_lines(frame).to_list()) + "\n")
    frame2, _ = ingest([InputSpec(str(again), "input")], 1 << 20, parallel=False)
    assert frame2["id"].to_list() == frame["id"].to_list()


@SETTINGS
@given(lines=st.lists(st.binary(max_size=80), min_size=1, max_size=10))
def test_rejected_lines_keep_the_raw_text(tmp_path_factory, lines: list[bytes]) -> None:
    folder = tmp_path_factory.mktemp("rej")
    path = folder / "in.jsonl"
    clean = [line.replace(b"\n", b" ").replace(b"\r", b" ") for line in lines]
    path.write_bytes(b"\n".join(b"#" + line for line in clean) + b"\n")  # '#' makes every line invalid JSON
    frame, _ = ingest([InputSpec(str(path), "input")], 1 << 20, parallel=False)
    rejected = [orjson.loads(line) for line in rejected_lines(frame).to_list()]
    assert len(rejected) == len(clean)
    for line, record in zip(clean, rejected, strict=True):
        assert record["raw"] == ("#" + line.decode("utf-8", errors="replace")).rstrip("\r\n").lstrip("\ufeff")
        assert record["reasons"][0]["code"] in ("schema.invalid-json", "schema.invalid-utf8")


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 3)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=5),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(["a", "id", "name"]), inner, max_size=3)
    ),
    max_leaves=6,
)
message_like = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system", "tool", "bot", 3])},
    optional={
        "content": st.none() | st.text(max_size=5) | st.integers(0, 2),
        "weight": st.sampled_from([0, 1, 2, True, 0.5, "1"]),
        "name": st.text(max_size=3) | st.integers(),
        "tool_call_id": st.text(max_size=3) | st.none(),
        "tool_calls": st.lists(
            st.fixed_dictionaries(
                {
                    "function": st.fixed_dictionaries(
                        {"name": st.text(max_size=3) | st.integers()}, optional={"arguments": json_values}
                    )
                },
                optional={"id": st.text(max_size=3) | st.integers()},
            ),
            max_size=2,
        )
        | json_values,
    },
)
record_like = st.fixed_dictionaries(
    {"messages": st.lists(message_like, max_size=3) | json_values},
    optional={
        "tools": st.lists(json_values, max_size=2) | json_values,
        "id": json_values,
        "meta": json_values,
    },
)


@settings(max_examples=400, deadline=None)
@given(record=record_like)
def test_fast_chat_check_agrees_with_the_json_schema(record: dict) -> None:
    validator = fastjsonschema.compile(load_schema("chat"))
    try:
        validator(record)
        schema_ok = True
    except fastjsonschema.JsonSchemaValueException:
        schema_ok = False
    assert chat_shape_ok(record) == schema_ok, record


def test_rejected_schema_matches_rejected_lines(tmp_path: Path) -> None:
    path = tmp_path / "in.jsonl"
    path.write_bytes(b'{"messages": []}\nnot json\n[1]\n')
    frame, _ = ingest([InputSpec(str(path), "input")], 1 << 20, parallel=False)
    validator = fastjsonschema.compile(load_schema("rejected"))
    for line in rejected_lines(frame).to_list():
        validator(orjson.loads(line))


@settings(max_examples=400, deadline=None)
@given(record=record_like | conversations())
def test_fast_lane_agrees_with_the_full_checks(record: dict) -> None:
    from curate.core.records import to_chat
    from curate.ingest.validate import is_plain_valid_chat, semantic_problems

    if not is_plain_valid_chat(record):
        return
    validator = fastjsonschema.compile(load_schema("chat"))
    validator(record)  # raises if the fast lane let a schema-invalid record through
    assert semantic_problems(to_chat(record, "chat")["messages"]) == []


def test_fast_lane_takes_the_common_case() -> None:
    from curate.ingest.validate import is_plain_valid_chat

    assert is_plain_valid_chat(
        {
            "id": 3,
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "q"},
                {"role": "assistant", "content": "a"},
            ],
        }
    )
    assert not is_plain_valid_chat(
        {"messages": [{"role": "user", "content": "q"}, {"role": "user", "content": "a"}]}
    )
    assert not is_plain_valid_chat(
        {"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": " "}]}
    )
