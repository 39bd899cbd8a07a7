"""From signals to flags and one score: which ``q_*`` column each flag reads, and how hard it counts.

Each rule turns its signal into a strength in [0, 1] (booleans are 0 or 1; ratios ramp up from
half their threshold to the threshold, so near-misses rank lower in dedup without being
flagged). The score is the product of (1 - weight * strength): independent defects compound,
and a clean example scores exactly 1.
"""

from __future__ import annotations

import functools
import operator
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from curate.core.config import QualitySection
from curate.stages.quality import patterns
from curate.stages.quality.signals import first_match
from curate.stages.quality.texts import ANSWER, ANSWER_LOWER, LAST_ANSWER
from curate.stages.quality.words import N


@dataclass(frozen=True)
class Rule:
    weight: str  # field of QualityWeights; also names the flag (quality.<weight with hyphens>)
    strength: Callable[[QualitySection], pl.Expr]
    message: Callable[[QualitySection], pl.Expr]

    @property
    def code(self) -> str:
        return "quality." + self.weight.replace("_", "-")


def _ramp(column: str, threshold: float, start: float = 0.5) -> pl.Expr:
    """0 below ``start`` times the threshold, 1 at and above the threshold, linear between."""
    low = threshold * start
    if threshold <= low:
        return (pl.col(column) >= threshold).cast(pl.Float64)
    return ((pl.col(column) - low) / (threshold - low)).clip(0.0, 1.0)


def _flag(column: str) -> Callable[[QualitySection], pl.Expr]:
    return lambda _: pl.col(column).cast(pl.Float64)


def _quote(text: pl.Expr, width: int = 80) -> pl.Expr:
    """A short one-line excerpt for flag messages."""
    one_line = text.str.head(width * 2).str.replace_all(r"\s+", " ").str.strip_chars()
    return pl.when(one_line.str.len_chars() > width).then(one_line.str.head(width) + "…").otherwise(one_line)


def _pct(column: str) -> pl.Expr:
    return (pl.col(column) * 100).round(0).cast(pl.Int64)


RULES: tuple[Rule, ...] = (
    Rule(
        "empty_answer",
        _flag("q_empty_answer"),
        lambda c: pl.format("an answer turn has {} visible characters", pl.col("q_min_turn_chars")),
    ),
    Rule(
        "placeholder",
        _flag("q_placeholder"),
        lambda c: pl.format("placeholder answer: «{}»", _quote(pl.col(ANSWER))),
    ),
    Rule(
        "garbage",
        lambda c: pl.max_horizontal(
            _ramp("q_symbol_ratio", c.symbol_threshold),
            ((pl.col("q_mojibake") > 0) | (pl.col("q_symbol_runs") > 0)).cast(pl.Float64),
        ),
        lambda c: pl.format(
            "{}% odd symbols (threshold {}%), {} broken-encoding characters, {} keyboard-mash runs",
            _pct("q_symbol_ratio").fill_null(0),
            pl.lit(round(c.symbol_threshold * 100)),
            pl.col("q_mojibake"),
            pl.col("q_symbol_runs"),
        ),
    ),
    Rule(
        "repetition",
        lambda c: (
            _ramp("q_repetition", c.repetition_threshold)
            * (pl.col("q_answer_words") - (N - 1) >= c.repetition_min_ngrams).cast(pl.Float64)
        ),
        lambda c: pl.format(
            "{}% of word 3-grams repeat (threshold {}%)",
            _pct("q_repetition"),
            pl.lit(round(c.repetition_threshold * 100)),
        ),
    ),
    Rule(
        "refusal",
        _flag("q_refusal"),
        lambda c: pl.format(
            "refusal or boilerplate: «{}»",
            first_match(
                pl.col(ANSWER_LOWER), patterns.REFUSAL + patterns.SELF_IDENTIFICATION
            ).str.strip_chars(" ,.!?:;\n"),
        ),
    ),
    Rule(
        "safety_refusal",
        _flag("q_safety_refusal"),
        lambda c: pl.format(
            "declines a harmful request: «{}»",
            first_match(
                pl.col(ANSWER_LOWER).str.head(patterns.REFUSAL_HEAD_CHARS + 60),
                patterns.REFUSAL + patterns.SELF_IDENTIFICATION,
            ).str.strip_chars(" ,.!?:;\n"),
        ),
    ),
    Rule(
        "echo",
        # Late ramp: restating the question overlaps ~0.8. An answer adding words of its own
        # ("Nauru is the smallest country ...") restates rather than echoes.
        lambda c: (
            _ramp("q_echo", c.echo_threshold, start=0.75)
            * (pl.col("q_new_words") <= c.echo_max_new_words).cast(pl.Float64)
        ),
        lambda c: pl.format(
            "{}% of word 3-grams shared with the prompt (threshold {}%), {} new words",
            _pct("q_echo"),
            pl.lit(round(c.echo_threshold * 100)),
            pl.col("q_new_words"),
        ),
    ),
    Rule(
        "truncated",
        _flag("q_truncated"),
        lambda c: (
            pl.when(pl.col(LAST_ANSWER).str.count_matches("```") % 2 == 1)
            .then(pl.lit("a code block is left open"))
            .otherwise(
                pl.format("ends mid-sentence: «…{}»", pl.col(LAST_ANSWER).str.strip_chars_end().str.tail(40))
            )
        ),
    ),
    Rule(
        "missing_media",
        _flag("q_missing_media"),
        lambda c: pl.format(
            "promises media or a link it does not hold: «{}»",
            pl.coalesce(
                first_match(pl.col(ANSWER_LOWER), patterns.MEDIA),
                pl.col(ANSWER_LOWER).str.extract(patterns.MEDIA_TAG, 0),
                first_match(pl.col(ANSWER_LOWER), patterns.LINK_PROMISE),
            ),
        ),
    ),
    Rule(
        "language_mismatch",
        _flag("q_language_mismatch"),
        lambda c: pl.format(
            "prompt reads as {}, answer as {}", pl.col("q_prompt_lang"), pl.col("q_answer_lang")
        ),
    ),
    Rule(
        "short_answer",
        _flag("q_short_answer"),
        lambda c: pl.format("{} words (minimum {})", pl.col("q_answer_words"), pl.lit(c.min_answer_words)),
    ),
    Rule(
        "pii",
        lambda c: (pl.col("q_pii") > 0).cast(pl.Float64),
        lambda c: pl.format("contains {}", pl.col("q_pii_kinds")),
    ),
    Rule(
        "too_long",
        _flag("q_too_long"),
        lambda c: pl.format("{} characters (limit {})", pl.col("q_answer_chars"), pl.lit(c.max_answer_chars)),
    ),
)


def strengths(config: QualitySection) -> list[pl.Expr]:
    """One ``_q_s_<weight>`` column per rule: its strength, 0 where the signal is missing."""
    return [rule.strength(config).fill_null(0.0).alias(f"_q_s_{rule.weight}") for rule in RULES]


def flagged(rule: Rule) -> pl.Expr:
    """A rule flags at full strength (for ratios: at or past the threshold)."""
    return pl.col(f"_q_s_{rule.weight}") >= 1.0


def score(config: QualitySection) -> pl.Expr:
    """The combined score in [0, 1]; null where the row has no canonical example."""
    weights = config.weights
    factors = [1.0 - getattr(weights, rule.weight) * pl.col(f"_q_s_{rule.weight}") for rule in RULES]
    product = functools.reduce(operator.mul, factors, pl.lit(1.0))
    return pl.when(pl.col(ANSWER).is_not_null()).then(product.clip(0.0, 1.0)).alias("quality_score")
