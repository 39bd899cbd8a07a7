"""The overlapping span of a match, cut from the candidate's original text for the report."""

from __future__ import annotations

import re
import unicodedata
from typing import Final

from curate.stages.leakage.words import TOKEN

_TOKEN: Final = re.compile(TOKEN)
SPAN_CHARS: Final = 300  # a report line, not the whole example


def span_text(text: str, first: int, last: int, limit: int = SPAN_CHARS) -> str:
    """Words ``first`` to ``last`` (exclusive) of ``text`` as written, whitespace collapsed.

    Word positions come from the same tokeniser the matcher used (curate.stages.leakage.words.TOKEN),
    applied to the same NFKC-normalised text, so they point at the same words.
    """
    text = unicodedata.normalize("NFKC", text or "")
    tokens = list(_TOKEN.finditer(text))
    if not tokens:
        return ""
    first = min(max(first, 0), len(tokens) - 1)
    last = min(max(last, first + 1), len(tokens))
    span = " ".join(text[tokens[first].start() : tokens[last - 1].end()].split())
    return span if len(span) <= limit else span[: limit - 1] + "…"


def shorten(text: str, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
