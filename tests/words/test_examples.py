"""The compiled walk over example JSON gives the same words as decoding the JSON with polars."""

from __future__ import annotations

import json

import numpy as np
import orjson
import polars as pl
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from curate.stages.words import tables
from curate.stages.words.examples import ExampleWords, MessageWords, decoded, walk, words_of_examples
from curate.stages.words.kernels import ROLES, walk_examples
from curate.stages.words.rules import DEDUP, LEAKAGE, QUALITY
from curate.stages.words.texts import TextWords, words_of_texts

RULES = {"dedup": DEDUP, "leakage": LEAKAGE, "quality": QUALITY}

texts = st.text(
    alphabet=st.sampled_from(
        list("abcXYZ019 ,.!?'\"\\/\n\t-")
        # letters and marks the compiled walk reads from its table, and ones it leaves to polars:
        # combining accent, capital sigma, dotted I, jamo, ligature, fractions, CJK, astral
        + list("éÉßµÅǅ’“”–•°²×πΣİ\u0301\u1100ﬁ½Ａ中\u00a0\u2028\x00\U0001f600")
    ),
    max_size=40,
)
messages = st.fixed_dictionaries(
    {"role": st.sampled_from([*ROLES, "narrator"]), "content": st.one_of(texts, st.none())},
    optional={
        "weight": st.sampled_from([0, 1]),
        "name": texts,
        "tool_calls": st.just([{"id": "c", "x": [1, {"y": "]}"}]}]),
    },
)
examples = st.fixed_dictionaries(
    {"messages": st.lists(messages, max_size=4)},
    optional={
        "tools": st.just([{"type": "function", "function": {"name": "f"}}]),
        "meta": st.dictionaries(texts, texts, max_size=2),
    },
)
encodings = st.sampled_from(
    [
        lambda e: orjson.dumps(e).decode(),  # the canonical form: raw UTF-8, no spaces
        lambda e: json.dumps(e, ensure_ascii=True),  # \u escapes and spaces after separators
        lambda e: json.dumps(e, ensure_ascii=False, indent=1),
    ]
)


def as_lists(words: MessageWords | ExampleWords | TextWords, which: str = "all") -> list[list[int]]:
    picked = words if isinstance(words, TextWords) else words.of(which)  # type: ignore[arg-type]
    hashes, offsets = picked.hashes, picked.offsets
    return [hashes[offsets[i] : offsets[i + 1]].tolist() for i in range(len(offsets) - 1)]


def details(words: TextWords) -> list[list[tuple[int, int]]]:
    assert words.chars is not None and words.flags is not None
    pairs = list(zip(words.chars.tolist(), words.flags.tolist(), strict=True))
    return [pairs[words.offsets[i] : words.offsets[i + 1]] for i in range(len(words.offsets) - 1)]


@pytest.mark.parametrize("name", RULES)
@given(rows=st.lists(st.one_of(examples, st.none()), max_size=6), encode=encodings)
@settings(max_examples=150, deadline=None)
def test_the_walk_agrees_with_decoding(name: str, rows: list[dict | None], encode) -> None:  # type: ignore[no-untyped-def]
    rules = RULES[name]
    series = pl.Series([None if row is None else encode(row) for row in rows], dtype=pl.Utf8)
    fast = words_of_examples(series, rules, details=True)
    present = np.flatnonzero(series.is_not_null().to_numpy())
    slow_part = decoded(series.gather(present), rules, details=True)
    slow = MessageWords(slow_part.words, slow_part.roles, present[slow_part.rows], len(rows))
    for which in ("all", "user", "assistant"):
        assert as_lists(fast, which) == as_lists(slow, which)
        assert details(fast.of(which)) == details(slow.of(which))  # type: ignore[arg-type]


def test_escapes_and_case_give_the_words_of_the_decoded_text() -> None:
    plain = {"messages": [{"role": "user", "content": 'Tab\tNew\nline "quoted" A\\B'}]}
    spelled = '{"messages":[{"role":"user","content":"tab\\u0009new\\u000aLINE \\u0022quoted\\" a\\\\b"}]}'
    words = words_of_examples(pl.Series([orjson.dumps(plain).decode(), spelled]), DEDUP)
    per_row = as_lists(words, "user")
    assert per_row[0] == per_row[1]
    assert len(per_row[0]) == 6  # tab new line quoted a b


def test_roles_are_kept_apart() -> None:
    example = {
        "messages": [{"role": "user", "content": "alpha beta"}, {"role": "assistant", "content": "gamma"}]
    }
    words = words_of_examples(pl.Series([orjson.dumps(example).decode()]), DEDUP)
    assert [len(w) for w in as_lists(words, "user")] == [2]
    assert [len(w) for w in as_lists(words, "assistant")] == [1]
    assert [len(w) for w in as_lists(words, "all")] == [3]


def test_plain_rows_take_the_compiled_walk_and_others_fall_back() -> None:
    from curate.core.utf8 import utf8_buffers

    rows = [
        '{"messages":[{"role":"user","content":"plain \\"text\\""}],"meta":{"k":[1,{"a":"}"}]}}',
        '{"messages":[{"role":"user","content":"caf\\u00e9 \\u2019"}]}',  # read from the table
        '{"messages":[{"role":"user","content":"cafe\u0301"}]}',  # a combining accent: polars
        '{"messages":[{"role":"user","content":["parts"]}]}',  # content that is not a string: skipped
        '{"messages":{"role":"user"}}',  # another shape
    ]
    data, offsets = utf8_buffers(pl.Series(rows))
    *_, failed = walk_examples(data, offsets, *tables.raw(DEDUP).args(), np.uint64(0), False, False)
    assert failed.tolist() == [False, False, True, False, True]
    # leakage's rules read no non-ASCII character themselves, and a content that is not a
    # string is left to the decoder (strict)
    *_, failed = walk_examples(data, offsets, *tables.raw(LEAKAGE).args(), np.uint64(0), True, True)
    assert failed.tolist() == [False, True, True, True, True]


def test_every_character_of_the_table_reads_as_polars_normalises_it() -> None:
    # Each character below U+3000 alone, between letters and doubled (a neighbour changes how
    # some read: capital sigma at a word's end), raw and \u-escaped: both paths give the same words.
    chars = [chr(code) for code in range(0x80, 0x3000) if not 0xD800 <= code <= 0xDFFF]
    for template in ("a{}b", "{}{}", "x {} y"):
        texts = [template.format(c, c) for c in chars]
        for encode in (lambda t: orjson.dumps(t).decode(), lambda t: json.dumps(t, ensure_ascii=True)):
            series = pl.Series(['{"messages":[{"role":"user","content":' + encode(t) + "}]}" for t in texts])
            fast = as_lists(words_of_examples(series, DEDUP), "all")
            slow = as_lists(decoded(series, DEDUP), "all")
            assert fast == slow


def test_role_words_are_the_words_of_that_role_in_row_order() -> None:
    examples = [
        {"messages": [{"role": "user", "content": "one two"}, {"role": "assistant", "content": "three"}]},
        {"messages": []},
        {"messages": [{"role": "assistant", "content": "four"}, {"role": "user", "content": "five six"}]},
    ]
    words = words_of_examples(pl.Series([orjson.dumps(e).decode() for e in examples]), DEDUP)
    single = as_lists(words_of_texts(pl.Series(["one two", "three", "four", "five six"]), DEDUP))
    assert as_lists(words, "user") == [single[0], [], single[3]]
    assert as_lists(words, "assistant") == [single[1], [], single[2]]
    assert as_lists(words, "all") == [single[0] + single[1], [], single[2] + single[3]]


def test_strict_walk_leaves_contents_that_are_not_strings() -> None:
    rows = pl.Series(
        [
            '{"messages":[{"role":"user","content":null},{"role":"user","content":"Omar 12"}]}',
            '{"messages":[{"role":"user","content":[{"type":"text"}]}]}',
        ]
    )
    walked, left = walk(rows, LEAKAGE, details=True, strict=True)
    assert left.tolist() == [1]
    assert [len(w) for w in as_lists(walked.of("user"))] == [2, 0]
