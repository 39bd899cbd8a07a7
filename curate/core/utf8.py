"""A string column as the raw UTF-8 bytes and offsets that compiled loops read."""

from __future__ import annotations

import numpy as np
import polars as pl


def utf8_buffers(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of a string series and each text's offsets into them; a null is an empty
    text. The bytes are one copy of the texts, made by polars, and read-only.

    polars keeps strings as views over scattered buffers; as lists of bytes they lie back to
    back, and flattening those lists gives their values without another copy.
    """
    filled = texts.cast(pl.Utf8).fill_null("").rechunk()  # an exploded null list would be a value
    lengths = filled.str.len_bytes().to_numpy()
    offsets = np.zeros(len(filled) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    as_bytes = filled.cast(pl.Binary).cast(pl.List(pl.UInt8))
    data = as_bytes.explode(empty_as_null=False, keep_nulls=False).to_numpy()
    return data, offsets
