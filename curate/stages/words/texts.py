"""Words of a string column: the compiled loop where its tables read the text, else polars
normalises the text first (or, for rules that lower-case each word, the reference reads it)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from curate.core.utf8 import utf8_buffers
from curate.stages.words import kernels, reference, tables
from curate.stages.words.kernels import DIGIT, UPPER, WORD
from curate.stages.words.rules import WordRules


@dataclass(frozen=True)
class TextWords:
    """Hashed words of many texts, flattened: text i is ``hashes[offsets[i]:offsets[i + 1]]``."""

    hashes: np.ndarray  # uint64
    offsets: np.ndarray  # int64, one more than the number of texts
    chars: np.ndarray | None = None  # int32 per word: its length in characters
    flags: np.ndarray | None = None  # uint8 per word: its first character's class (kernels.WORD...)

    @property
    def lengths(self) -> np.ndarray:
        return np.diff(self.offsets)

    def splice(self, rows: np.ndarray, other: TextWords) -> TextWords:
        """These words with texts ``rows`` (which have none here) given the words of ``other``."""
        lengths = self.lengths
        lengths[rows] = other.lengths
        offsets = np.zeros(len(lengths) + 1, np.int64)
        np.cumsum(lengths, out=offsets[1:])
        at = [_positions(offsets, np.arange(len(lengths)), self), _positions(offsets, rows, other)]

        def merged(mine: np.ndarray | None, theirs: np.ndarray | None) -> np.ndarray | None:
            if mine is None or theirs is None:
                return None
            out = np.empty(int(offsets[-1]), mine.dtype)
            out[at[0]], out[at[1]] = mine, theirs
            return out

        hashes = merged(self.hashes, other.hashes)
        assert hashes is not None
        return TextWords(hashes, offsets, merged(self.chars, other.chars), merged(self.flags, other.flags))


def _positions(offsets: np.ndarray, targets: np.ndarray, source: TextWords) -> np.ndarray:
    """Where each of ``source``'s words lands when its texts become texts ``targets``."""
    counts = source.lengths
    return np.repeat(offsets[targets] - source.offsets[:-1], counts) + np.arange(len(source.hashes))


def words_of_texts(texts: pl.Series, rules: WordRules, *, seed: int = 0, details: bool = False) -> TextWords:
    """The words of each text under ``rules`` (a null text has none). With ``details``, each
    word's length in characters and its first character's class flags come too."""
    data, offsets = utf8_buffers(texts)
    hashes, word_offsets, chars, flags, slow = kernels.split_texts(
        data, offsets, *tables.raw(rules).args(), np.uint64(seed), details
    )
    words = TextWords(hashes, word_offsets, chars if details else None, flags if details else None)
    rows = np.flatnonzero(slow)
    if not len(rows):
        return words
    return words.splice(rows, slow_words(texts.cast(pl.Utf8).gather(rows), rules, seed=seed, details=details))


def slow_words(texts: pl.Series, rules: WordRules, *, seed: int = 0, details: bool = False) -> TextWords:
    """Words of texts the compiled loop left: polars normalises them and the loop reads the
    result, or where each word is lower-cased on its own (which needs the word), the reference."""
    if rules.fold == "words":
        return reference_words(texts, rules, seed=seed, details=details)
    data, offsets = utf8_buffers(reference.normalised(texts, rules))
    hashes, word_offsets, chars, flags, slow = kernels.split_texts(
        data, offsets, *tables.normalised(rules).args(), np.uint64(seed), details
    )
    assert not slow.any()  # normalised text needs no reading table
    return TextWords(hashes, word_offsets, chars if details else None, flags if details else None)


def reference_words(texts: pl.Series, rules: WordRules, *, seed: int = 0, details: bool = True) -> TextWords:
    """The reference's words (``reference.split``), hashed as the compiled loop hashes them."""
    return hash_split(reference.split(texts, rules), rules, seed=seed, details=details)


def hash_split(words: pl.Series, rules: WordRules, *, seed: int = 0, details: bool = True) -> TextWords:
    """Words already split (a list of strings per text, as ``reference.split`` gives) as hashes."""
    lengths = words.list.len().fill_null(0).to_numpy().astype(np.int64)
    offsets = np.zeros(len(lengths) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    flat = words.explode(empty_as_null=False, keep_nulls=False)
    hashes = kernels.hash_strings(*utf8_buffers(reference.hashed_form(flat, rules)), np.uint64(seed))
    if not details:
        return TextWords(hashes, offsets)
    flags = np.full(len(flat), WORD, np.uint8)
    if rules.numbers:
        flags[flat.str.contains(r"^\d").to_numpy()] |= np.uint8(DIGIT)
    if rules.fold == "words":
        flags[flat.str.contains(r"^\p{Lu}").to_numpy()] |= np.uint8(UPPER)
    return TextWords(hashes, offsets, flat.str.len_chars().to_numpy().astype(np.int32), flags)


def hash_strings(strings: pl.Series, seed: int = 0) -> np.ndarray:
    """The hash each string has as a word (stop words, placeholders: compared with text's words)."""
    return kernels.hash_strings(*utf8_buffers(strings), np.uint64(seed))
