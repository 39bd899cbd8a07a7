"""Oversampled general rows are written to train.jsonl as many times as the mix chose."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl

from curate.engines.recipe import finalize
from curate.ingest.inputs import InputSpec, ingest
from curate.output.writers import write_build


def test_train_lines_repeat_by_mix_repeats(tmp_path: Path) -> None:
    source = tmp_path / "in.jsonl"
    rows = [
        {
            "messages": [
                {"role": "user", "content": f"question {w}"},
                {"role": "assistant", "content": f"answer {w}"},
            ]
        }
        for w in ("alpha", "beta", "gamma")
    ]
    source.write_bytes(b"\n".join(orjson.dumps(r) for r in rows) + b"\n")
    frame, _ = ingest([InputSpec(str(source), "input")], 1 << 20, parallel=False)
    frame = frame.with_columns(split=pl.lit("train"), mix_repeats=pl.Series([None, 3, 1], dtype=pl.Int32))
    counts = write_build(finalize(frame), tmp_path)
    lines = [orjson.loads(x) for x in (tmp_path / "train.jsonl").read_bytes().splitlines()]
    assert counts["train.jsonl"] == len(lines) == 5
    assert [line["messages"][0]["content"] for line in lines].count("question beta") == 3
