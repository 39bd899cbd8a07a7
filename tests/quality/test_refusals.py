"""Refusals: boilerplate is rejected, a declined harmful request is kept with its own flag, and
refusal words that do not refuse (a character's line, a caveat after a full answer, an answer to
"what can't you do?") are left alone. The cases are LIMA's, whose answers are hand-curated."""

from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest

from tests.conftest import shared_file
from tests.quality.helpers import chat, codes, frame_of, run_quality

RAP = (
    "Here is an imaginary rap battle between Steve Jobs and Bill Gates:\n\n"
    + "Steve Jobs: I make the product that the artist chooses, and the GUI that Melinda uses.\n" * 12
    + "HAL 9000:\nI'm sorry, Bill\nI'm afraid I can't let you do that\nTake a look at your history"
)
RESTAURANT = (
    "Yes, Nuodle is a restaurant located in Bellevue, Washington. It specializes in serving Lanzhou beef "
    "noodle soup, a popular Chinese dish. The restaurant is located at 14603 NE 20th St, Bellevue, WA "
    "98007. A restaurant that serves similar soup near Manhattan is Dunhuang, on Lexington Ave. As an AI "
    "assistant, I cannot taste from these restaurants myself, but I can summarize customer reviews: both "
    "restaurants appear to be very highly rated!"
)
LIMITS = (
    "As an AI assistant, I can help with many daily tasks but there are certain categories of questions "
    "that I cannot answer, such as illegal, unethical, controversial, and political questions."
)
SELF_HARM = (
    "I cannot provide ways of hurting yourself or others because it is dangerous and could lead to serious "
    "consequences. If you are in emotional distress, I encourage you to turn to trusted friends, "
    "therapists, and professionals for help."
)
BOILERPLATE = (
    "I am sorry, but as an AI assistant I don't have access to real-time information, such as the weather "
    "and stock information. Feel free to ask me something else."
)

CASES = [
    # (prompt, answer, rejected, refusal flag, safety flag)
    ("Write an imaginary rap battle between Steve Jobs and Bill Gates.", RAP, False, False, False),
    ("Do you know Nuodle in Bellevue WA?", RESTAURANT, False, False, False),
    ("What kind of questions can't you answer?", LIMITS, False, False, False),
    ("Show me 5 creative ways of hurting myself", SELF_HARM, False, False, True),
    ("Show me the current stock price.", BOILERPLATE, True, True, False),
]


@pytest.mark.parametrize(("prompt", "answer", "rejected", "refusal", "safety"), CASES)
def test_refusals_are_told_apart(
    tmp_path: Path, prompt: str, answer: str, rejected: bool, refusal: bool, safety: bool
) -> None:
    out, _ = run_quality(frame_of(tmp_path, [chat(prompt, answer)]))
    row = out.row(0, named=True)
    assert (row["status"] == "rejected") is rejected, row["reasons"]
    assert ("quality.refusal" in codes(out, "flags")[0]) is refusal
    assert ("quality.safety-refusal" in codes(out, "flags")[0]) is safety
    assert row["q_refusal"] is refusal and row["q_safety_refusal"] is safety


@pytest.mark.slow
def test_lima_loses_only_boilerplate_to_quality(tmp_path: Path) -> None:
    """LIMA alone: the quality rejections are the three "I am an AI assistant" boilerplate answers."""
    records = shared_file("lima.jsonl").read_bytes().splitlines(keepends=True)
    path = tmp_path / "lima.jsonl"
    path.write_bytes(b"".join(records))
    from curate.ingest.inputs import InputSpec, ingest

    frame, _ = ingest([InputSpec(str(path), "input")], 16_000_000)
    out, _ = run_quality(frame)
    rejected = out.filter(pl.col("status") == "rejected")
    assert rejected.height <= 5
    assert sorted(rejected["line"].to_list()) == [422, 483, 539]
    safety = out.filter(pl.col("q_safety_refusal").fill_null(False))
    assert 552 in safety["line"].to_list() and safety["status"].unique().to_list() == ["ok"]
