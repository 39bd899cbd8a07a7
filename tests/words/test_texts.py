"""The compiled tokeniser gives the reference's words, under each stage's rules."""

from __future__ import annotations

import numpy as np
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.stages.words import reference
from curate.stages.words.kernels import DIGIT, UPPER, WORD
from curate.stages.words.rules import DEDUP, LEAKAGE, QUALITY, WordRules
from curate.stages.words.texts import hash_strings, reference_words, words_of_texts

RULES = {"dedup": DEDUP, "leakage": LEAKAGE, "quality": QUALITY}

texts = st.text(
    alphabet=st.sampled_from(
        list("abcXYZhesHE019_ ,.!?'\"\\/\n\t-:")
        # letters and marks the compiled loop reads from its tables, and ones it leaves to polars
        # (combining accent, capital sigma, dotted I, jamo, ligature, fractions, fullwidth, CJK,
        # astral, a non-ASCII digit)
        + list("éÉßµÅǅ’“”–•°²×πΣİ\u0301\u1100ﬁ½Ａ１中\u00a0\u2028\x00\U0001f600٣")
    ),
    max_size=40,
)


def as_lists(hashes: np.ndarray, offsets: np.ndarray) -> list[list[int]]:
    return [hashes[offsets[i] : offsets[i + 1]].tolist() for i in range(len(offsets) - 1)]


@pytest.mark.parametrize("name", RULES)
@given(rows=st.lists(st.one_of(texts, st.none()), max_size=6))
@settings(max_examples=200, deadline=None)
def test_compiled_words_are_the_reference_words(name: str, rows: list[str | None]) -> None:
    rules = RULES[name]
    series = pl.Series(rows, dtype=pl.Utf8)
    got = words_of_texts(series, rules, details=True)
    expected = reference_words(series, rules)
    assert got.offsets.tolist() == expected.offsets.tolist()
    assert got.hashes.tolist() == expected.hashes.tolist()
    assert got.chars is not None and expected.chars is not None
    assert got.chars.tolist() == expected.chars.tolist()
    assert got.flags is not None and expected.flags is not None
    assert got.flags.tolist() == expected.flags.tolist()


@given(st.lists(st.text(max_size=30), max_size=8), st.integers(min_value=0, max_value=2**64 - 1))
@settings(max_examples=100, deadline=None)
def test_compiled_hash_is_the_plain_python_hash(words: list[str], seed: int) -> None:
    got = hash_strings(pl.Series(words, dtype=pl.Utf8), seed).tolist()
    assert got == [reference.word_hash(word, seed) for word in words]


def test_the_rules_read_the_same_text_differently() -> None:
    text = pl.Series(["Don't split snake_case: 3.5 or 1,000 ﬁne Words"])
    words = {name: reference.split(text, rules).item().to_list() for name, rules in RULES.items()}
    dedup = ["don", "t", "split", "snake", "case", "3", "5", "or", "1", "000", "fine", "words"]
    assert words["dedup"] == dedup
    assert words["leakage"] == ["Don", "t", "split", "snake_case", "3.5", "or", "1,000", "fine", "Words"]
    assert words["quality"] == ["Don't", "split", "snake", "case", "3", "5", "or", "1", "000", "ﬁne", "Words"]


def test_case_folding_follows_the_rules() -> None:
    series = pl.Series(["Cat cat CAT"])
    for rules in (DEDUP, LEAKAGE):
        hashes = words_of_texts(series, rules).hashes
        assert len(set(hashes.tolist())) == 1
    assert len(set(words_of_texts(series, QUALITY).hashes.tolist())) == 3  # its caller lower-cases


def test_flags_say_number_and_capital_where_the_rules_read_them() -> None:
    words = words_of_texts(pl.Series(["Omar sold 12.5 clips"]), LEAKAGE, details=True)
    assert words.flags is not None and words.chars is not None
    assert words.flags.tolist() == [WORD | UPPER, WORD, WORD | DIGIT, WORD]
    assert words.chars.tolist() == [4, 4, 4, 5]


def test_a_number_ends_where_a_letter_follows() -> None:
    words = reference.split(pl.Series(["3abc 4.5x 6.,7 8."]), LEAKAGE).item().to_list()
    assert words == ["3", "abc", "4.5", "x", "6", "7", "8"]
    got = words_of_texts(pl.Series(["3abc 4.5x 6.,7 8."]), LEAKAGE)
    assert got.hashes.tolist() == hash_strings(pl.Series(words)).tolist()


def test_rules_are_values() -> None:
    assert WordRules(r"[\p{L}\p{N}]", nfkc=True, fold="text") == DEDUP
    assert LEAKAGE.pattern == r"\d+(?:[.,]\d+)*|\w+"


@pytest.mark.parametrize("name", RULES)
def test_the_densest_texts_fit(name: str) -> None:
    """A number ending at a letter starts the next word at once ("3a" is two words): the loop's
    output is sized for that, on plain texts and inside example JSON."""
    rules = RULES[name]
    texts = pl.Series(["3a", "3a 3a 3a", "3a 1.5b " * 500, "a", "a b c " * 300, "", "1,2,3,4" * 50])
    got = words_of_texts(texts, rules, details=True)
    assert got.hashes.tolist() == reference_words(texts, rules).hashes.tolist()
