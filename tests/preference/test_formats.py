"""The three pair formats through the build: detected per record, written back in TRL's form."""

from __future__ import annotations

from pathlib import Path

import fastjsonschema
import orjson
import pytest

from curate.core.records import load_schema
from tests.preference.pairs import build, pair, question, write_jsonl


def _implicit(i: int) -> dict:
    record = pair(i)
    return {"chosen": record["prompt"] + record["chosen"], "rejected": record["prompt"] + record["rejected"]}


def _text(i: int) -> dict:
    record = pair(i)
    return {
        "prompt": record["prompt"][0]["content"],
        "chosen": record["chosen"][0]["content"],
        "rejected": record["rejected"][0]["content"],
    }


FORMATS = {
    "preference": lambda i: pair(i, score_chosen=8.5, score_rejected=2, meta={"source": "ui"}),
    "preference-implicit": _implicit,
    "preference-text": _text,
}


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_schema_accepts_its_format(name: str) -> None:
    fastjsonschema.compile(load_schema(name))(FORMATS[name](1))


def test_three_formats_round_trip(tmp_path: Path) -> None:
    records = [FORMATS[name](10 * k + i) for k, name in enumerate(sorted(FORMATS)) for i in range(6)]
    data = write_jsonl(tmp_path / "pairs.jsonl", records)
    folder = build(tmp_path, [data], "[split]\neval_fraction = 0.0\n[leakage]\nenabled = false\n")
    written = [orjson.loads(line) for line in (folder / "train.jsonl").read_bytes().splitlines()]
    assert len(written) == len(records)
    for line, (k, name, i) in zip(
        written, [(k, n, i) for k, n in enumerate(sorted(FORMATS)) for i in range(6)], strict=True
    ):
        expected = pair(10 * k + i)
        assert line["prompt"] == expected["prompt"], name
        assert line["chosen"] == expected["chosen"] and line["rejected"] == expected["rejected"], name
        assert line["prompt"][0]["content"] == question(10 * k + i)
        if name == "preference":
            assert (line["score_chosen"], line["score_rejected"], line["meta"]) == (8.5, 2, {"source": "ui"})
    manifest = orjson.loads((folder / "manifest.json").read_bytes())
    assert manifest["inputs"][0]["formats"] == {name: 6 for name in FORMATS}
    # What the build writes is what DPOTrainer reads: datasets loads it as prompt/chosen/rejected.
    from datasets import load_dataset  # heavy: only this test needs it

    loaded = load_dataset("json", data_files=str(folder / "train.jsonl"), split="train")
    assert {"prompt", "chosen", "rejected"} <= set(loaded.column_names) and len(loaded) == len(records)


def test_a_pair_written_twice_in_two_formats_is_one_pair(tmp_path: Path) -> None:
    data = write_jsonl(tmp_path / "pairs.jsonl", [_text(1), pair(1), *(pair(i) for i in range(2, 20))])
    folder = build(tmp_path, [data])
    rejected = [orjson.loads(line) for line in (folder / "rejected.jsonl").read_bytes().splitlines()]
    assert [(r["line"], r["reasons"][0]["code"]) for r in rejected] == [(2, "dedup.exact")]
