"""The compiled scan of plain chat lines gives exactly what the Python path gives.

Every line is judged twice, by the compiled lane and by the reference (``compiled=False``),
over generated records written in the JSON styles real files use, with the characters that
trip canonicalisation up (escapes, control characters, combining marks, Hangul, astral
characters, Unicode spaces). The frames must be equal row for row, texts read back from
their spans included.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import orjson
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from polars.testing import assert_frame_equal

from curate.core.frame import BASE_SCHEMA
from curate.ingest.inputs import InputSpec, ingest
from curate.ingest.store import with_examples
from tests.conftest import shared_file

PIECES = [
    "a", "Hello world.", " ", "  ", "\n", "\t", "\r", "\x0b", "\x0c", "\x1c", "\x1f", "\x01", "\x7f",
    "\x00", "é", "e\u0301", "Σ", "ϲ", "ﬁ", "½", "中", "\u00a0", "\u0085", "\u2028", "\u3000", "\u200b",
    "😀", "\\", '"', "/", "İ", "\u1100\u1161", "가", "\ufeff", "x" * 30,
]  # fmt: skip
# Columns whose values are in the frame itself; the span columns say where a text lives.
COMPARED = [c for c in BASE_SCHEMA if c not in ("span_start", "span_len", "verbatim", "content_bytes")]

text = st.lists(st.sampled_from(PIECES), max_size=8).map("".join)
role = st.sampled_from(["user", "assistant", "system", "user", "assistant", "tool", "bot"])


@st.composite
def records(draw: st.DrawFn) -> Any:
    messages: list[dict[str, Any]] = []
    for turn in range(draw(st.integers(0, 5))):
        message: dict[str, Any] = {
            "role": draw(role) if draw(st.integers(0, 9)) == 0 else ("user", "assistant")[turn % 2],
            "content": draw(text) + draw(st.sampled_from(["ok", "é", "", " x "])),
        }
        if draw(st.integers(0, 19)) == 0:
            message = dict(reversed(message.items()))  # content before role: not canonical
        if draw(st.integers(0, 19)) == 0:
            message["weight"] = 1
        messages.append(message)
    record: dict[str, Any] = {"messages": messages}
    if draw(st.booleans()):
        record = {
            "id": draw(st.sampled_from([0, -5, 12, 10**17, "abc", 'a"b', "é", 3.0, None, "-0"])),
            **record,
        }
    if draw(st.integers(0, 19)) == 0:
        record["meta"] = {"topic": "x"}
    return record


def line_of(record: Any, style: int) -> str:
    compact = orjson.dumps(record).decode()
    return [
        compact,
        json.dumps(record),  # Python's default: spaces and \\u escapes
        json.dumps(record, ensure_ascii=False),
        json.dumps(record, separators=(",", ":"), ensure_ascii=False),
        json.dumps(record).replace(": ", " :\t "),
        compact[:-2],  # truncated
        "  " + compact + " \r",
        "",
    ][style]


def both_ways(path: Path, origin: str = "input") -> tuple[pl.DataFrame, pl.DataFrame]:
    specs = [InputSpec(str(path), origin)]
    compiled, _ = ingest(specs, 1 << 20, parallel=False)
    reference, _ = ingest(specs, 1 << 20, parallel=False, compiled=False)
    return with_examples(compiled), reference


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(records(), st.integers(0, 7)), min_size=1, max_size=40))
def test_compiled_lines_equal_the_python_path(tmp_path: Path, lines: list[tuple[Any, int]]) -> None:
    path = tmp_path / "chats.jsonl"
    path.write_text("\n".join(line_of(record, style) for record, style in lines) + "\n", encoding="utf-8")
    compiled, reference = both_ways(path)
    assert_frame_equal(compiled.select(COMPARED), reference.select(COMPARED))


def test_the_compiled_lane_takes_plain_lines_and_reads_them_back(tmp_path: Path) -> None:
    plain = {
        "id": 7,
        "messages": [{"role": "user", "content": "Hi\tthere"}, {"role": "assistant", "content": "Hello é"}],
    }
    spaced = json.dumps(plain)  # \\u00e9 and spaces: not verbatim, rewritten when read back
    path = tmp_path / "chats.jsonl"
    path.write_bytes(b"\xef\xbb\xbf" + orjson.dumps(plain) + b"\n\n" + spaced.encode() + b"\r\n")
    frame, _ = ingest([InputSpec(str(path), "input")], 1 << 20, parallel=False)
    assert frame["line"].to_list() == [1, 3]
    # The first line has a BOM: the Python path judges it; the third is taken by the scan.
    assert frame["span_start"].to_list()[0] is None and frame["span_start"].to_list()[1] is not None
    assert frame["example"].to_list()[1] is None
    assert frame["verbatim"].to_list()[1] is False
    filled = with_examples(frame)
    assert filled["example"].to_list() == [orjson.dumps({"messages": plain["messages"]}).decode()] * 2
    assert filled["id"].n_unique() == 1 and filled["source_id"].to_list() == ["7", "7"]


def test_a_file_changed_under_the_build_is_reported(tmp_path: Path) -> None:
    from curate.core.errors import CurateError

    path = tmp_path / "chats.jsonl"
    record = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    path.write_bytes(orjson.dumps(record) + b"\n")
    frame, _ = ingest([InputSpec(str(path), "input")], 1 << 20, parallel=False)
    path.write_bytes(b"x" * 10)
    with pytest.raises(CurateError, match="changed during the build"):
        with_examples(frame)


def test_general_rows_and_gzip_keep_their_text(tmp_path: Path) -> None:
    import gzip

    record = {"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]}
    plain = tmp_path / "general.jsonl"
    plain.write_bytes(orjson.dumps(record) + b"\n")
    zipped = tmp_path / "chats.jsonl.gz"
    zipped.write_bytes(gzip.compress(orjson.dumps(record) + b"\n"))
    general, _ = ingest([InputSpec(str(plain), "general")], 1 << 20)
    assert '"source":"general"' in general["example"][0]
    frame, _ = ingest([InputSpec(str(zipped), "input")], 1 << 20)
    assert frame["span_start"][0] is None and frame["example"][0] == orjson.dumps(record).decode()


def test_real_alpaca_equals_the_python_path() -> None:
    path = shared_file("alpaca.jsonl")
    specs = [InputSpec(str(path), "input")]
    compiled, _ = ingest(specs, 16_000_000)
    reference, _ = ingest(specs, 16_000_000, compiled=False)
    assert compiled["span_start"].null_count() < 100  # nearly every line takes the compiled lane
    assert_frame_equal(with_examples(compiled).select(COMPARED), reference.select(COMPARED))
