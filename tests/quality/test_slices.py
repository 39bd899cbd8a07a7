"""Scoring slice by slice gives exactly what scoring the whole frame at once gives: the same
columns, signals, scores, flags, reasons and statuses in the same order, and the same findings
(counts and first examples) merged across slices."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
import pytest
from polars.testing import assert_frame_equal

from curate.ingest.inputs import InputSpec, ingest
from curate.ingest.store import with_examples
from curate.stages.quality import rows, texts, words
from curate.stages.quality import stage as quality
from tests.conftest import SAMPLES, shared_file
from tests.quality.helpers import chat, frame_of, run_quality

DATA = SAMPLES / "data"


def _both(frame: pl.DataFrame, monkeypatch: pytest.MonkeyPatch, slice_rows: int, **settings: Any) -> None:
    whole, whole_findings = run_quality(frame, **settings)
    monkeypatch.setattr(quality, "SLICE_ROWS", slice_rows)
    sliced, sliced_findings = run_quality(frame, **settings)
    monkeypatch.undo()
    assert frame.height > 3 * slice_rows  # several slices, and a short last one
    assert_frame_equal(sliced, whole, check_exact=True)
    assert sliced_findings == whole_findings
    assert sum(entry["count"] for entry in whole_findings["flags"].values()) > 0  # something to compare


def test_sample_project_sliced_equals_whole(monkeypatch: pytest.MonkeyPatch) -> None:
    if not (DATA / "support_chats.jsonl").exists():
        pytest.skip(f"{DATA} is absent: run `python samples/generate.py`")
    specs = [  # every origin: benchmark rows are protected, eval and general scored like input
        InputSpec(str(DATA / "support_chats.jsonl"), "input", None),
        InputSpec(str(DATA / "eval.jsonl"), "eval", None),
        InputSpec(str(DATA / "general.jsonl"), "general", None),
        InputSpec(str(DATA / "benchmark.jsonl"), "benchmark", None),
    ]
    frame, _ = ingest(specs, 16_000_000)
    _both(frame, monkeypatch, 37)
    _both(frame, monkeypatch, 50, reject_flags=["quality.pii", "quality.truncated"], min_score=0.6)


def test_alpaca_rows_sliced_equal_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = shared_file("alpaca.jsonl")
    with path.open("rb") as handle:
        lines = [line for _, line in zip(range(4000), handle, strict=False)]
    subset = tmp_path / "alpaca_head.jsonl"
    subset.write_bytes(b"".join(lines))
    frame, _ = ingest([InputSpec(str(subset), "input", None)], 16_000_000)
    _both(frame, monkeypatch, 700)


def test_invalid_rows_and_slice_edges(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    question = "How long does a Halo Mini battery last?"
    answer = "About a year with the supplied batteries; the app warns you two weeks before they run out."
    records: list[Any] = []
    for _ in range(4):
        records += [
            chat(question, answer),
            chat(question, "N/A"),
            "not an object",
            chat(question, "As an AI language model, I cannot know that."),
            chat(question, question),  # echo
            {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": " "}]},
            chat(question, "Email me at jane.doe@example.org, " + answer),
        ]
    frame = frame_of(tmp_path, records)
    for slice_rows in (1, 2, 5):
        _both(frame, monkeypatch, slice_rows)


def test_texts_decoded_in_parts_equal_decoded_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    question = "Which plan suits a family of four?"
    records: list[Any] = [
        chat(question, "The Family plan: four seats and shared storage."),
        {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": " "}]},
        chat(question, "Family.", "It costs 12 a month.", system="You are a support agent."),
        "not an object",  # no canonical example: null texts
    ] * 3
    frame = with_examples(frame_of(tmp_path, records))
    whole = texts.with_texts(frame)
    monkeypatch.setattr(texts, "DECODE_ROWS", 5)  # several parts, and a short last one
    assert_frame_equal(texts.with_texts(frame), whole, check_exact=True)


def _records(question: str) -> list[Any]:
    return [
        chat(question, "The Family plan: four seats and shared storage."),
        {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": " "}]},
        chat(question, "Family.", "It costs 12 a month.", system="You are a support agent."),
        chat(question, "Call +1 (555) 010-4477 or mail help@example.org; the card 4111 1111 1111 1111."),
        "not an object",  # no canonical example: null texts
    ] * 3


def test_texts_read_from_the_file_in_parts_equal_read_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = frame_of(tmp_path, _records("Which plan suits a family of four?"))
    assert frame["example"].is_null().sum() >= 9  # the examples are left in the file
    whole = texts.with_texts(with_examples(frame))
    monkeypatch.setattr(texts, "DECODE_ROWS", 4)  # each part reads its own rows from the file
    assert_frame_equal(texts.with_texts(frame), whole, check_exact=True)


def test_compiled_reads_in_pieces_equal_one_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = frame_of(tmp_path, _records("Which plan suits a family of four?"))
    whole, whole_findings = run_quality(frame)
    monkeypatch.setattr(rows, "KERNEL_ROWS", 4)  # several pieces, and a short last one
    monkeypatch.setattr(words, "KERNEL_ROWS", 4)
    pieces, pieces_findings = run_quality(frame)
    assert_frame_equal(pieces, whole, check_exact=True)
    assert pieces_findings == whole_findings
    assert whole["q_pii"].max() >= 2  # the numbers' compiled test found the phone and the card
