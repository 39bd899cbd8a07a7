"""The quality stage's contract: columns, score range, who gets flagged or rejected, findings, config."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from curate.core.config import QualitySection, load_config
from curate.core.errors import ConfigError
from curate.core.frame import reject
from curate.core.reasons import REASONS
from curate.stages.quality.score import RULES
from tests.quality.helpers import chat, codes, frame_of, run_quality

Q = "How long does a Halo Mini battery last?"
A = "About a year with the supplied batteries; the app warns you two weeks before they run out."


def _mixed(tmp_path: Path) -> pl.DataFrame:
    records = [
        chat(Q, A),
        chat(Q, "N/A"),
        chat(Q, "As an AI language model, I cannot know that."),
        chat(Q, "About a year with the supplied batteries, and the"),
        {"messages": [{"role": "user", "content": Q}, {"role": "assistant", "content": "   "}]},  # schema
        "not an object",
    ]
    return frame_of(tmp_path, records)


def test_no_row_is_dropped_and_every_signal_is_a_column(tmp_path: Path) -> None:
    frame = _mixed(tmp_path)
    out, _ = run_quality(frame)
    assert out.height == frame.height
    assert out["id"].to_list() == frame["id"].to_list()
    assert out.schema["quality_score"] == pl.Float64
    signals = {c for c in out.columns if c.startswith("q_")}
    expected = {
        "q_answer_chars",
        "q_repetition",
        "q_symbol_ratio",
        "q_echo",
        "q_truncated",
        "q_refusal",
        "q_placeholder",
        "q_pii",
        "q_missing_media",
        "q_language_mismatch",
        "q_too_long",
        "q_empty_answer",
        "q_short_answer",
    }
    assert expected <= signals
    assert not [c for c in out.columns if c.startswith("_q")]


def test_rows_without_a_canonical_example_have_no_score(tmp_path: Path) -> None:
    out, _ = run_quality(_mixed(tmp_path))
    invalid = out.filter(pl.col("dedup_key").is_null())
    assert invalid.height == 2
    assert invalid["quality_score"].null_count() == 2
    assert invalid["q_answer_chars"].null_count() == 2
    assert all(c == set() for c in codes(invalid))
    # their schema reasons are untouched: no quality reason added
    assert all(not any(code.startswith("quality.") for code in c) for c in codes(invalid, "reasons"))


def test_scores_are_in_range_and_junk_fails(tmp_path: Path) -> None:
    out, _ = run_quality(_mixed(tmp_path))
    scores = out["quality_score"].to_list()
    assert scores[0] == 1.0
    assert scores[1] == 0.0  # placeholder weighs 1
    assert scores[2] == pytest.approx(0.3)  # refusal weighs 0.7
    assert scores[3] == pytest.approx(0.5)  # truncated weighs 0.5: marked, kept
    assert out["status"].to_list()[:4] == ["ok", "rejected", "rejected", "ok"]
    messages = [r["message"] for r in out["reasons"][1] if r["code"] == "quality.low-score"]
    assert messages == ["score 0.0 below 0.4: quality.placeholder"]


def test_weights_and_threshold_come_from_config(tmp_path: Path) -> None:
    frame = _mixed(tmp_path)
    lenient, _ = run_quality(frame, min_score=0.0)
    assert set(lenient["status"].drop_nulls()) == {"ok", "rejected"}
    assert not any("quality.low-score" in c for c in codes(lenient, "reasons"))
    ignored, _ = run_quality(frame, weights={"refusal": 0.0})
    assert ignored["quality_score"][2] == 1.0
    assert ignored["status"][2] == "ok"
    assert "quality.refusal" in codes(ignored)[2]  # still flagged: weights score, flags mark


def test_reject_flags_reject_with_the_flag_code(tmp_path: Path) -> None:
    frame = frame_of(tmp_path, [chat(Q, A), chat(Q, "About a year with the supplied batteries, and the")])
    out, _ = run_quality(frame, reject_flags=["quality.truncated"])
    assert out["status"].to_list() == ["ok", "rejected"]
    assert codes(out, "reasons")[1] == {"quality.truncated"}


def test_benchmark_rows_are_scored_but_never_flagged_or_rejected(tmp_path: Path) -> None:
    frame = frame_of(tmp_path, [chat(Q, "N/A"), chat(Q, A)], origin="benchmark")
    out, findings = run_quality(frame)
    assert out["status"].to_list() == ["protected", "protected"]
    assert out["quality_score"].to_list() == [0.0, 1.0]
    assert codes(out) == [set(), set()]
    assert findings["flags"]["quality.placeholder"]["count"] == 0


def test_already_rejected_rows_are_flagged_but_not_rejected_twice(tmp_path: Path) -> None:
    frame = frame_of(tmp_path, [chat(Q, "N/A")])
    frame = reject(frame, pl.lit(True), "length.too-long", "pretend it was too long")
    out, _ = run_quality(frame)
    assert "quality.placeholder" in codes(out)[0]
    assert codes(out, "reasons")[0] == {"length.too-long"}


def test_findings_count_every_flag_with_examples(tmp_path: Path) -> None:
    out, findings = run_quality(_mixed(tmp_path))
    assert set(findings["flags"]) == {rule.code for rule in RULES}
    for code, entry in findings["flags"].items():
        flagged = sum(code in c for c in codes(out))
        assert entry["count"] == flagged
        assert entry["meaning"] == REASONS[code][1]
        assert len(entry["examples"]) == min(flagged, 5)
        assert {e["id"] for e in entry["examples"]} <= set(out["id"])
    assert findings["low_score"]["count"] == 2
    assert findings["scored"] == 4


def test_disabled_stage_passes_the_frame_through(tmp_path: Path) -> None:
    frame = _mixed(tmp_path)
    out, findings = run_quality(frame, enabled=False)
    assert out.equals(frame)
    assert findings == {}


def test_every_flag_code_is_registered_for_the_quality_stage() -> None:
    for rule in RULES:
        assert REASONS[rule.code][0] == "quality"
        assert hasattr(QualitySection().weights, rule.weight)
    assert REASONS["quality.low-score"][0] == "quality"


@pytest.mark.parametrize(
    ("settings_", "needle"),
    [
        (
            {"weights": {"refusal": 1.5}},
            "[quality] weights.refusal: expected a number between 0 and 1, got 1.5",
        ),
        ({"weights": {"vibes": 0.5}}, "[quality] weights.vibes: unknown key"),
        ({"reject_flags": ["quality.nonsense"]}, "[quality] reject_flags[0]: expected a quality flag code"),
        ({"min_score": 2}, "[quality] min_score: expected a number between 0 and 1, got 2"),
    ],
)
def test_bad_quality_config_is_reported(settings_: dict[str, object], needle: str) -> None:
    with pytest.raises(ConfigError) as error:
        load_config(None, {"quality": settings_})
    assert needle in str(error.value)


def test_toml_settings_reach_the_section(tmp_path: Path) -> None:
    path = tmp_path / "curate.toml"
    path.write_text(
        '[quality]\nmin_score = 0.25\nreject_flags = ["quality.pii"]\n[quality.weights]\npii = 0.9\n'
    )
    config = load_config(path).quality
    assert (config.min_score, config.reject_flags, config.weights.pii) == (0.25, ["quality.pii"], 0.9)
    assert config.weights.refusal == QualitySection().weights.refusal  # untouched weights keep defaults


_TEXT = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=300).filter(
    lambda t: t.strip() != "" and "\x00" not in t
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(_TEXT, _TEXT), min_size=1, max_size=8))
def test_any_text_gets_a_score_in_range(tmp_path: Path, pairs: list[tuple[str, str]]) -> None:
    frame = frame_of(tmp_path, [chat(user, answer) for user, answer in pairs])
    out, _ = run_quality(frame)
    assert out.height == frame.height
    scored = out.filter(pl.col("dedup_key").is_not_null())["quality_score"]
    assert scored.null_count() == 0
    assert ((scored >= 0.0) & (scored <= 1.0)).all()
    low = out["quality_score"] < 0.4
    assert (out.filter(low)["status"] == "rejected").all()


def test_too_long_follows_the_configured_limit(tmp_path: Path) -> None:
    frame = frame_of(tmp_path, [chat(Q, A), chat(Q, A + " " + A)])
    out, _ = run_quality(frame, max_answer_chars=len(A) + 5)
    assert ["quality.too-long" in c for c in codes(out)] == [False, True]
    assert out["status"].to_list() == ["ok", "ok"]  # weight 0.2: marked, kept


def test_empty_and_all_invalid_frames(tmp_path: Path) -> None:
    empty = frame_of(tmp_path, [chat(Q, A)], name="one.jsonl").head(0)
    out, findings = run_quality(empty)
    assert out.height == 0 and "quality_score" in out.columns
    assert findings["scored"] == 0
    invalid = frame_of(tmp_path, ["x", {"messages": []}], name="invalid.jsonl")
    out, findings = run_quality(invalid)
    assert out["quality_score"].null_count() == 2
    assert findings["low_score"]["count"] == 0
