"""The sample project's planted defects are flagged (ground truth: samples/data/manifest.json), and
its clean rows are not."""

from __future__ import annotations

import json
from typing import Any

import polars as pl
import pytest

from curate.ingest.inputs import InputSpec, ingest
from tests.conftest import SAMPLES
from tests.quality.helpers import codes, run_quality

DATA = SAMPLES / "data"
# planted kind -> the flag that must mark it
EXPECTED = {
    "truncated_answer": "quality.truncated",
    "refusal": "quality.refusal",
    "pii": "quality.pii",
    "placeholder_answer": "quality.placeholder",
    "missing_media": "quality.missing-media",
}
# Of these, the ones junk enough that the default score rejects them.
REJECTED_KINDS = {"refusal", "placeholder_answer"}


@pytest.fixture(scope="module")
def built() -> tuple[pl.DataFrame, dict[str, Any], dict[str, Any]]:
    manifest_path = DATA / "manifest.json"
    if not manifest_path.exists():
        pytest.skip(f"{manifest_path} is absent: run `python samples/generate.py`")
    specs = [
        InputSpec(str(DATA / "support_chats.jsonl"), "input", None),
        InputSpec(str(DATA / "eval.jsonl"), "eval", None),
        InputSpec(str(DATA / "general.jsonl"), "general", None),
        InputSpec(str(DATA / "benchmark.jsonl"), "benchmark", None),
    ]
    frame, _ = ingest(specs, 16_000_000)
    out, findings = run_quality(frame)
    return out, findings, json.loads(manifest_path.read_text())


def _planted(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return manifest["support_chats.jsonl"]["defects"] + manifest["general.jsonl"]["defects"]


def test_planted_quality_defects_are_flagged(
    built: tuple[pl.DataFrame, dict[str, Any], dict[str, Any]],
) -> None:
    out, _, manifest = built
    by_id = dict(zip(out["source_id"], codes(out), strict=True))
    planted = [d for d in _planted(manifest) if d["kind"] in EXPECTED]
    assert len(planted) >= 15
    missed = [(d["id"], d["kind"]) for d in planted if EXPECTED[d["kind"]] not in by_id[d["id"]]]
    assert missed == []


def test_junk_is_rejected_and_marked_rows_are_kept(
    built: tuple[pl.DataFrame, dict[str, Any], dict[str, Any]],
) -> None:
    out, _, manifest = built
    status = dict(zip(out["source_id"], out["status"], strict=True))
    for defect in _planted(manifest):
        if defect["kind"] in REJECTED_KINDS:
            assert status[defect["id"]] == "rejected", defect
    # Truncated, PII and missing-media rows are marked for a reviewer; at least some stay usable.
    marked = [d["id"] for d in _planted(manifest) if d["kind"] in ("pii", "truncated_answer")]
    assert sum(status[i] == "ok" for i in marked) >= len(marked) - 1


def test_empty_answers_never_reach_training(
    built: tuple[pl.DataFrame, dict[str, Any], dict[str, Any]],
) -> None:
    out, _, manifest = built
    rows = out.filter(
        pl.col("source_id").is_in([d["id"] for d in _planted(manifest) if d["kind"] == "empty_answer"])
    )
    assert rows.height >= 4
    assert set(rows["status"]) == {"rejected"}


def test_clean_rows_are_rarely_flagged(built: tuple[pl.DataFrame, dict[str, Any], dict[str, Any]]) -> None:
    out, _, manifest = built
    clean_ids = set(manifest["support_chats.jsonl"]["clean_ids"])
    clean = out.filter(pl.col("source_id").is_in(clean_ids))
    assert clean.height == len(clean_ids)
    flagged = [sid for sid, c in zip(clean["source_id"], codes(clean), strict=True) if c]
    assert len(flagged) <= 0.02 * len(clean_ids), flagged
    assert (clean["status"] == "ok").all()
    evals = out.filter(pl.col("origin") == "eval")
    assert sum(bool(c) for c in codes(evals)) <= 0.05 * evals.height


def test_benchmark_rows_stay_untouched(built: tuple[pl.DataFrame, dict[str, Any], dict[str, Any]]) -> None:
    out, _, _ = built
    bench = out.filter(pl.col("origin") == "benchmark")
    assert bench.height > 0
    assert set(bench["status"]) == {"protected"}
    assert all(c == set() for c in codes(bench))


def test_findings_name_the_planted_rows(built: tuple[pl.DataFrame, dict[str, Any], dict[str, Any]]) -> None:
    out, findings, _ = built
    refusal = findings["flags"]["quality.refusal"]
    assert refusal["count"] >= 5
    ids = {e["id"] for e in refusal["examples"]}
    planted_refusals = out.filter(pl.col("q_refusal").fill_null(False))["id"]
    assert ids <= set(planted_refusals)
    json.dumps(findings)  # JSON-serialisable for the manifest
