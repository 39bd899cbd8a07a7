"""Texts as arrays of hashed words, and hashes of every word window, all vectorised.

Words are read by leakage's rules (``curate.stages.words.rules.LEAKAGE``) through the shared
tokeniser: its compiled walk over the example JSON, or its reference (polars regexes) for text
the walk leaves. Hashing windows happens in numpy with a polynomial hash over prefix sums, so
an n-gram of any length costs two vector operations and two documents share a window hash
exactly when they share the words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Final

import numpy as np
import polars as pl

from curate.core.frame import Which, text_expr
from curate.stages.leakage.kernels import key_table, window_hits
from curate.stages.words import reference
from curate.stages.words.examples import walk
from curate.stages.words.kernels import DIGIT, UPPER
from curate.stages.words.rules import LEAKAGE
from curate.stages.words.texts import TextWords, hash_split, hash_strings, reference_words

# A number with its separators is one token ("3.5", "1,000"), so masking it is one word whichever
# way a rewrite writes it; everything else is a run of word characters (Unicode-aware).
TOKEN: Final = LEAKAGE.pattern
# Template rewrites change names, numbers and with the name often the pronouns.
PRONOUNS: Final = ("he", "she", "him", "her", "his", "hers", "himself", "herself")
PLACEHOLDERS: Final = ("<num>", "<name>", "<pron>")  # masking's stand-ins: number, name, pronoun

_R: Final = 0x9E3779B97F4A7C15  # odd, so it has an inverse modulo 2**64
_R_INV: Final = pow(_R, -1, 2**64)


@dataclass
class Words:
    """Hashed words of many documents, flattened: document d is ``hashes[offsets[d]:offsets[d+1]]``."""

    offsets: np.ndarray  # int64, one more than the number of documents
    hashes: np.ndarray  # uint64 word hashes
    # Words that carry little evidence on their own: single characters ("a", "4": option labels,
    # digit lists) or, in masked text, the placeholders. Windows made mostly of them are generic.
    weak: np.ndarray | None = None  # bool per word

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def windows(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Every n-word window that fits inside one document: (document, start position, hash).

        The start position counts words from the start of its document.
        """
        docs, starts, window = self._windows(n)
        return docs, starts - self.offsets[docs], window

    def informative(self, n: int, fallback: bool = True) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Like ``windows``, but only windows where weak words are at most half. With ``fallback``
        a document with no such window keeps all its windows (a copy of it must still be found)."""
        docs, starts, window = self._windows(n)
        if self.weak is None or not len(docs):
            return docs, starts - self.offsets[docs], window
        weak_prefix = np.zeros(len(self.weak) + 1, np.int64)
        np.cumsum(self.weak, out=weak_prefix[1:])
        strong = (weak_prefix[starts + n] - weak_prefix[starts]) * 2 <= n
        has_strong = np.zeros(len(self.offsets) - 1, bool)
        has_strong[docs[strong]] = True
        keep = strong | ~has_strong[docs] if fallback else strong
        docs, starts, window = docs[keep], starts[keep], window[keep]
        return docs, starts - self.offsets[docs], window

    def _windows(self, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Windows with absolute start positions."""
        total = len(self.hashes)
        if total < n or n <= 0:
            empty = np.empty(0, np.int64)
            return empty, empty, np.empty(0, np.uint64)
        prefix, inverse, doc_of = self._prepared
        starts = np.arange(total - n + 1, dtype=np.int64)
        docs = doc_of[: total - n + 1]
        fits = starts + n <= self.offsets[1:][docs]
        starts, docs = starts[fits], docs[fits]
        # (prefix[i+n] - prefix[i]) is the window's hash times R**i; undo that factor.
        window = (prefix[starts + n] - prefix[starts]) * inverse[starts]
        return docs, starts, window

    @cached_property
    def _prepared(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Prefix sums of hash * R**i, the inverse powers, and each position's document."""
        total = len(self.hashes)
        prefix = np.zeros(total + 1, np.uint64)
        np.cumsum(self.hashes * _powers(_R, total), out=prefix[1:])
        doc_of = np.repeat(np.arange(len(self.offsets) - 1, dtype=np.int64), self.lengths)
        return prefix, _powers(_R_INV, total), doc_of

    def matching_windows(self, n: int, keys: KeySet) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ``windows`` whose hash is one of ``keys`` (the same values, found in one compiled
        pass without making every window)."""
        return window_hits(
            self.hashes, self.offsets, n, np.uint64(_R), np.uint64(_R_INV), keys.slots, keys.used, keys.seen
        )


@dataclass(frozen=True)
class KeySet:
    """A set of window hashes that compiled loops test membership in."""

    slots: np.ndarray
    used: np.ndarray
    seen: np.ndarray  # a bit filter: most hashes not in the set are ruled out by one bit
    size: int

    @classmethod
    def of(cls, keys: np.ndarray) -> KeySet:
        """The set of ``keys`` (distinct)."""
        return cls(*key_table(keys.astype(np.uint64, copy=False)), len(keys))


def _powers(base: int, count: int) -> np.ndarray:
    """base**0 .. base**(count-1) modulo 2**64 (uint64 products wrap, which is the modulus)."""
    powers = np.full(count, base, np.uint64)
    if count:
        powers[0] = 1
    return np.cumprod(powers, dtype=np.uint64)


def split_words(texts: pl.Series) -> pl.Series:
    """Each text as its list of tokens (original case, NFKC-normalised)."""
    return reference.split(texts, LEAKAGE)


def hash_words(words: pl.Series, masked: bool = False) -> Words:
    """Hash tokens case-insensitively; ``masked`` replaces numbers, capitalised words and
    pronouns by placeholders, so "Natalia sold 48 clips" and "Omar sold 12 clips" hash alike."""
    plain, masked_words = _plain_and_masked(hash_split(words, LEAKAGE))
    return masked_words if masked else plain


def _special_hashes() -> np.ndarray:
    """Hashes of the placeholders and then the pronouns, as words hash."""
    return hash_strings(pl.Series([*PLACEHOLDERS, *PRONOUNS]))


def _plain_and_masked(words: TextWords) -> tuple[Words, Words]:
    """Plain words (weak: one character) and masked ones: a word starting with a digit is
    <num>, one starting with a capital <name>, a pronoun <pron> (placeholders are weak too)."""
    assert words.chars is not None and words.flags is not None
    special = _special_hashes()
    weak = words.chars <= 1
    digit = (words.flags & DIGIT) > 0
    name = ~digit & ((words.flags & UPPER) > 0)
    pronoun = ~digit & ~name & np.isin(words.hashes, special[len(PLACEHOLDERS) :])
    masked = words.hashes.copy()
    for placeholder, where in enumerate((digit, name, pronoun)):
        masked[where] = special[placeholder]
    plain = Words(words.offsets, words.hashes, weak)
    return plain, Words(words.offsets, masked, weak | digit | name | pronoun)


def example_words(examples: pl.Series, which: Which = "all") -> tuple[Words, Words]:
    """Plain and masked words of the ``which`` turns of each example JSON (null: none), the same
    as ``hash_words`` of ``split_words`` of their joined text. The tokeniser's compiled walk reads
    the JSON of ASCII examples; the rest are decoded by polars and read by its reference."""
    walked, slow = walk(examples, LEAKAGE, details=True, strict=True)
    words = walked.of(which)
    if len(slow):
        texts = pl.DataFrame({"example": examples.gather(slow), "dedup_key": 0}).select(text_expr(which))
        words = words.splice(slow, reference_words(texts.to_series(), LEAKAGE))
    return _plain_and_masked(words)
