"""Review decisions on pairs: swap (recorded as such, applied by the next build), edit, and a
review store from before swaps existed opening without losing a decision."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import polars as pl

from curate.core.pairs import swapped_record
from curate.review.store import ReviewStore
from tests.preference.pairs import build, pair, write_jsonl


def _lines(folder: Path) -> dict[str, dict]:
    out = {}
    for name in ("train.jsonl", "eval.jsonl"):
        for line in (folder / name).read_bytes().splitlines():
            row = orjson.loads(line)
            out[row["id"]] = row
    return out


def test_swap_and_edit_apply_on_the_next_build(tmp_path: Path) -> None:
    data = write_jsonl(
        tmp_path / "pairs.jsonl", [pair(i, score_chosen=5, score_rejected=1) for i in range(20)]
    )
    folder = build(tmp_path, [data])
    frame = pl.read_parquet(folder / "examples.parquet")
    swap_id, edit_id = frame["id"][0], frame["id"][1]
    with ReviewStore(tmp_path / "reviews.sqlite") as store:
        store.record([swap_id], "swap", "ana", messages=swapped_record(frame["example"][0]))
        edited = {
            **pair(1),
            "chosen": [{"role": "assistant", "content": "A better, edited answer for case 1."}],
        }
        store.record([edit_id], "edit", "ana", messages=edited)
        assert store.decisions()[swap_id].action == "swap"
    again = build(tmp_path, [data])
    lines = _lines(again)
    assert lines[swap_id]["chosen"] == pair(0)["rejected"] and lines[swap_id]["rejected"] == pair(0)["chosen"]
    assert (lines[swap_id]["score_chosen"], lines[swap_id]["score_rejected"]) == (1, 5)
    assert lines[edit_id]["chosen"][0]["content"] == "A better, edited answer for case 1."
    assert lines[edit_id]["rejected"] == pair(1)["rejected"]
    rows = pl.read_parquet(again / "examples.parquet").filter(pl.col("id").is_in([swap_id, edit_id]))
    flags = {r["id"]: {f["code"] for f in r["flags"]} for r in rows.iter_rows(named=True)}
    assert "review.swapped" in flags[swap_id] and "review.edited" in flags[edit_id]
    review = orjson.loads((again / "manifest.json").read_bytes())["findings"]["review"]
    assert review["counts"]["swapped"] == 1 and review["counts"]["edited"] == 1


def test_a_store_from_before_swaps_takes_a_swap(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript(
        """CREATE TABLE decisions (
            seq INTEGER PRIMARY KEY AUTOINCREMENT, example_id TEXT NOT NULL,
            action TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'edit', 'note', 'undo')),
            messages TEXT, note TEXT, reviewer TEXT NOT NULL, at TEXT NOT NULL, batch INTEGER,
            undoes INTEGER REFERENCES decisions(seq));
        INSERT INTO decisions (example_id, action, reviewer, at, batch)
        VALUES ('a', 'reject', 'bo', 't', 1);"""
    )
    db.commit()
    db.close()
    with ReviewStore(path) as store:
        store.record(["b"], "swap", "ana", messages={"prompt": [], "chosen": [], "rejected": []})
        decisions = store.decisions()
    assert decisions["a"].action == "reject" and decisions["b"].action == "swap"
