"""Compiled test of which texts a phone, card or SSN pattern can match in.

Every match of those patterns is a stretch of digits and a few separators (``+ .()-`` for
phones, space and hyphen for cards, hyphen for SSNs) holding some least number of digits. The
most digits in any such stretch of a text bounds what can match there: counting all of a
text's digits instead left a fifth of Alpaca's rows to the phone pattern, mostly for numbers
in prose and maths. The patterns' ``\\d`` matches any script's digits, and those are all
non-ASCII: every non-ASCII byte counts as a digit that continues any stretch, which can only
count more digits than there are.
"""

from __future__ import annotations

from typing import Final

import numpy as np
from numba import njit

# Columns of the output, one per pattern, in this order.
PHONE: Final = 0
CARD: Final = 1
SSN: Final = 2
_KINDS: Final = 3
_DIGIT: Final = 8


def _byte_kinds() -> np.ndarray:
    """Byte -> bit ``1 << kind`` where the pattern of that kind can span it, and 8 for digits."""
    kinds = np.zeros(256, dtype=np.uint8)
    for kind, separators in ((PHONE, " .()+-"), (CARD, " -"), (SSN, "-")):
        for char in separators:
            kinds[ord(char)] |= 1 << kind
    for digit in range(ord("0"), ord("9") + 1):
        kinds[digit] = _DIGIT | 0b111
    kinds[0x80:] = _DIGIT | 0b111  # maybe part of a non-ASCII digit
    return kinds


_BYTE_KINDS: Final = _byte_kinds()


@njit(cache=True, nogil=True)
def _digits(data: np.ndarray, start: int, stop: int) -> int:
    """How many bytes of ``data[start:stop]`` are ASCII digits or non-ASCII. Branch-free, so
    the compiler vectorises it."""
    digits = 0
    for k in range(start, stop):
        b = data[k]
        digits += int((np.uint8(b - np.uint8(0x30)) < np.uint8(10)) | (b >= np.uint8(0x80)))
    return digits


@njit(cache=True, nogil=True)
def digit_runs(data: np.ndarray, offsets: np.ndarray, least: int) -> np.ndarray:
    """Per text and pattern, the most digits (non-ASCII bytes counted as digits) in one stretch
    the pattern can span. Texts with fewer than ``least`` in all (most) are not walked stretch
    by stretch: their count is that total, which rules them out the same."""
    rows = len(offsets) - 1
    out = np.zeros((rows, _KINDS), dtype=np.int64)
    for i in range(rows):
        digits = _digits(data, offsets[i], offsets[i + 1])
        if digits < least:
            out[i, :] = digits
            continue
        # Counts in locals, one per pattern: arrays would cost a store a byte.
        phone = card = ssn = 0  # digits in the current stretch
        most_phone = most_card = most_ssn = 0
        for k in range(offsets[i], offsets[i + 1]):
            kind = _BYTE_KINDS[data[k]]
            if kind == 0:  # most bytes (letters) end every stretch
                phone = card = ssn = 0
                continue
            digit = (kind >> 3) & 1
            phone = phone + digit if kind & (1 << PHONE) else 0
            card = card + digit if kind & (1 << CARD) else 0
            ssn = ssn + digit if kind & (1 << SSN) else 0
            most_phone = max(most_phone, phone)
            most_card = max(most_card, card)
            most_ssn = max(most_ssn, ssn)
        out[i, PHONE] = most_phone
        out[i, CARD] = most_card
        out[i, SSN] = most_ssn
    return out
