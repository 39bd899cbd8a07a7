"""Benchmarks protect every usable row: a benchmark item that lands in the eval split is rejected
as surely as one headed for train; eval items still protect only the rows that can be trained on."""

from __future__ import annotations

from pathlib import Path

import orjson
import polars as pl

from curate.stages.leakage import stage as leakage
from tests.leakage.frames import chat, context, frame_of
from tests.leakage.test_stage import GSM_LIKE, MMLU_LIKE, bench, row

TOPICS = [
    "the boiler pressure drops overnight",
    "my smart plug will not join the hub",
    "the solar panel export reading looks wrong",
    "the thermostat schedule resets after a power cut",
    "my direct debit was taken twice this month",
    "the heat pump makes a humming noise at night",
    "the battery warning stays on after charging",
    "my holiday mode timer ignores the frost setting",
]


def test_eval_rows_are_checked_against_benchmarks(tmp_path: Path) -> None:
    frame = frame_of(tmp_path, eval=[chat(f"Before I go: {GSM_LIKE}"), chat(TOPICS[0])], benchmark=bench())
    out = leakage.run(frame, context())
    leaked = row(out, 1, "eval")
    assert leaked["status"] == "rejected"
    assert [r["code"] for r in leaked["reasons"]] == ["leakage.ngram"]
    assert leaked["leak_item"] == "gsm-1" and leaked["leak_source"].endswith("benchmark.jsonl")
    assert row(out, 2, "eval")["status"] == "ok"  # not matched against itself


def test_eval_items_do_not_reject_each_other(tmp_path: Path) -> None:
    question = f"Hello there. {TOPICS[1]} and I have tried resetting it twice already, what now?"
    out = leakage.run(frame_of(tmp_path, eval=[chat(question), chat("Extra: " + question)]), context())
    assert out.filter(pl.col("origin") == "eval")["status"].to_list() == ["ok", "ok"]


def planted_inputs() -> list[dict]:
    records = []
    for i in range(40):
        topic = TOPICS[i % len(TOPICS)]
        question = f"Question {i}: {topic}, what should I check first on unit {i}?"
        if i % 4 == 0:
            question += f"\n\nAlso, my kid asked me this: {GSM_LIKE if i % 8 == 0 else MMLU_LIKE}"
        records.append(chat(question, f"Check the settings of unit {i} first, then call us if {topic}."))
    return records


def test_benchmark_text_in_the_auto_split_eval_set_is_rejected(tmp_path: Path, run_curate) -> None:
    inputs = tmp_path / "in.jsonl"
    inputs.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in planted_inputs()))
    benchmark = tmp_path / "bench.jsonl"
    benchmark.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in bench()))
    config = tmp_path / "curate.toml"
    # A seed and fraction under which some planted rows are drawn into eval (asserted below).
    config.write_text(
        "[split]\neval_fraction = 0.5\nseed = 3\n\n[quality]\nenabled = false\n\n[dedup]\nnear = false\n"
    )
    code, _, err = run_curate(
        "build", config, "--input", inputs, "--benchmark", benchmark, "--out", tmp_path / "b"
    )
    assert code == 0, err
    frame = pl.read_parquet(tmp_path / "b" / "examples.parquet")
    planted = frame.filter((pl.col("origin") == "input") & ((pl.col("line") - 1) % 4 == 0))
    assert planted.height == 10
    assert planted.filter(pl.col("split") == "eval").height >= 2  # the seed sends some to eval
    assert planted["status"].to_list() == ["rejected"] * 10
    codes = planted["reasons"].list.eval(pl.element().struct.field("code")).to_list()
    assert all(c[0].startswith("leakage.") for c in codes), codes
    assert planted["leak_source"].to_list() == [str(benchmark)] * 10
    eval_file = orjson.loads((tmp_path / "b" / "manifest.json").read_bytes())
    assert eval_file["counts"]["by_status"].get("eval", 0) >= 1
    written = (tmp_path / "b" / "eval.jsonl").read_text() + (tmp_path / "b" / "train.jsonl").read_text()
    assert "Natalia" not in written and "tides" not in written


def test_a_match_against_the_auto_split_eval_set_names_its_file_and_line(tmp_path: Path) -> None:
    question = f"Hello there. {TOPICS[2]} since the update and the app shows zero for every day of May."
    frame = frame_of(tmp_path, input=[chat(question), chat("So: " + question)])
    frame = frame.with_columns(split=pl.Series(["eval", "train"]))
    out = leakage.run(frame, context())
    leaked = row(out, 2)
    assert leaked["leak_label"] == f"eval item (split from {tmp_path / 'input.jsonl'}:1)"
    assert leaked["reasons"][0]["message"].startswith(f"contains eval item (split from {tmp_path}")
