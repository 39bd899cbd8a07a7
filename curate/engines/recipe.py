"""The build as a recipe: which inputs are read, the stages in order, and the final accounting.

Every executor (the local one here, a distributed one beside it) runs this same list.
Stage order matters: quality runs before dedup so the kept duplicate is the best one; split
assigns the ``split`` column after dedup (groups never straddle it) and before leakage (which
protects the eval side); review decisions apply after every automatic stage so a reviewer's
accept can override a soft flag; mix sizes the general share against the final train count.
Statuses become final only in ``finalize``: ok rows take their ``split`` value.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import polars as pl

from curate.core.context import BuildContext
from curate.core.frame import LABEL, reject
from curate.engines.edit_rechecks import review_then_recheck
from curate.ingest.inputs import InputSpec, InputSummary
from curate.stages import length, mix, review, split
from curate.stages.dedup import exact as exact_dedup
from curate.stages.dedup import near as near_dedup
from curate.stages.leakage import stage as leakage
from curate.stages.preference import bias as pair_bias
from curate.stages.preference import checks as pair_checks
from curate.stages.preference import dedup as pair_dedup
from curate.stages.preference import kind as build_kind
from curate.stages.preference.leakage import both_sides
from curate.stages.quality import stage as quality

Stage = Callable[[pl.DataFrame, BuildContext], pl.DataFrame]

# Preference pairs (curate.stages.preference) ride through the chat stages as their prompt and
# chosen answer; the pair_* stages add what only a pair has, and do nothing in a chat build.
STAGES: list[tuple[str, Stage]] = [
    (build_kind.NAME, build_kind.run),
    (length.NAME, length.run),
    (pair_checks.NAME, pair_checks.run),
    (quality.NAME, quality.run),
    (pair_checks.ANSWERS_NAME, pair_checks.run_answers),
    (exact_dedup.NAME, exact_dedup.run),
    (near_dedup.NAME, near_dedup.run),
    (pair_dedup.NAME, pair_dedup.run),
    (split.NAME, split.run),
    (leakage.NAME, both_sides(leakage.run, leakage.NAME)),
    (review.NAME, review_then_recheck),  # edited rows go through the row-level checks again
    (mix.NAME, mix.run),
    (pair_bias.NAME, pair_bias.run),
]


@dataclass
class BuildResult:
    """What an executor hands to the writers: one row per input record, plus what the stages found."""

    frame: pl.DataFrame
    inputs: list[InputSummary]
    timings: dict[str, float] = field(default_factory=dict)
    findings: dict[str, Any] = field(default_factory=dict)


def input_specs(ctx: BuildContext) -> list[InputSpec]:
    build = ctx.config.build
    specs: list[InputSpec] = []
    for origin, paths in (
        ("input", build.inputs),
        ("eval", build.eval),
        ("general", build.general),
        ("benchmark", build.benchmarks),
    ):
        for path in paths:
            fmt = build.formats.get(path, build.format)
            specs.append(InputSpec(ctx.config.resolve(path), origin, None if fmt == "auto" else fmt))
    return specs


def finalize(frame: pl.DataFrame) -> pl.DataFrame:
    """Usable rows take their split as status; general rows the mix did not take are accounted
    for as not sampled, never dropped."""
    leftover = (pl.col("status") == "ok") & (pl.col("origin") == "general") & pl.col("split").is_null()
    frame = reject(frame, leftover, "mix.not-sampled", "general record not needed for the configured mix")
    frame = frame.with_columns(
        status=pl.when(pl.col("status") == "ok").then(pl.col("split").cast(LABEL)).otherwise(pl.col("status"))
    )
    stray = frame.filter(pl.col("status").is_null() | (pl.col("status") == "ok"))
    if stray.height:  # a stage bug, not a data problem: fail loudly rather than lose records
        raise AssertionError(f"{stray.height} records left without a final status after the build")
    return frame
