"""How each common non-ASCII character reads in near-dedup words, as arrays compiled loops index.

The slow path normalises a text with polars (NFKC, lower case, anything but letters and digits to
a space) and takes runs of what is left as words. For most characters below U+3000 that comes
down to a fixed mapping per character: accented letters to their lower-case form, typographic
quotes, dashes and bullets to a space, ``²`` to ``2``, ``ﬁ`` to ``fi``. The table holds that
mapping, so the compiled walk reads such text itself; a character whose reading depends on its
neighbours (combining marks, Hangul jamo, capital sigma's final form) or is mixed (``½`` reads
``1 2``) is marked for the slow path, as is anything above the table.
"""

from __future__ import annotations

import unicodedata
from typing import Final

import numpy as np

FIRST: Final = 0x80
END: Final = 0x3000  # code points at or above this always take the slow path
SLOW: Final = -1  # length marking a character the compiled walk leaves to polars
SEPARATOR: Final = 0

_CAPITAL_SIGMA: Final = "\u03a3"  # lower-cases to ς at the end of a word, σ elsewhere
_JAMO: Final = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))  # compose with neighbours


def _is_word_char(char: str) -> bool:
    return unicodedata.category(char)[0] in "LN"


def _reading(code: int) -> tuple[int, int]:
    """(length, packed UTF-8 bytes, first byte lowest) of the character's word bytes; SLOW or
    SEPARATOR as the length where it has none of its own."""
    char = chr(code)
    if unicodedata.category(char) in ("Cn", "Cs") or unicodedata.combining(char):
        return SLOW, 0
    normal = unicodedata.normalize("NFKC", char)
    if _CAPITAL_SIGMA in normal:  # Σ itself, or a character that normalises to it (Ϲ)
        return SLOW, 0
    read = normal.lower()
    if any(unicodedata.combining(c) or any(a <= ord(c) <= b for a, b in _JAMO) for c in read):
        return SLOW, 0
    kinds = {_is_word_char(c) for c in read}
    if kinds == {False}:
        return SEPARATOR, 0
    encoded = read.encode()
    if kinds != {True} or len(encoded) > 8:
        return SLOW, 0  # part letters, part not ("1⁄2"), or too long to pack
    return len(encoded), int.from_bytes(encoded, "little")


def _tables() -> tuple[np.ndarray, np.ndarray]:
    """Indexed by code point from 0 (ASCII entries are unused: the compiled walk reads ASCII itself)."""
    lengths = np.full(END, SLOW, dtype=np.int8)
    packed = np.zeros(END, dtype=np.uint64)
    for code in range(FIRST, END):
        lengths[code], packed[code] = _reading(code)
    return lengths, packed


READ_LENGTH, READ_BYTES = _tables()
