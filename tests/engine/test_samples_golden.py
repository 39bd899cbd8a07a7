"""The sample project's build: golden counts, and every planted defect caught by the right stage.

samples/data/manifest.json is the generator's ground truth (which line carries which defect).
Regenerate the golden counts after an intended change with: UPDATE_GOLDEN=1 pytest -k golden
"""

from __future__ import annotations

import os
from pathlib import Path

import orjson
import polars as pl
import pytest

from tests.conftest import SAMPLES

GOLDEN = Path(__file__).parent / "golden" / "samples_counts.json"

# defect kind -> reason or flag codes any of which catches it
CAUGHT_BY = {
    "broken_json": {"schema.invalid-json"},
    "nan_value": {"schema.invalid-json"},
    "invalid_utf8": {"schema.invalid-utf8"},
    "not_an_object": {"schema.not-object"},
    "bad_role": {"schema.unknown-role"},
    "role_order": {"schema.role-order"},
    "no_assistant": {"schema.no-assistant"},
    "empty_answer": {"schema.empty-content", "quality.empty-answer"},
    "exact_duplicate": {"dedup.exact"},
    "format_duplicate": {"dedup.exact"},
    "near_duplicate": {
        "dedup.near",
        "dedup.exact",
    },  # some are identical once case and spacing are normalised
    "eval_leak": {"leakage.ngram", "leakage.near", "leakage.semantic", "dedup.exact", "dedup.near"},
    "benchmark_leak": {"leakage.ngram", "leakage.near", "leakage.semantic"},
    "refusal": {"quality.refusal"},
    "truncated_answer": {"quality.truncated"},
    "pii": {"quality.pii"},
    "placeholder_answer": {"quality.placeholder"},
    "missing_media": {"quality.missing-media"},
    "conflicting_answer": {"dedup.conflicting-answers"},
}


@pytest.fixture(scope="module")
def sample_build(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from curate.cli import main

    out = tmp_path_factory.mktemp("samples") / "build"
    # The estimate keeps the counts independent of whether `train run` has cached the tokenizer.
    config = tmp_path_factory.mktemp("cfg") / "curate.toml"
    text = (SAMPLES / "curate.toml").read_text().replace('tokenizer = "auto"', 'tokenizer = "estimate"')
    text = text.replace('"data/', f'"{SAMPLES}/data/').replace(
        'db = "../reviews.sqlite"', 'db = "reviews.sqlite"'
    )
    config.write_text(text)
    assert main(["build", str(config), "--out", str(out)]) == 0
    return out


def test_golden_counts(sample_build: Path) -> None:
    counts = orjson.loads((sample_build / "manifest.json").read_bytes())["counts"]
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.write_bytes(orjson.dumps(counts, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n")
    assert counts == orjson.loads(GOLDEN.read_bytes())


def test_every_planted_defect_is_caught(sample_build: Path) -> None:
    truth = orjson.loads((SAMPLES / "data" / "manifest.json").read_bytes())["support_chats.jsonl"]
    frame = pl.read_parquet(sample_build / "examples.parquet").filter(
        pl.col("source").str.ends_with("support_chats.jsonl")
    )
    codes_by_line = {
        row["line"]: {r["code"] for r in row["reasons"]} | {f["code"] for f in row["flags"]}
        for row in frame.select("line", "reasons", "flags").iter_rows(named=True)
    }
    missed = [
        (d["id"], d["kind"], sorted(codes_by_line[d["line"]]))
        for d in truth["defects"]
        if not CAUGHT_BY[d["kind"]] & codes_by_line[d["line"]] and not needs_semantic(d)
    ]
    assert missed == []


def needs_semantic(defect: dict) -> bool:
    """A reworded copy shares almost no word n-grams with its source: only embeddings see it."""
    return defect["kind"] == "benchmark_leak" and "reworded" in defect["detail"]


@pytest.mark.slow
def test_semantic_build_catches_the_reworded_leak(tmp_path: Path) -> None:
    from curate.cli import main

    truth = orjson.loads((SAMPLES / "data" / "manifest.json").read_bytes())["support_chats.jsonl"]
    reworded = [d for d in truth["defects"] if needs_semantic(d)]
    assert reworded
    assert main(["build", str(SAMPLES / "curate.toml"), "--semantic", "--out", str(tmp_path / "b")]) == 0
    frame = pl.read_parquet(tmp_path / "b" / "examples.parquet")
    for defect in reworded:
        row = frame.filter(pl.col("source_id") == defect["id"]).row(0, named=True)
        assert "leakage.semantic" in {r["code"] for r in row["reasons"]}, defect


def test_clean_rows_are_kept(sample_build: Path) -> None:
    truth = orjson.loads((SAMPLES / "data" / "manifest.json").read_bytes())["support_chats.jsonl"]
    frame = pl.read_parquet(sample_build / "examples.parquet").filter(
        pl.col("source").str.ends_with("support_chats.jsonl")
    )
    clean = frame.filter(pl.col("source_id").is_in(truth["clean_ids"]))
    assert clean.height == truth["clean"]
    wrongly_rejected = clean.filter(pl.col("status") == "rejected").select("source_id", "reasons").to_dicts()
    assert wrongly_rejected == []
