"""An edit goes through every row-level check again at the next build: a reviewer cannot paste
a benchmark question, a copy of another row, or a refusal into the training set."""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import polars as pl
import pytest

from curate.cli import main
from curate.review.store import ReviewStore

GSM8K_TEST_ITEM = (
    "Janet's ducks lay 16 eggs per day. She eats three for breakfast every morning and bakes muffins "
    "for her friends every day with four. She sells the remainder at the farmers' market daily for $2 "
    "per fresh duck egg. How much in dollars does she make every day at the farmers' market?"
)
CHATS = [
    (
        "How do I reset my password?",
        "Click 'Forgot password' on the sign-in page and follow the link we email.",
    ),
    (
        "Can I get an invoice for last month?",
        "Yes: Billing > Invoices lists every invoice as a PDF you can save.",
    ),
    ("Why was my card declined?", "Banks decline for limits or fraud checks; try again or use another card."),
    ("How long does shipping take?", "Standard shipping takes three to five business days in most regions."),
    ("Do you ship to Canada?", "We ship to Canada, and duties are shown at checkout before you pay."),
    ("Where is my order?", "The tracking link is in your confirmation email, under Track my parcel."),
]


def chat(question: str, answer: str) -> dict:
    return {"messages": [{"role": "user", "content": question}, {"role": "assistant", "content": answer}]}


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    (tmp_path / "chats.jsonl").write_bytes(b"".join(orjson.dumps(chat(q, a)) + b"\n" for q, a in CHATS))
    (tmp_path / "gsm8k_test.jsonl").write_bytes(orjson.dumps(chat(GSM8K_TEST_ITEM, "18")) + b"\n")
    (tmp_path / "curate.toml").write_text(
        '[build]\nname = "b"\ninputs = ["chats.jsonl"]\nbenchmarks = ["gsm8k_test.jsonl"]\n\n'
        '[split]\neval_fraction = 0.0\n\n[validate]\ntokenizer = "estimate"\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ids_by_question(build: Path) -> dict[str, str]:
    frame = pl.read_parquet(build / "examples.parquet").filter(pl.col("origin") == "input")
    return {
        orjson.loads(e)["messages"][0]["content"]: i for i, e in frame.select("id", "example").iter_rows()
    }


def rebuilt_row(project: Path, question: str, answer: str, edited_question: str | None = None) -> dict:
    assert main(["build"]) == 0
    build = project / "build" / "b"
    target = ids_by_question(build)[question]
    with ReviewStore(project / "reviews.sqlite") as store:
        store.record([target], "edit", "ana", messages=chat(edited_question or question, answer)["messages"])
    assert main(["build"]) == 0
    frame = pl.read_parquet(build / "examples.parquet")
    return frame.filter(pl.col("id") == target).row(0, named=True)


def codes(row: dict, column: str = "reasons") -> list[str]:
    return [r["code"] for r in row[column]]


def test_an_edit_that_pastes_a_benchmark_question_is_rejected_and_check_reports_it(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    answer = f"Here is a fun one to try while you wait: {GSM8K_TEST_ITEM}"
    row = rebuilt_row(project, "Where is my order?", answer)
    assert row["status"] == "rejected"
    assert codes(row) == ["leakage.ngram"]
    assert "review.edited" in codes(row, "flags")
    assert row["leak_source"].endswith("gsm8k_test.jsonl")
    build = project / "build" / "b"
    assert GSM8K_TEST_ITEM not in (build / "train.jsonl").read_text()
    capsys.readouterr()
    main(["check", str(build), "--json", str(project / "gates.json")])
    gates = json.loads((project / "gates.json").read_text())
    rate = next(g for g in gates["gates"] if g["name"] == "leakage_rejected_rate")
    assert rate["value"] > 0


def test_an_edit_that_rewrites_a_row_into_a_near_copy_of_another_is_rejected(project: Path) -> None:
    question, answer = CHATS[4]
    fresh = "Open Orders in your account; each order has a live tracking page with the courier's updates."
    row = rebuilt_row(project, "Where is my order?", fresh)
    assert row["status"] == "train"
    near = rebuilt_row(project, "Where is my order?", "Sure! " + answer, edited_question=question.upper())
    assert near["status"] == "rejected"
    assert codes(near) == ["dedup.near"]
    assert near["reasons"][0]["message"].startswith("after review: near-duplicate of the kept input record")
    assert "review.edited" in codes(near, "flags")


def test_an_edit_is_scored_again_and_rejected_with_the_quality_code(project: Path) -> None:
    row = rebuilt_row(project, "Where is my order?", "As an AI language model, I cannot help with that.")
    assert row["status"] == "rejected"
    assert all(code.startswith("quality.") for code in codes(row))
    assert "quality.refusal" in codes(row) + codes(row, "flags")
    assert "review.edited" in codes(row, "flags")
