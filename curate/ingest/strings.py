"""Hand numpy buffers of UTF-8 text to polars as a string column, through pyarrow.

The compiled scans and the example store build texts as bytes back to back and their offsets;
``pa.Array.from_buffers`` wraps those numpy buffers as an Arrow ``large_string`` array without
copying them (pyarrow keeps the numpy arrays alive), and ``pl.from_arrow`` turns it into polars'
string views. Neither checks that the bytes are UTF-8, so this does, once per column, before
polars gets them: a string column polars holds must be valid UTF-8.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from curate.core.errors import CurateError


class InvalidTextError(CurateError):
    """Bytes meant for a string column that are not UTF-8 (or whose offsets do not fit them)."""


def string_series(
    text: np.ndarray, offsets: np.ndarray, validity: np.ndarray | None = None, *, what: str = "text"
) -> pl.Series:
    """The strings ``text[offsets[i]:offsets[i + 1]]`` as a polars series, without copying them.

    ``text`` is uint8 and ``offsets`` int64; ``validity``, where given, is Arrow's little-endian
    bit per row (a 0 bit is a null). Raises ``InvalidTextError`` naming ``what`` and the row where
    the bytes are not valid UTF-8, and ``ValueError`` for buffers that cannot be a column at all.
    """
    # Imported here: the CLI loads this module at start-up (`curate --help` too) and only a build
    # that makes string columns needs pyarrow's libraries.
    import pyarrow as pa

    if text.dtype != np.uint8 or offsets.dtype != np.int64:
        raise TypeError(f"need uint8 text and int64 offsets, got {text.dtype} and {offsets.dtype}")
    if len(offsets) == 0 or offsets[-1] > len(text):
        raise ValueError("offsets need an entry at least, and the last must end within the text")
    rows = len(offsets) - 1
    if validity is not None and (validity.dtype != np.uint8 or len(validity) * 8 < rows):
        raise ValueError("validity must be a uint8 bitmap with a bit per row")
    buffers = [
        None if validity is None else pa.py_buffer(np.ascontiguousarray(validity)),
        pa.py_buffer(np.ascontiguousarray(offsets)),
        pa.py_buffer(np.ascontiguousarray(text)),
    ]
    array = pa.Array.from_buffers(pa.large_string(), rows, buffers, null_count=0 if validity is None else -1)
    try:
        array.validate(full=True)
    except pa.ArrowInvalid as error:
        raise InvalidTextError(
            f"{what} is not valid UTF-8 ({error})",
            hint="the input changed while the build read it, or a compiled scan let bad bytes through: "
            "run the build again, and report it if it persists",
        ) from None
    series = pl.from_arrow(array)
    assert isinstance(series, pl.Series)
    return series
