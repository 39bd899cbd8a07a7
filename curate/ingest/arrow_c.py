"""Hand numpy buffers to polars as a string column through the Arrow C data interface.

polars takes any object with ``__arrow_c_array__`` (the Arrow PyCapsule protocol) and keeps
its buffers without copying them (a large_string column becomes polars' string views pointing
into our data buffer). Doing it here with ctypes rather than through pyarrow keeps pyarrow out
of builds of JSONL files: loading it made a build's process 35 to 50 MB larger (its shared
libraries, resident once loaded, and its allocations at import).

Ownership follows the C data interface: the numpy arrays stay alive in ``_HELD`` until polars
calls the array's ``release``, which happens when the last polars column using them is freed.
pyarrow's own buffers did the same (their release takes the GIL to drop the numpy array).
"""

from __future__ import annotations

import ctypes
import itertools
from typing import Final

import numpy as np
import polars as pl

# Flag of ArrowSchema.flags: the column may hold nulls.
_NULLABLE: Final = 2


class _ArrowSchema(ctypes.Structure):
    _fields_ = (
        ("format", ctypes.c_char_p),
        ("name", ctypes.c_char_p),
        ("metadata", ctypes.c_char_p),
        ("flags", ctypes.c_int64),
        ("n_children", ctypes.c_int64),
        ("children", ctypes.c_void_p),
        ("dictionary", ctypes.c_void_p),
        ("release", ctypes.c_void_p),
        ("private_data", ctypes.c_void_p),
    )


class _ArrowArray(ctypes.Structure):
    _fields_ = (
        ("length", ctypes.c_int64),
        ("null_count", ctypes.c_int64),
        ("offset", ctypes.c_int64),
        ("n_buffers", ctypes.c_int64),
        ("n_children", ctypes.c_int64),
        ("buffers", ctypes.c_void_p),
        ("children", ctypes.c_void_p),
        ("dictionary", ctypes.c_void_p),
        ("release", ctypes.c_void_p),
        ("private_data", ctypes.c_void_p),
    )


_RELEASE = ctypes.CFUNCTYPE(None, ctypes.c_void_p)
# What each exported array keeps alive (its numpy buffers and the pointer list naming them),
# under the token its private_data carries: polars moves the struct, so its address changes.
_HELD: dict[int, object] = {}
_TOKENS = itertools.count(1)


@_RELEASE
def _release_array(address: int) -> None:
    array = _ArrowArray.from_address(address)
    _HELD.pop(array.private_data, None)
    array.release = None  # marks the struct released, as the interface requires


@_RELEASE
def _release_schema(address: int) -> None:
    _ArrowSchema.from_address(address).release = None  # it owns nothing: its strings are ours


_RELEASE_ARRAY: Final = ctypes.cast(_release_array, ctypes.c_void_p).value
_RELEASE_SCHEMA: Final = ctypes.cast(_release_schema, ctypes.c_void_p).value

_capsule = ctypes.pythonapi.PyCapsule_New
_capsule.restype = ctypes.py_object
_capsule.argtypes = (ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p)


class _LargeStrings:
    """One large_string array over numpy buffers, offered to polars once."""

    def __init__(self, text: np.ndarray, offsets: np.ndarray, validity: np.ndarray | None) -> None:
        self.schema = _ArrowSchema(format=b"U", name=b"", flags=_NULLABLE, release=_RELEASE_SCHEMA)
        pointers = (ctypes.c_void_p * 3)(
            None if validity is None else validity.ctypes.data, offsets.ctypes.data, text.ctypes.data
        )
        token = next(_TOKENS)
        _HELD[token] = (text, offsets, validity, pointers)
        self.array = _ArrowArray(
            length=len(offsets) - 1,
            null_count=0 if validity is None else -1,  # -1: not computed; polars counts the bitmap
            n_buffers=3,
            buffers=ctypes.addressof(pointers),
            release=_RELEASE_ARRAY,
            private_data=token,
        )

    def __arrow_c_array__(self, requested_schema: object = None) -> tuple[object, object]:
        # No capsule destructors: the structs live as long as this object, and release_unused
        # releases the array if polars did not take it.
        return (
            _capsule(ctypes.addressof(self.schema), b"arrow_schema", None),
            _capsule(ctypes.addressof(self.array), b"arrow_array", None),
        )

    def release_unused(self) -> None:
        if self.array.release:
            _release_array(ctypes.addressof(self.array))


def large_strings(text: np.ndarray, offsets: np.ndarray, validity: np.ndarray | None = None) -> pl.Series:
    """The strings ``text[offsets[i]:offsets[i + 1]]`` as a polars series, without copying them.

    ``text`` is uint8 and ``offsets`` int64, both C-contiguous; ``validity``, where given, is
    the little-endian bit per row of Arrow (a 0 bit is a null). The texts must be valid UTF-8:
    polars does not check them on import (nor did pyarrow's ``from_buffers``), and the compiled
    scans that make them only write UTF-8 they have checked.
    """
    if text.dtype != np.uint8 or offsets.dtype != np.int64:
        raise TypeError(f"need uint8 text and int64 offsets, got {text.dtype} and {offsets.dtype}")
    if not all(a.flags.c_contiguous for a in (text, offsets, validity) if a is not None):
        raise ValueError("text, offsets and validity must be contiguous")
    if len(offsets) == 0 or offsets[-1] > len(text):
        raise ValueError("offsets need an entry at least, and the last must end within the text")
    if validity is not None and (validity.dtype != np.uint8 or len(validity) * 8 < len(offsets) - 1):
        raise ValueError("validity must be a uint8 bitmap with a bit per row")
    exported = _LargeStrings(text, offsets, validity)
    try:
        return pl.Series(exported)
    finally:
        exported.release_unused()
