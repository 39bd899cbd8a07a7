"""Recall on benchmark items planted in real Alpaca rows (the set benchmarks/leakage_recall.py
measures in full), on a slice small enough for the default test run."""

from __future__ import annotations

import importlib.util
import re
import sys
import tempfile
from pathlib import Path
from types import ModuleType

from tests.conftest import ROOT, shared_file


def recall_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("leakage_recall", ROOT / "benchmarks" / "leakage_recall.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["leakage_recall"] = module
    spec.loader.exec_module(module)
    return module


def words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.lower()))


def test_planted_benchmark_items_are_found_and_clean_rows_left_alone() -> None:
    lr = recall_module()
    alpaca = lr.read_chat(shared_file("alpaca.jsonl"), 5000)
    benchmarks = {name: lr.read_chat(shared_file(f"{name}.jsonl")) for name in lr.BENCHMARKS}
    rows, labels = lr.plant(alpaca, benchmarks, per_kind=20)
    with tempfile.TemporaryDirectory() as folder:
        train = Path(folder) / "planted.jsonl"
        lr.write_jsonl(train, rows)
        frame = lr.ingest_frame(train, [shared_file(f"{name}.jsonl") for name in lr.BENCHMARKS])
        out, _ = lr.run_stage(frame)  # inside: the stage reads example text back from the input file
    result = lr.score(out, labels)
    for kind, (hit, total) in result["per_kind"].items():
        assert hit / total >= (0.95 if kind == "template" else 0.99), (kind, hit, total)
    assert result["recall"] >= 0.99
    # Alpaca holds a few genuine copies of benchmark text ("Who are you?" is a TruthfulQA item).
    # A clean row may be flagged only for such a literal copy, never for a loose resemblance.
    items = {str(item["id"]): lr.user_text(item) for name in lr.BENCHMARKS for item in benchmarks[name]}
    for slot, (method, item, span) in result["clean_flagged"].items():
        assert method in ("ngram", "exact"), (slot, method, span)
        assert words(span) in words(items[item]) or any(words(span) in words(t) for t in items.values()), span
    assert len(result["clean_flagged"]) <= 2


def test_plain_13_grams_miss_short_items_the_stage_finds() -> None:
    lr = recall_module()
    alpaca = lr.read_chat(shared_file("alpaca.jsonl"), 2000)
    benchmarks = {"truthfulqa": lr.read_chat(shared_file("truthfulqa.jsonl"))}
    rows, labels = lr.plant(alpaca, benchmarks, per_kind=20)
    assert len(labels) == 80
    baseline, _ = lr.plain_13gram(rows, benchmarks)
    assert lr.score(baseline, labels)["recall"] < 0.9  # TruthfulQA questions are mostly under 13 words
    with tempfile.TemporaryDirectory() as folder:
        train = Path(folder) / "planted.jsonl"
        lr.write_jsonl(train, rows)
        frame = lr.ingest_frame(train, [shared_file("truthfulqa.jsonl")])
        out, _ = lr.run_stage(frame)
    assert lr.score(out, labels)["recall"] >= 0.99
