"""The app's headless parts: the model's filters, sorts and counters, and the diff spans."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from curate.review.store import ReviewStore
from tests.tui.builds import make_build
from tui.diff import changed_spans, overlap_spans
from tui.model import Filter, ReviewModel, Sort, first_user_turn


@pytest.fixture
def model(tmp_path: Path) -> ReviewModel:
    store = ReviewStore(tmp_path / "r.sqlite")
    return ReviewModel(make_build(tmp_path / "build"), store, "tester")


def ids(model: ReviewModel) -> list[str]:
    return [str(model.index["id"][r]) for r in model.view.to_list()]


def test_filters_combine(model: ReviewModel) -> None:
    model.apply(Filter(status="rejected"))
    assert len(model) == 4
    model.apply(Filter(reason="dedup.near"))
    assert ids(model) == ["a0000000000000004"]
    model.apply(Filter(reason="quality.placeholder"))  # a flag code filters too
    assert ids(model) == ["a0000000000000002"]
    model.apply(Filter(score_min=0.5, score_max=0.7))
    assert ids(model) == ["a0000000000000005", "f0000000000000000", "f0000000000000001", "f0000000000000002"]
    model.apply(Filter(group="2"))
    assert ids(model) == ["a0000000000000003", "a0000000000000004"]
    model.apply(Filter(source="bench.jsonl"))
    assert ids(model) == ["b0000000000000001"]
    model.apply(Filter(status="train", search="SHIP"))
    assert ids(model) == ["f0000000000000003", "f0000000000000004"]


def test_decision_filter_and_reviewed_counter(model: ReviewModel) -> None:
    model.decide([0, 1], "reject")
    model.decide([2], "accept")
    assert model.reviewed() == 3
    model.apply(Filter(decision="reject"))
    assert ids(model) == ["a0000000000000001", "a0000000000000002"]
    model.apply(Filter(decision="none"))
    assert len(model) == 13
    model.undo()
    model.apply(Filter(decision="accept"))
    assert ids(model) == []


def test_sorts_by_every_key(model: ReviewModel) -> None:
    for key in ("order", "decision", "status", "reasons", "score", "tokens", "group", "preview"):
        model.apply(sort=Sort(key))
        assert sorted(model.view.to_list()) == list(range(16)), key  # a permutation: nothing lost
    model.apply(sort=Sort("tokens", descending=True))
    assert ids(model)[0] == "b0000000000000001"  # 60 tokens
    model.apply(sort=Sort("preview"))
    assert ids(model)[0] == "a0000000000000002"  # "asdf"


def test_previews_load_lazily(model: ReviewModel) -> None:
    assert not model.examples_loaded
    assert model.rows(0, 1)[0].preview is None  # the list draws before the text is read
    model.load_examples()
    assert model.rows(0, 1)[0].preview == "How do I reset my password?"
    assert first_user_turn("not json at all") == "not json at all"


def test_changed_spans_mark_only_the_differing_words() -> None:
    base = "How can I cancel my subscription?"
    other = "How can I cancel my subscription plan today?"
    spans = changed_spans(base, other)
    assert [other[a:b] for a, b in spans] == ["plan today?"]  # "subscription?" matches "subscription"
    assert changed_spans(base, base) == []


def test_overlap_spans_exact_then_shared_runs() -> None:
    text = "Quick one: Natalia sold clips to 48 of her friends in April."
    assert [text[a:b] for a, b in overlap_spans(text, "natalia sold clips")] == ["Natalia sold clips"]
    reworded = "In April, Natalia sold clips to 48 of her friends, then fewer in May."
    spans = overlap_spans(reworded, "Natalia sold clips to 48 of her friends in April")
    assert [reworded[a:b] for a, b in spans] == ["Natalia sold clips to 48 of her friends,"]
    assert overlap_spans(text, "") == []


def test_the_engine_side_never_imports_textual() -> None:
    code = (
        "import sys, curate, curate.review.store, curate.stages.review, curate.cli.commands.review;"
        "import tui.model, tui.diff;"
        "print(sorted(m for m in ('textual', 'torch', 'transformers') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_review_help_has_an_example(capsys: pytest.CaptureFixture[str]) -> None:
    from curate.cli import main

    with pytest.raises(SystemExit) as exited:
        main(["review", "--help"])
    assert exited.value.code == 0
    text = capsys.readouterr().out
    assert "Example usage:" in text and "curate review build/samples" in text and "--export" in text


def test_group_and_leakage_panels_highlight_the_right_words() -> None:
    from tui.screens.group import member_panel
    from tui.screens.leakage import highlighted

    member = {
        "id": "b",
        "status": "rejected",
        "origin": "input",
        "source": "s",
        "line": 1,
        "reasons": [],
        "example": '{"messages":[{"role":"user","content":"How can I cancel my subscription plan?"}]}',
    }
    panel = member_panel(member, "[user]\nHow can I cancel my subscription?", is_kept=False)
    assert [panel.plain[s.start : s.end] for s in panel.spans if "yellow" in str(s.style)] == ["plan?"]
    leak = highlighted("example", "Quick one: Natalia sold clips to 48 friends.", "natalia sold clips to 48")
    assert [leak.plain[s.start : s.end] for s in leak.spans if "yellow" in str(s.style)] == [
        "Natalia sold clips to 48"
    ]
