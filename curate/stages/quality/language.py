"""A cheap language guess: the dominant script, and for Latin script the commonest stop words.

No model: counting letters per Unicode script separates Latin, CJK, Cyrillic and the rest, and
a handful of distinctive function words separates the big Latin-script languages well enough
to notice an English question answered in French. Texts too short to tell are "unknown".
"""

from __future__ import annotations

from typing import Final

import polars as pl

from curate.core.frame import LABEL
from curate.stages.quality import words
from curate.stages.quality.rows import only_where

# Non-Latin scripts; Latin is what is left of the letters. Japanese is told from Chinese by kana.
SCRIPTS: Final[dict[str, str]] = {
    "cjk": r"[\p{Han}\p{Hiragana}\p{Katakana}]",
    "hangul": r"\p{Hangul}",
    "cyrillic": r"\p{Cyrillic}",
    "greek": r"\p{Greek}",
    "arabic": r"\p{Arabic}",
    "hebrew": r"\p{Hebrew}",
    "devanagari": r"\p{Devanagari}",
    "thai": r"\p{Thai}",
}
KANA: Final = r"[\p{Hiragana}\p{Katakana}]"

# Function words distinctive enough per language (words shared by several, such as "de" or
# "que", are left out so they don't blur the vote).
STOP_WORDS: Final[dict[str, tuple[str, ...]]] = {
    lang: tuple(words.split())
    for lang, words in {
        "en": "the and is are of to you with for this that it have what how your can will was be",
        # Left out as they turn up in English text, code or URLs: y (a variable), et (et al.), die,
        # den, van (names), com (.com), per, non, do, da, os, em, um, di, en, te, op.
        "es": "el los las es por del para como pero está muy tiene cómo qué puedo usted también hay sí una",
        "fr": "le les des est dans pour pas vous je avec sur du au qui être mais cette nous votre une",
        "de": "der das und ist nicht ein eine ich sie mit zu auf für dem wir auch sind ihr oder werden",
        "pt": "não você isso são seu sua pelo nós muito tem ele ela dos ao uma então também onde pode fazer",
        "it": "il gli della è sono anche questo che nel alla molto essere hai sei perché più questa sul",
        "nl": "het een ik niet dat zijn voor wat hoe maar ook heb wij jij naar deze worden kunnen wordt",
    }.items()
}

_LANGUAGE_OF: Final[dict[str, str]] = {word: lang for lang, words in STOP_WORDS.items() for word in words}
assert len(_LANGUAGE_OF) == sum(map(len, STOP_WORDS.values())), "a stop word is listed for two languages"

# A Latin-script text needs this many stop-word hits, a clear lead over the runner-up, and hits
# making up this share of its words (code and lists have few stop words, so chance hits there
# must not name a language).
MIN_STOP_WORDS: Final = 3
LEAD: Final = 1.5
MIN_SHARE: Final = 0.08
# A non-Latin script names the text when it holds at least this share of the letters.
SCRIPT_SHARE: Final = 0.5


_ROW = "_q_lang_row"


def _scripts(frame: pl.DataFrame, other: str) -> pl.DataFrame:
    """Letters per non-Latin script, and kana, counted only on rows that have non-Latin letters
    (most rows of most data sets have none); null elsewhere."""
    frame = frame.select(pl.int_range(pl.len(), dtype=pl.UInt32).alias(_ROW), other)
    some = frame.filter(pl.col(other).str.len_chars() > 0).select(
        _ROW,
        pl.concat_list(*(pl.col(other).str.count_matches(p) for p in SCRIPTS.values())).alias("scripts"),
        pl.col(other).str.count_matches(KANA).alias("kana"),
    )
    return frame.select(_ROW).join(some, on=_ROW, how="left").sort(_ROW).drop(_ROW)


def add_guess(
    frame: pl.DataFrame, text: str, stats: words.Columns, out: str, min_letters: int
) -> pl.DataFrame:
    """Add ``out``: the language (en, fr, ...) or script (zh, ja, cyrillic, ...) of ``text``, or
    "unknown". ``stats`` names the text's word statistics (curate/stages/quality/words.py: word and
    letter counts, stop-word votes of the languages in STOP_WORDS order)."""
    script_names = list(SCRIPTS)
    lang_names = list(STOP_WORDS)
    tmp = f"_q_lang_{out}"
    # Non-Latin letters are all non-ASCII: ASCII texts (most) skip the regex.
    other = pl.col(text).str.extract_all(r"[\p{L}--\p{Latin}]").list.join("")
    non_ascii = pl.col(text).str.len_bytes() != pl.col(text).str.len_chars()
    frame = frame.with_columns(only_where(frame, non_ascii, other, pl.lit("")).alias(f"{tmp}_other"))
    scripts_frame = _scripts(frame, f"{tmp}_other")
    frame = frame.with_columns(
        scripts_frame["scripts"].alias(f"{tmp}_scripts"),
        scripts_frame["kana"].alias(f"{tmp}_kana"),
    )
    scripts = pl.col(f"{tmp}_scripts")
    top_script = scripts.list.arg_max().replace_strict(dict(enumerate(script_names)), return_dtype=pl.Utf8)
    # Kana marks Japanese; Han alone reads as Chinese.
    cjk = pl.when(pl.col(f"{tmp}_kana") * 10 >= scripts.list.max()).then(pl.lit("ja")).otherwise(pl.lit("zh"))
    best, second = pl.col(stats.best), pl.col(stats.second)
    # Stop words overlap in places ("is" in en and nl), hence the lead a winner needs.
    latin = (
        pl.when(
            (best >= MIN_STOP_WORDS) & (best >= second * LEAD) & (best >= pl.col(stats.words) * MIN_SHARE)
        )
        .then(pl.col(stats.best_language).replace_strict(dict(enumerate(lang_names)), return_dtype=pl.Utf8))
        .otherwise(pl.lit("unknown"))
    )
    guess = (
        pl.when(pl.col(text).is_null())
        .then(pl.lit(None, pl.Utf8))
        .when(pl.col(stats.letters) < min_letters)
        .then(pl.lit("unknown"))
        .when(scripts.list.max() >= pl.col(stats.letters) * SCRIPT_SHARE)
        .then(pl.when(top_script == "cjk").then(cjk).otherwise(top_script))
        .otherwise(latin)
    )
    frame = frame.with_columns(guess.cast(LABEL).alias(out))  # a few values on a million rows
    return frame.drop(c for c in frame.columns if c.startswith(tmp))
