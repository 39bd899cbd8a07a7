"""Words of every message of a batch of example JSON, with each message's role and row.

The compiled walk (``kernels.walk_examples``) takes most rows; the rows it leaves (text its
tables cannot read, an unusual JSON shape) are decoded by polars and read by ``words_of_texts``.
Both give the same words for the same text, so which path a row took never changes a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from curate.core.frame import Which
from curate.core.utf8 import utf8_buffers
from curate.stages.words import kernels, tables
from curate.stages.words.kernels import OTHER_ROLE, ROLES
from curate.stages.words.rules import WordRules
from curate.stages.words.texts import TextWords, words_of_texts

_TURNS: Final = pl.Struct({"messages": pl.List(pl.Struct({"role": pl.Utf8, "content": pl.Utf8}))})
ROLE_CODES: Final = {name: code for code, name in enumerate(ROLES)}


@dataclass(frozen=True)
class MessageWords:
    """Flat words of every message, and per message its word count, role and row."""

    words: TextWords  # one "text" per message
    roles: np.ndarray  # int8, index into kernels.ROLES (OTHER_ROLE for others)
    rows: np.ndarray  # int64, row of each message, ascending
    n_rows: int

    def of(self, which: Which) -> TextWords:
        """The words of each row's ``which`` turns (all turns, or one role's), per row. Turns are
        separate texts, so no word spans two turns."""
        role = -1 if which == "all" else ROLE_CODES[which]
        take, offsets = kernels.role_words(self.words.lengths, self.roles, self.rows, self.n_rows, role)
        words = self.words
        if role < 0:
            return TextWords(words.hashes, offsets, words.chars, words.flags)
        return TextWords(
            words.hashes[take],
            offsets,
            None if words.chars is None else words.chars[take],
            None if words.flags is None else words.flags[take],
        )


@dataclass(frozen=True)
class ExampleWords:
    """The rows the compiled walk took, and the rows (``slow_rows``) polars decoded."""

    walked: MessageWords
    slow_rows: np.ndarray
    decoded: MessageWords  # rows numbered 0..len(slow_rows) - 1

    def of(self, which: Which) -> TextWords:
        """Per-row words of ``which`` turns (see ``MessageWords.of``)."""
        words = self.walked.of(which)
        if not len(self.slow_rows):
            return words
        return words.splice(self.slow_rows, self.decoded.of(which))


def walk(
    examples: pl.Series, rules: WordRules, *, seed: int = 0, details: bool = False, strict: bool = False
) -> tuple[MessageWords, np.ndarray]:
    """The compiled walk's message words of each example JSON, and the rows it left (a null
    example has no messages and is not left). With ``strict``, a row with a content that is
    neither a string nor null is left too."""
    data, offsets = utf8_buffers(examples)
    hashes, chars, flags, roles, ends, row_ends, failed = kernels.walk_examples(
        data, offsets, *tables.raw(rules).args(), np.uint64(seed), details, strict
    )
    message_offsets = np.zeros(len(ends) + 1, np.int64)
    message_offsets[1:] = ends
    rows = np.repeat(np.arange(len(examples), dtype=np.int64), np.diff(row_ends, prepend=0))
    words = TextWords(hashes, message_offsets, chars if details else None, flags if details else None)
    left = np.flatnonzero(failed & examples.is_not_null().to_numpy())
    return MessageWords(words, roles, rows, len(examples)), left


def words_of_examples(
    examples: pl.Series, rules: WordRules, *, seed: int = 0, details: bool = False
) -> ExampleWords:
    """Message words of each example JSON (a null example has no messages)."""
    walked, left = walk(examples, rules, seed=seed, details=details)
    return ExampleWords(walked, left, decoded(examples.gather(left), rules, seed=seed, details=details))


def decoded(examples: pl.Series, rules: WordRules, *, seed: int = 0, details: bool = False) -> MessageWords:
    """The slow path: polars decodes the JSON, ``words_of_texts`` reads each message."""
    messages = examples.str.json_decode(_TURNS).struct.field("messages")
    per_row = messages.list.len().fill_null(0).to_numpy()
    flat = messages.explode(empty_as_null=False, keep_nulls=False)  # exactly the messages, no filler
    words = words_of_texts(flat.struct.field("content"), rules, seed=seed, details=details)
    roles = (
        flat.struct.field("role")
        .replace_strict(ROLE_CODES, default=OTHER_ROLE, return_dtype=pl.Int8)
        .fill_null(OTHER_ROLE)
        .to_numpy()
    )
    rows = np.repeat(np.arange(len(examples), dtype=np.int64), per_row)
    return MessageWords(words, roles, rows, len(examples))
