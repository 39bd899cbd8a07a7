"""What a word is, per stage: the few ways the three word-reading stages differ, as parameters.

Near dedup, leakage and quality all read words as runs of word characters, hashed the same way.
They differ on purpose in four things:

- which characters make words: near dedup takes letters and digits (``[\\p{L}\\p{N}]``), so any
  punctuation edit changes no word; quality adds the apostrophe (``[\\p{L}\\p{N}']``), so "don't"
  is one word for its stop-word vote and n-grams; leakage takes the regex ``\\w`` (letters, marks,
  digits, underscore), so ``snake_case`` identifiers of a benchmark stay whole;
- numbers: leakage reads "3.5" and "1,000" as one word (a digit run with ``[.,]digits`` groups),
  so masking a number masks one word whichever way a rewrite writes it;
- Unicode normalisation: near dedup and leakage NFKC-normalise ("ﬁ" reads "fi", "Ａ" reads
  "A"); quality reads the text as written;
- case: near dedup lower-cases the text before splitting it; leakage splits first and
  lower-cases each word for its hash, because masking tells names by their capital; quality is
  given text its caller has already lower-cased (its regex signals read that same text).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final, Literal

NUMBER: Final = r"\d+(?:[.,]\d+)*"


@dataclass(frozen=True)
class WordRules:
    """How a stage reads words (see the module docstring for why they differ)."""

    word: str
    """A regex character class (polars' regex syntax) of the characters words are runs of."""
    numbers: bool = False
    """A run starting with a digit is a number: digits with ``[.,]digits`` groups, one word."""
    nfkc: bool = False
    """NFKC-normalise the text before splitting it."""
    fold: Literal["text", "words", "none"] = "none"
    """Lower-case the text before splitting ("text"), each word after ("words"; its class flags
    still say whether it started with a capital), or neither."""

    @property
    def pattern(self) -> str:
        """The regex whose matches, on the normalised text, are the words (leftmost first)."""
        run = f"{self.word}+"
        return f"{NUMBER}|{run}" if self.numbers else run


DEDUP: Final = WordRules(r"[\p{L}\p{N}]", nfkc=True, fold="text")
LEAKAGE: Final = WordRules(r"\w", numbers=True, nfkc=True, fold="words")
QUALITY: Final = WordRules(r"[\p{L}\p{N}']")
