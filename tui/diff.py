"""Word-level differences and overlaps, as character spans to highlight (no textual import)."""

from __future__ import annotations

import re
from difflib import SequenceMatcher

_WORD = re.compile(r"\S+")
_PUNCT = re.compile(r"[^\w]+")


def _words(text: str) -> list[re.Match[str]]:
    return list(_WORD.finditer(text))


def _key(word: re.Match[str]) -> str:
    """Words compare without case or punctuation: "Friends," matches "friends"."""
    return _PUNCT.sub("", word.group().lower()) or word.group()


def changed_spans(base: str, other: str) -> list[tuple[int, int]]:
    """Character spans of ``other`` whose words are not in ``base`` (insertions and replacements)."""
    a = [_key(m) for m in _words(base)]
    b_matches = _words(other)
    b = [_key(m) for m in b_matches]
    spans: list[tuple[int, int]] = []
    for tag, _, _, j1, j2 in SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if tag in ("replace", "insert") and j2 > j1:
            spans.append((b_matches[j1].start(), b_matches[j2 - 1].end()))
    return spans


def overlap_spans(text: str, span: str) -> list[tuple[int, int]]:
    """Where ``span`` occurs in ``text``: exactly (case-insensitive) when it does, else the runs of
    at least four words that the two share (a reworded or templated copy)."""
    if not span:
        return []
    found = [(m.start(), m.end()) for m in re.finditer(re.escape(span), text, flags=re.IGNORECASE)]
    if found:
        return found
    a_matches = _words(text)
    a = [_key(m) for m in a_matches]
    b = [_key(m) for m in _words(span)]
    spans = []
    for block in SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        if block.size >= 4:
            spans.append((a_matches[block.a].start(), a_matches[block.a + block.size - 1].end()))
    return spans
