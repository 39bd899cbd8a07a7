"""Strings from numpy buffers through pyarrow: the same strings back, nulls where asked, and
bytes that are not UTF-8 refused on every path that makes a string column of them."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.core.errors import CurateError
from curate.core.utf8 import utf8_buffers
from curate.ingest.fastpath import examples_of_spans, scan, strings
from curate.ingest.store import read_examples, with_examples
from curate.ingest.strings import InvalidTextError, string_series

# Short texts live inside polars' views, longer ones (over 12 bytes) point into our buffer.
TEXTS = ["", "a", "héllo", "exactly12byt", "thirteen byte", "中文 and a longer sentence 😀", "\x00x"]
INVALID = [b"\xff", b"\xc3", b"\xed\xa0\x80", b"ok \xe2\x82", b"\xf8\x88\x80\x80\x80"]  # lone, cut, surrogate


def buffers_of(texts: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    offsets = np.zeros(len(texts) + 1, dtype=np.int64)
    np.cumsum([len(t) for t in texts], out=offsets[1:])
    return np.frombuffer(b"".join(texts), dtype=np.uint8).copy(), offsets


@given(st.lists(st.one_of(st.sampled_from(TEXTS), st.text(max_size=40)), max_size=30))
@settings(deadline=None)  # the first call loads pyarrow
def test_buffers_become_the_same_strings_and_back(texts: list[str]) -> None:
    text, offsets = buffers_of([t.encode() for t in texts])
    series = string_series(text, offsets)
    assert series.dtype == pl.String and series.to_list() == texts
    data, back = utf8_buffers(series)
    assert data.dtype == np.uint8 and back.dtype == np.int64
    assert bytes(data) == bytes(text) and back.tolist() == offsets.tolist()


def test_validity_bitmap_makes_nulls_where_its_bit_is_zero() -> None:
    texts = [b"keep me, I am long enough", b"", b"dropped", b"x", b"y"]
    text, offsets = buffers_of(texts)
    valid = np.array([True, False, False, True, True])
    series = string_series(text, offsets, np.packbits(valid, bitorder="little"))
    assert series.to_list() == ["keep me, I am long enough", None, None, "x", "y"]
    assert series.null_count() == 2


def test_strings_outlive_the_buffers_they_were_made_from() -> None:
    text, offsets = buffers_of([b"a text longer than twelve bytes", b"and another long one here"])
    part = string_series(text, offsets).slice(1, 1)  # a slice shares the buffers: they must stay
    del text, offsets
    assert part.to_list() == ["and another long one here"]


def test_utf8_buffers_reads_nulls_as_empty_and_categoricals_as_text() -> None:
    data, offsets = utf8_buffers(pl.Series(["first text here", None, "", "é"]))
    assert bytes(data) == "first text hereé".encode() and offsets.tolist() == [0, 15, 15, 15, 17]
    data, offsets = utf8_buffers(pl.Series(["b", "a", "b"], dtype=pl.Categorical))
    assert bytes(data) == b"bab" and offsets.tolist() == [0, 1, 2, 3]


def test_utf8_buffers_of_nothing() -> None:
    for series in (pl.Series([], dtype=pl.String), pl.Series([None, None], dtype=pl.String)):
        data, offsets = utf8_buffers(series)
        assert len(data) == 0 and data.dtype == np.uint8
        assert offsets.tolist() == [0] * (len(series) + 1)


def test_utf8_buffers_of_a_series_in_several_chunks() -> None:
    series = pl.concat([pl.Series(["one long text in chunk one"]), pl.Series(["two", None])], rechunk=False)
    assert series.n_chunks() == 2
    data, offsets = utf8_buffers(series)
    assert bytes(data) == b"one long text in chunk onetwo" and offsets.tolist() == [0, 26, 29, 29]


BYTES = np.zeros(6, dtype=np.uint8)
ENDS = np.array([0, 3], dtype=np.int64)


@pytest.mark.parametrize(
    ("text", "offsets", "validity", "error"),
    [
        (BYTES.view(np.int8), ENDS, None, TypeError),
        (BYTES, ENDS.astype(np.int32), None, TypeError),
        (BYTES, np.array([0, 7], dtype=np.int64), None, ValueError),  # past the end of the text
        (BYTES, np.array([], dtype=np.int64), None, ValueError),
        (BYTES, np.array([0, 4, 2], dtype=np.int64), None, InvalidTextError),  # offsets going back
        (BYTES, np.array([0, 1, 2, 3, 4, 5, 6, 6, 6, 6], dtype=np.int64), np.ones(1, np.uint8), ValueError),
        (BYTES, ENDS, np.ones(1, np.int8), ValueError),
    ],
)
def test_buffers_that_cannot_be_a_string_column_are_refused(
    text: np.ndarray, offsets: np.ndarray, validity: np.ndarray | None, error: type[Exception]
) -> None:
    with pytest.raises(error):
        string_series(text, offsets, validity)


@pytest.mark.parametrize("bad", INVALID)
def test_bytes_that_are_not_utf8_are_refused_with_the_row(bad: bytes) -> None:
    text, offsets = buffers_of([b"fine", b"also fine", bad])
    with pytest.raises(InvalidTextError, match="not valid UTF-8.*index 2"):
        string_series(text, offsets, what="the test texts")
    with pytest.raises(InvalidTextError, match="the test texts"):
        string_series(
            text, offsets, np.packbits([True, False, True], bitorder="little"), what="the test texts"
        )


@pytest.mark.parametrize("bad", INVALID)
def test_fast_path_strings_refuse_bytes_that_are_not_utf8(bad: bytes) -> None:
    data = np.frombuffer(b"id-1" + bad, dtype=np.uint8)
    assert strings(data, np.array([0]), np.array([4])).to_list() == ["id-1"]
    with pytest.raises(InvalidTextError):
        strings(data, np.array([0, 4]), np.array([4, len(data)]))


@pytest.mark.parametrize("bad", INVALID)
def test_examples_of_spans_never_hold_bytes_that_are_not_utf8(bad: bytes) -> None:
    good = b'[{"role":"user","content":"hi"}]'
    spans = good + b'[{"role":"user","content":"' + bad + b'"}]'
    data = np.frombuffer(spans, dtype=np.uint8)
    starts, ends = np.array([0, len(good)]), np.array([len(good), len(spans)])
    assert examples_of_spans(data, starts[:1], ends[:1], np.ones(1, np.bool_)).to_list() == [
        '{"messages":[{"role":"user","content":"hi"}]}'
    ]
    with pytest.raises((InvalidTextError, ValueError)):
        examples_of_spans(data, starts, ends, np.ones(2, np.bool_))
    with pytest.raises((InvalidTextError, ValueError)):
        examples_of_spans(data, starts, ends, np.zeros(2, np.bool_))


def _spans_of(path: Path) -> pl.DataFrame:
    data = np.frombuffer(path.read_bytes(), dtype=np.uint8)
    found = scan(data, 1 << 20)
    from curate.ingest.fastpath import fast_frame

    frame = fast_frame(found, data, 0).with_columns(source=pl.lit(str(path)))
    assert frame.height == 2 and frame["example"].null_count() == 2  # the text stays in the file
    return frame


@pytest.mark.parametrize("bad", [b"\xff", b"\xc3", b"\xed\xa0\x80"])
def test_example_text_read_back_from_a_changed_file_is_refused(tmp_path: Path, bad: bytes) -> None:
    path = tmp_path / "chats.jsonl"
    records = [
        {"messages": [{"role": "user", "content": "Say a word."}, {"role": "assistant", "content": word}]}
        for word in ("hello", "world")
    ]
    path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in records))
    frame = _spans_of(path)
    assert with_examples(frame)["example"].str.contains("hello|world").all()
    raw = path.read_bytes()
    at = raw.index(b"world")
    path.write_bytes(raw[:at] + bad + raw[at + len(bad) :])  # same length: the spans still fit
    with pytest.raises(CurateError, match="UTF-8|changed"):
        read_examples(str(path), frame.select("span_start", "span_len", "verbatim"))
    with pytest.raises(CurateError, match="UTF-8|changed"):
        with_examples(frame)
    other = tmp_path / "other.jsonl"
    other.write_bytes(raw)
    mixed = pl.concat([frame.head(1), _spans_of(other).tail(1)])  # two sources: the placing path
    assert with_examples(mixed)["example"].to_list()[0].count("hello") == 1
    with pytest.raises(CurateError, match="UTF-8|changed"):
        with_examples(pl.concat([_spans_of(other).head(1), frame.tail(1)]))
