"""Word hashes of every message of a batch of examples, with each message's role and row.

The compiled walk over the example JSON (``minhash_kernels.message_words``) takes most rows; rows it
leaves (non-ASCII text, which needs Unicode normalisation, or an unusual JSON shape) are
decoded by polars and tokenised with ``minhash.word_hashes``. Both give the same words for
the same text, so which path a row took never changes what it matches.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import polars as pl

from curate.core.frame import Which
from curate.core.utf8 import utf8_buffers
from curate.stages.dedup import minhash
from curate.stages.dedup.kernels import (
    OTHER_ROLE,
    ROLES,
    message_words,
    role_words,
    sequence_keys,
    splice_words,
)
from curate.stages.dedup.unicode_words import READ_BYTES, READ_LENGTH

_TURNS: Final = pl.Struct({"messages": pl.List(pl.Struct({"role": pl.Utf8, "content": pl.Utf8}))})
_ROLE_CODES: Final = {name: code for code, name in enumerate(ROLES)}


@dataclass(frozen=True)
class MessageWords:
    """Flat word hashes of every message, and per message its word count, role and row."""

    hashes: np.ndarray  # uint64
    counts: np.ndarray  # int64, words per message, in flat order
    roles: np.ndarray  # int8, index into minhash_kernels.ROLES (OTHER_ROLE for others)
    rows: np.ndarray  # int64, row of each message, ascending
    n_rows: int

    def of(self, which: Which) -> tuple[np.ndarray, np.ndarray]:
        """Word hashes of each row's ``which`` turns (all turns, or one role's), and per-row
        offsets into them. Turns are separate texts, so no word spans two turns."""
        role = -1 if which == "all" else _ROLE_CODES[which]
        return role_words(self.hashes, self.counts, self.roles, self.rows, self.n_rows, role)


@dataclass(frozen=True)
class ExampleWords:
    """The rows the compiled walk took, and the rows (``slow_rows``) polars decoded."""

    walked: MessageWords
    slow_rows: np.ndarray
    decoded: MessageWords  # rows numbered 0..len(slow_rows) - 1

    def of(self, which: Which) -> tuple[np.ndarray, np.ndarray]:
        """Per-row word hashes and offsets of ``which`` turns (see ``MessageWords.of``)."""
        hashes, offsets = self.walked.of(which)
        if not len(self.slow_rows):
            return hashes, offsets
        return splice_words(hashes, offsets, self.slow_rows, *self.decoded.of(which))


def words_of_examples(examples: pl.Series, seed: int = 0) -> ExampleWords:
    """Message words of each example JSON (a null example has no messages)."""
    data, offsets = utf8_buffers(examples)
    hashes, roles, ends, row_ends, failed = message_words(
        data, offsets, np.uint64(seed), READ_LENGTH, READ_BYTES
    )
    counts = np.diff(ends, prepend=0)
    rows = np.repeat(np.arange(len(examples), dtype=np.int64), np.diff(row_ends, prepend=0))
    walked = MessageWords(hashes, counts, roles, rows, len(examples))
    slow_rows = np.flatnonzero(failed & examples.is_not_null().to_numpy())
    return ExampleWords(walked, slow_rows, _decoded(examples.gather(slow_rows), seed))


def _decoded(examples: pl.Series, seed: int) -> MessageWords:
    """The slow path: polars decodes the JSON, ``minhash.word_hashes`` normalises and tokenises."""
    messages = examples.str.json_decode(_TURNS).struct.field("messages")
    per_row = messages.list.len().fill_null(0).to_numpy()
    flat = messages.explode(empty_as_null=False, keep_nulls=False)  # exactly the messages, no filler
    hashes, offsets = minhash.word_hashes(flat.struct.field("content"), seed=seed)
    roles = (
        flat.struct.field("role")
        .replace_strict(_ROLE_CODES, default=OTHER_ROLE, return_dtype=pl.Int8)
        .fill_null(OTHER_ROLE)
        .to_numpy()
    )
    rows = np.repeat(np.arange(len(examples), dtype=np.int64), per_row)
    return MessageWords(hashes, np.diff(offsets), roles, rows, len(examples))


def compile_kernels() -> None:
    """Compile every compiled loop of near dedup once (numba caches the machine code), so the
    first build after set-up does not pay the compile: ``make setup`` calls this."""
    examples = pl.Series(
        [
            '{"messages":[{"role":"user","content":"Hello, world: one two three"}]}',
            '{"messages":[{"role":"assistant","content":"Caf\\u00e9 na\\u00efve"}]}',
            '{"messages":[{"role":"user","content":"café"}]}',
        ]
    )
    words = words_of_examples(examples)
    hashes, offsets = words.of("all")
    sequence_keys(*words.of("user"))
    shingles, rows = minhash.shingle_hashes(hashes, offsets, 3)
    signatures, _ = minhash.oph_signatures(shingles, rows, len(offsets) - 1, 64, 0)
    minhash.band_keys(signatures, 16, 4)
    index = minhash.build_index(
        lambda start, stop: (hashes, offsets),
        len(offsets) - 1,
        shingle=3,
        num_perm=64,
        bands=16,
        rows_per_band=4,
    )
    a, b = minhash.similar_pairs(index, 0.5)
    minhash.connected_components(len(offsets) - 1, a, b)


if __name__ == "__main__":
    compile_kernels()
