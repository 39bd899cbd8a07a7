"""Hashed word windows: equal exactly when the words are, never across documents; spans map back."""

from __future__ import annotations

import json

import numpy as np
import polars as pl
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.core.frame import text_expr
from curate.stages.leakage.spans import span_text
from curate.stages.leakage.words import KeySet, example_words, hash_words, split_words

texts = st.lists(
    st.lists(st.sampled_from(["a", "b", "cat", "dog", "7"]), min_size=0, max_size=12), min_size=1, max_size=6
)


@settings(max_examples=60, deadline=None)
@given(texts, st.integers(min_value=1, max_value=5))
def test_window_hashes_equal_exactly_when_words_are(docs: list[list[str]], n: int) -> None:
    words = hash_words(split_words(pl.Series([" ".join(d) for d in docs])))
    doc, pos, hashes = words.windows(n)
    seen: dict[int, tuple[str, ...]] = {}
    for d, p, h in zip(doc.tolist(), pos.tolist(), hashes.tolist(), strict=True):
        window = tuple(docs[d][p : p + n])
        assert len(window) == n  # never runs past its document
        assert seen.setdefault(h, window) == window
    expected = sum(max(0, len(d) - n + 1) for d in docs)
    assert len(hashes) == expected


def test_case_punctuation_and_spacing_do_not_matter() -> None:
    words = hash_words(split_words(pl.Series(["What is 3.5 times two?", "WHAT  is 3.5\ntimes (two)"])))
    _, _, hashes = words.windows(5)
    assert hashes[0] == hashes[1]


def test_masking_makes_template_rewrites_equal() -> None:
    texts = pl.Series(["Natalia sold 48 clips to her friends.", "Omar sold 12.5 clips to his friends."])

    def first_windows(masked: bool) -> list[int]:
        docs, pos, hashes = hash_words(split_words(texts), masked=masked).windows(6)
        return hashes[pos == 0].tolist()

    plain, masked = first_windows(False), first_windows(True)
    assert plain[0] != plain[1] and masked[0] == masked[1]


def test_informative_windows_skip_single_character_runs_unless_nothing_else() -> None:
    texts = pl.Series(["list the hex digits please 0 1 2 3 4 5 6 7 8 9 a b c d e f", "a b c d"])
    docs, pos, _ = hash_words(split_words(texts)).informative(4)
    kept = set(zip(docs.tolist(), pos.tolist(), strict=True))
    assert (0, 0) in kept and (0, 3) in kept  # "digits please 0 1": half weak at most
    assert not any(d == 0 and p >= 4 for d, p in kept)  # runs of single characters are generic
    assert (1, 0) in kept  # nothing better in that text: kept so a copy is still found


def test_span_is_cut_from_the_original_text() -> None:
    text = "Intro line.\n**Question:** Why do cats purr, when   content?"
    assert span_text(text, 3, 9) == "Why do cats purr, when content"
    assert span_text(text, 0, 100).startswith("Intro")
    assert len(span_text("word " * 500, 0, 500, limit=50)) == 50


contents = st.text(
    # number separators, underscores, capitals, pronouns' letters, escapes, and characters the
    # compiled walk leaves to polars (accents, a ligature, a fullwidth digit, an astral symbol)
    alphabet=st.sampled_from(list("abhesimrHES019_.,:-' \n\t\"\\/") + list("éﬁ１\U0001f600")),
    max_size=30,
)
turns = st.fixed_dictionaries(
    {"role": st.sampled_from(["user", "assistant", "system"]), "content": st.one_of(contents, st.none())}
)


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.one_of(st.lists(turns, max_size=4), st.none()), min_size=1, max_size=5),
    st.sampled_from(["all", "user"]),
    st.booleans(),
)
def test_the_compiled_walk_gives_the_words_of_the_decoded_text(
    rows: list[list[dict] | None], which: str, ascii_only: bool
) -> None:
    """example_words reads the JSON itself (escapes included) where it can: the same plain and
    masked words as tokenising the decoded, joined text."""
    encoded = [None if r is None else json.dumps({"messages": r}, ensure_ascii=ascii_only) for r in rows]
    examples = pl.Series(encoded, dtype=pl.Utf8)
    frame = pl.DataFrame({"example": examples, "dedup_key": [None if r is None else 0 for r in rows]})
    words = split_words(frame.select(text_expr(which)).to_series())  # type: ignore[arg-type]
    fast = example_words(examples, which)  # type: ignore[arg-type]
    for got, expected in zip(fast, (hash_words(words), hash_words(words, masked=True)), strict=True):
        assert got.offsets.tolist() == expected.offsets.tolist()
        assert got.hashes.tolist() == expected.hashes.tolist()
        assert got.weak is not None and expected.weak is not None
        assert got.weak.tolist() == expected.weak.tolist()


@settings(max_examples=60, deadline=None)
@given(texts, st.integers(min_value=1, max_value=5), st.integers(min_value=1, max_value=4))
def test_matching_windows_are_the_windows_in_the_set(docs: list[list[str]], n: int, every: int) -> None:
    words = hash_words(split_words(pl.Series([" ".join(d) for d in docs])))
    doc, pos, hashes = words.windows(n)
    wanted = set(hashes[::every].tolist())
    keys = KeySet.of(np.array(sorted(wanted), dtype=np.uint64))
    got = words.matching_windows(n, keys)
    hit = np.isin(hashes, list(wanted))
    assert [g.tolist() for g in got] == [doc[hit].tolist(), pos[hit].tolist(), hashes[hit].tolist()]
