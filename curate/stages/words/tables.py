"""The tables the compiled tokeniser reads a rule set through, made once per process.

``classes``: code point -> class flags (word character, digit, capital), asked of polars' own
regex engine so the compiled loop and the reference (polars regexes) agree on every character.
``reading``: for rules that normalise, how each common non-ASCII character reads once the text
is normalised (NFKC, lower-cased): accented letters to their lower-case form, typographic
quotes, dashes and bullets to a separator, ``²`` to ``2``, ``ﬁ`` to ``fi``. A character whose
reading depends on its neighbours (combining marks, Hangul jamo, capital sigma's final form) or is
mixed (``½`` reads ``1⁄2``) is marked SLOW, as is anything at or above ``READ_END``: texts holding
one are normalised by polars first.
"""

from __future__ import annotations

import functools
import threading
import unicodedata
from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from curate.stages.words.kernels import DIGIT, SLOW, UPPER, WORD
from curate.stages.words.rules import WordRules

MAX_CODE_POINT: Final = 0x10FFFF
READ_END: Final = 0x3000  # code points at or above this always take the slow path
# Code points asked of the regex engine at a time: the whole range at once holds every hit as a
# Python string at once.
_CODE_POINTS_AT_ONCE: Final = 1 << 16
_LOCK: Final = threading.Lock()  # threads that need a table make it once, not once each

_CAPITAL_SIGMA: Final = "\u03a3"  # lower-cases to ς at the end of a word, σ elsewhere
_JAMO: Final = ((0x1100, 0x11FF), (0xA960, 0xA97F), (0xD7B0, 0xD7FF))  # compose with neighbours


@dataclass(frozen=True)
class Tables:
    """What ``kernels.split_texts`` and ``kernels.walk_examples`` take for one rule set."""

    classes: np.ndarray  # uint8 flags per code point (only ASCII where ``normalise``)
    fold: np.ndarray  # uint64 per ASCII byte: the byte a word is hashed with
    read_length: np.ndarray  # int8 per code point below its length: SLOW, 0 (separator) or bytes
    read_bytes: np.ndarray  # uint64: the reading's UTF-8 bytes, first byte lowest
    normalise: bool  # non-ASCII characters read through ``read_length``/``read_bytes``
    numbers: bool

    def args(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, bool, bool]:
        return self.classes, self.fold, self.read_length, self.read_bytes, self.normalise, self.numbers


def raw(rules: WordRules) -> Tables:
    """Tables for text as stored. Rules that normalise read ASCII themselves and non-ASCII through
    the reading table where they can (lower-casing each word afterwards needs the word: those
    rules leave every non-ASCII text to the caller)."""
    with _LOCK:
        return _raw(rules)


def normalised(rules: WordRules) -> Tables:
    """Tables for text polars has already normalised as ``rules`` ask (NFKC, lower case)."""
    with _LOCK:
        return _normalised(rules)


@functools.cache
def _raw(rules: WordRules) -> Tables:
    if not (rules.nfkc or rules.fold == "text"):
        return _normalised(rules)
    classes = _classes(rules)
    fold = _fold(rules)
    if rules.fold == "words" or rules.numbers:
        length = np.full(0x80, SLOW, dtype=np.int8)  # every non-ASCII character: the caller's
        return Tables(classes[:0x80].copy(), fold, length, np.zeros(0x80, np.uint64), True, rules.numbers)
    length, packed = _reading(rules, classes)
    return Tables(classes[:0x80].copy(), fold, length, packed, True, rules.numbers)


@functools.cache
def _normalised(rules: WordRules) -> Tables:
    empty = np.zeros(0, dtype=np.int8)
    return Tables(_classes(rules), _fold(rules), empty, np.zeros(0, np.uint64), False, rules.numbers)


def _fold(rules: WordRules) -> np.ndarray:
    table = np.arange(0x80, dtype=np.uint64)
    if rules.fold != "none":
        table[ord("A") : ord("Z") + 1] += np.uint64(0x20)
    return table


@functools.cache
def _classes(rules: WordRules) -> np.ndarray:
    """Code point -> class flags, asked of polars' own regex engine (surrogates: none)."""
    table = np.zeros(MAX_CODE_POINT + 1, dtype=np.uint8)
    asked = [(WORD, rules.word)]
    if rules.numbers:
        asked.append((DIGIT, r"\d"))
    if rules.fold == "words":
        asked.append((UPPER, r"\p{Lu}"))
    for first in range(0, MAX_CODE_POINT + 1, _CODE_POINTS_AT_ONCE):
        last = min(first + _CODE_POINTS_AT_ONCE, MAX_CODE_POINT + 1)
        code_points = np.arange(first, last, dtype=np.uint32)
        code_points = code_points[((code_points < 0xD800) | (code_points > 0xDFFF)) & (code_points > 0)]
        text = pl.Series([code_points.astype("<u4").tobytes().decode("utf-32-le")])
        for flag, char_class in asked:
            hits = text.str.extract_all(char_class).list.join("").item()
            table[np.frombuffer(hits.encode("utf-32-le"), dtype="<u4")] |= np.uint8(flag)
    return table


def _reading(rules: WordRules, classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The reading table, indexed by code point from 0 (ASCII entries are unused: the compiled
    loop reads ASCII itself)."""
    lengths = np.full(READ_END, SLOW, dtype=np.int8)
    packed = np.zeros(READ_END, dtype=np.uint64)
    for code in range(0x80, READ_END):
        lengths[code], packed[code] = _read_one(code, rules, classes)
    return lengths, packed


def _read_one(code: int, rules: WordRules, classes: np.ndarray) -> tuple[int, int]:
    """(length, packed UTF-8 bytes, first byte lowest) of the character's word bytes; SLOW or
    0 (a separator) as the length where it has none of its own."""
    char = chr(code)
    if unicodedata.category(char) in ("Cn", "Cs") or unicodedata.combining(char):
        return SLOW, 0
    normal = unicodedata.normalize("NFKC", char) if rules.nfkc else char
    if _CAPITAL_SIGMA in normal:  # Σ itself, or a character that normalises to it (Ϲ)
        return SLOW, 0
    read = normal.lower() if rules.fold == "text" else normal
    if any(unicodedata.combining(c) or any(a <= ord(c) <= b for a, b in _JAMO) for c in read):
        return SLOW, 0
    kinds = {bool(classes[ord(c)] & WORD) for c in read}
    if kinds == {False}:
        return 0, 0
    encoded = read.encode()
    if kinds != {True} or len(encoded) > 8:
        return SLOW, 0  # part letters, part not ("1⁄2"), or too long to pack
    return len(encoded), int.from_bytes(encoded, "little")
