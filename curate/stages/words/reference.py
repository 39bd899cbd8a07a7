"""The tokeniser as its definition: polars regexes over normalised text, and the word hash in
plain Python. Tests hold the compiled loops equal to this; builds use it only for the rows the
compiled loops leave (leakage's non-ASCII text).

Normalising and matching character classes is left to polars because the definitions are
polars' own (its NFKC, its lower case, its regex Unicode tables); Python's ``unicodedata`` and
``re`` follow an older Unicode version and know no ``\\p{L}``.
"""

from __future__ import annotations

from typing import Final

import polars as pl

from curate.stages.words.rules import WordRules

_MASK: Final = (1 << 64) - 1
_WORD_OFFSET: Final = 0xCBF29CE484222325
_WORD_PRIME: Final = 0x9E3779B97F4A7C15


def normalised(texts: pl.Series, rules: WordRules) -> pl.Series:
    """The texts as ``rules`` split them: NFKC-normalised and lower-cased where they ask."""
    texts = texts.cast(pl.Utf8).fill_null("")
    if rules.nfkc:
        texts = texts.str.normalize("NFKC")
    if rules.fold == "text":
        texts = texts.str.to_lowercase()
    return texts


def split(texts: pl.Series, rules: WordRules) -> pl.Series:
    """Each text's words as a list of strings, before any per-word lower-casing (a null text
    has none)."""
    return normalised(texts, rules).str.extract_all(rules.pattern)


def hashed_form(words: pl.Series, rules: WordRules) -> pl.Series:
    """The words (a flat string series) as their hashes read them: lower-cased where the rules
    fold each word."""
    return words.str.to_lowercase() if rules.fold == "words" else words


def mix64(x: int) -> int:
    """splitmix64 finaliser."""
    x ^= x >> 30
    x = (x * 0xBF58476D1CE4E5B9) & _MASK
    x ^= x >> 27
    x = (x * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def word_hash(word: str, seed: int = 0) -> int:
    """The 64-bit hash of a word's UTF-8 bytes: packed eight to a 64-bit lane, each full lane
    folded in with one multiply, the last (partial) lane and a splitmix64 finish."""
    h = _WORD_OFFSET ^ mix64(seed)
    packed = filled = 0
    for byte in word.encode():
        packed = ((packed << 8) | byte) & _MASK
        filled += 1
        if filled == 8:
            h = ((h ^ packed) * _WORD_PRIME) & _MASK
            packed = filled = 0
    return mix64(((h ^ packed) * _WORD_PRIME) & _MASK)
