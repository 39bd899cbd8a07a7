"""Real data: the 52,002 Stanford Alpaca records are all accounted for; the 28 empty answers rejected."""

from __future__ import annotations

from pathlib import Path

import orjson

from tests.conftest import shared_file


def test_alpaca_every_record_accounted_for(tmp_path: Path, run_curate) -> None:
    alpaca = shared_file("alpaca.jsonl")
    code, _, err = run_curate("build", "--input", alpaca, "--out", tmp_path / "b")
    assert code == 0, err
    manifest = orjson.loads((tmp_path / "b" / "manifest.json").read_bytes())
    counts = manifest["counts"]
    assert counts["records"] == 52_002 == manifest["inputs"][0]["records"]
    lines = {
        name: sum(1 for _ in (tmp_path / "b" / name).open("rb"))
        for name in ("train.jsonl", "eval.jsonl", "rejected.jsonl")
    }
    assert sum(lines.values()) == 52_002
    rejected = [orjson.loads(line) for line in (tmp_path / "b" / "rejected.jsonl").open("rb")]
    empty = [r for r in rejected if any(x["code"] == "schema.empty-content" for x in r["reasons"])]
    assert len(empty) == 28
    assert all(r["example"]["messages"][-1]["content"].strip() == "" for r in empty)
    assert {r["source_id"] for r in empty} <= {str(i) for i in range(52_002)}
