"""Strings between numpy buffers and polars without pyarrow: both ways, and who owns the bytes."""

from __future__ import annotations

import gc

import numpy as np
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from curate.core.utf8 import utf8_buffers
from curate.ingest import arrow_c
from curate.ingest.arrow_c import large_strings

# Short texts live inside polars' views, longer ones (over 12 bytes) point into our buffer.
TEXTS = ["", "a", "héllo", "exactly12byt", "thirteen byte", "中文 and a longer sentence 😀", "\x00x"]


def buffers_of(texts: list[str]) -> tuple[np.ndarray, np.ndarray]:
    encoded = [t.encode() for t in texts]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    return np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(), offsets


@given(st.lists(st.one_of(st.sampled_from(TEXTS), st.text(max_size=40)), max_size=30))
def test_buffers_become_the_same_strings_and_back(texts: list[str]) -> None:
    text, offsets = buffers_of(texts)
    series = large_strings(text, offsets)
    assert series.dtype == pl.String and series.to_list() == texts
    data, back = utf8_buffers(series)
    assert data.dtype == np.uint8 and back.dtype == np.int64
    assert bytes(data) == bytes(text) and back.tolist() == offsets.tolist()


def test_validity_bitmap_makes_nulls_where_its_bit_is_zero() -> None:
    texts = ["keep me, I am long enough", "", "dropped", "x", "y"]
    text, offsets = buffers_of(texts)
    valid = np.array([True, False, False, True, True])
    series = large_strings(text, offsets, np.packbits(valid, bitorder="little"))
    assert series.to_list() == ["keep me, I am long enough", None, None, "x", "y"]
    assert series.null_count() == 2


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


def test_buffers_are_held_while_polars_uses_them_and_released_after() -> None:
    gc.collect()
    before = len(arrow_c._HELD)
    text, offsets = buffers_of(["a text longer than twelve bytes", "and another long one here"])
    series = large_strings(text, offsets)
    part = series.slice(1, 1)  # a slice shares the buffers: polars must keep them
    del series, text, offsets
    gc.collect()
    assert len(arrow_c._HELD) == before + 1
    assert part.to_list() == ["and another long one here"]
    del part
    gc.collect()
    assert len(arrow_c._HELD) == before


BYTES = np.zeros(6, dtype=np.uint8)
ENDS = np.array([0, 3], dtype=np.int64)


@pytest.mark.parametrize(
    ("text", "offsets", "validity", "error"),
    [
        (BYTES.view(np.int8), ENDS, None, TypeError),
        (BYTES, ENDS.astype(np.int32), None, TypeError),
        (BYTES, np.array([0, 7], dtype=np.int64), None, ValueError),  # past the end of the text
        (BYTES, np.array([], dtype=np.int64), None, ValueError),
        (BYTES[::2], ENDS, None, ValueError),
        (BYTES, np.array([0, 1, 2, 3, 4, 5, 6, 6, 6, 6], dtype=np.int64), np.ones(1, np.uint8), ValueError),
        (BYTES, ENDS, np.ones(4, np.uint8)[::2], ValueError),
        (BYTES, ENDS, np.ones(1, np.int8), ValueError),
    ],
)
def test_buffers_that_cannot_be_a_string_column_are_refused(
    text: np.ndarray, offsets: np.ndarray, validity: np.ndarray | None, error: type[Exception]
) -> None:
    before = len(arrow_c._HELD)
    with pytest.raises(error):
        large_strings(text, offsets, validity)
    assert len(arrow_c._HELD) == before
