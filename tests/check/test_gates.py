"""The gate library: level semantics, what counts as leakage, and measures a build could not take."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl
import pytest
from hypothesis import given
from hypothesis import strategies as st

from curate.core.config import GateLevels, GatesSection
from curate.core.frame import REASON_DTYPE
from curate.gates.rules import SEVERITY, evaluate, judge, load_frame, measure

levels = st.one_of(st.none(), st.floats(0, 1000, allow_nan=False))


def test_levels_are_the_most_allowed_for_max_and_the_least_for_min() -> None:
    assert judge(0.25, GateLevels(warn=0.05, fail=0.25), "max") == "warn"  # at the level: allowed
    assert judge(0.2501, GateLevels(warn=0.05, fail=0.25), "max") == "fail"
    assert judge(0.05, GateLevels(warn=0.05, fail=0.25), "max") == "pass"
    assert judge(10, GateLevels(warn=100, fail=10), "min") == "warn"
    assert judge(9, GateLevels(warn=100, fail=10), "min") == "fail"
    assert judge(100, GateLevels(warn=100, fail=10), "min") == "pass"
    assert judge(1, GateLevels(fail=0), "max") == "fail"  # leakage_count: any leak fails
    assert judge(5.0, GateLevels(), "max") == "pass"
    assert judge(None, GateLevels(warn=0, fail=0), "max") == "skip"


@given(a=st.floats(0, 1000, allow_nan=False), b=st.floats(0, 1000, allow_nan=False), warn=levels, fail=levels)
def test_a_worse_value_never_gets_a_better_verdict(
    a: float, b: float, warn: float | None, fail: float | None
) -> None:
    low, high = sorted((a, b))
    gate = GateLevels(warn=warn, fail=fail)
    assert SEVERITY[judge(high, gate, "max")] >= SEVERITY[judge(low, gate, "max")]
    assert SEVERITY[judge(low, gate, "min")] >= SEVERITY[judge(high, gate, "min")]


def _read(build: Path) -> tuple[dict, pl.DataFrame]:
    return orjson.loads((build / "manifest.json").read_bytes()), load_frame(build)


def _status(results: list, name: str) -> str:
    return next(r.status for r in results if r.name == name)


def test_a_leak_that_reaches_train_fails_the_build(good_build: Path) -> None:
    manifest, frame = _read(good_build)
    assert measure(frame, manifest)["leakage_count"] == 0
    mark = pl.lit(
        [{"code": "leakage.near", "stage": "leakage", "message": "planted", "ref": None}],
        dtype=pl.List(REASON_DTYPE),
    )
    first_train = (pl.col("status") == "train") & (
        pl.int_range(pl.len()) == pl.arg_where(pl.col("status") == "train").first()
    )
    leaked = frame.with_columns(flags=pl.when(first_train).then(mark).otherwise(pl.col("flags")))
    measures = measure(leaked, manifest)
    assert measures["leakage_count"] == 1
    assert _status(evaluate(measures, GatesSection()), "leakage_count") == "fail"


def test_unmeasured_leakage_warns_where_there_is_something_to_protect(good_build: Path) -> None:
    manifest, frame = _read(good_build)
    manifest = {**manifest, "findings": {k: v for k, v in manifest["findings"].items() if k != "leakage"}}
    frame = frame.drop([c for c in frame.columns if c.startswith("leak_")])
    measures = measure(frame, manifest)
    assert measures["leakage_count"] is None
    results = evaluate(measures, GatesSection())
    assert _status(results, "leakage_count") == "warn"
    assert _status(results, "leakage_rejected_rate") == "skip"
    nothing_to_protect = frame.filter(~pl.col("status").is_in(["protected", "eval"]))
    assert _status(evaluate(measure(nothing_to_protect, manifest), GatesSection()), "leakage_count") == "skip"


def test_missing_stages_skip_their_gates_instead_of_passing(good_build: Path) -> None:
    manifest, frame = _read(good_build)
    bare = frame.select("origin", "status", "reasons")  # no flags, tokens, scores, clusters
    measures = measure(bare, {"counts": manifest["counts"]})
    results = evaluate(measures, GatesSection())
    for name in (
        "duplicate_rate",
        "low_quality_rate",
        "leakage_rejected_rate",
        "general_shortfall",
        "tokens_p95",
    ):
        assert _status(results, name) == "skip", name
    assert _status(results, "invalid_rate") == "pass"
    assert measures["min_train"] == frame.filter(pl.col("status") == "train").height


def test_general_shortfall_measures_the_mix_against_its_ratio(good_build: Path) -> None:
    manifest, frame = _read(good_build)
    general = frame.head(30).with_columns(origin=pl.lit("general"), status=pl.lit("rejected"))
    with_general = pl.concat([frame, general])
    manifest = {**manifest, "config": {**manifest["config"], "mix": {"ratio": 0.2}}}
    measures = measure(with_general, manifest)
    assert measures["general_share"] == 0
    assert measures["general_shortfall"] == pytest.approx(0.2)
    assert _status(evaluate(measures, GatesSection()), "general_shortfall") == "warn"


def test_dedup_turned_off_is_unmeasured_not_clean(good_build: Path) -> None:
    manifest, frame = _read(good_build)
    off = {
        **manifest,
        "config": {**manifest["config"], "dedup": {"exact": False, "near": False, "semantic": False}},
    }
    assert measure(frame, manifest)["duplicate_rate"] is not None
    measures = measure(frame, off)
    assert measures["duplicate_rate"] is None
    assert _status(evaluate(measures, GatesSection()), "duplicate_rate") == "skip"
