"""A string column as the raw UTF-8 bytes and offsets that compiled loops read."""

from __future__ import annotations

import numpy as np
import polars as pl


def utf8_buffers(texts: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The UTF-8 bytes of a string series and each text's offsets into them (no copy beyond
    arrow's own); a null is an empty text."""
    array = texts.cast(pl.Utf8).fill_null("").rechunk().to_arrow(compat_level=pl.CompatLevel.oldest())
    _, offsets_buffer, data_buffer = array.buffers()
    offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[array.offset : array.offset + len(array) + 1]
    data = np.frombuffer(data_buffer, dtype=np.uint8) if data_buffer is not None else np.zeros(0, np.uint8)
    return data, offsets
