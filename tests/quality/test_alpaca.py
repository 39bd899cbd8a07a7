"""Real data: Alpaca's known defects are flagged, and ordinary Alpaca answers mostly are not.

The known defects are picked here by plain string checks written independently of the stage's
patterns: placeholder answers ("<noinput>", "<nooutput>", "N/A", "No Output"), embedded images
(Markdown images, <img> outside web pages, "[Insert Bar Chart]"-style slots) and empty answers.
The default test runs on those rows plus every 25th row; the slow one on all 52,002.
"""

from __future__ import annotations

import re
from pathlib import Path

import orjson
import pytest

from curate.ingest.inputs import InputSpec, ingest
from tests.conftest import shared_file
from tests.quality.helpers import codes, run_quality

PLACEHOLDERS = {"<noinput>", "<nooutput>", "<no output>", "n/a", "no output", "no output required"}
MARKDOWN_IMAGE = re.compile(r"!\[[^\]]*\]\(")
MEDIA_SLOT = re.compile(r"^\[(?:insert )?(?:image|picture|chart|graph|diagram|screenshot|logo)", re.I)


def known_defect(answer: str) -> str | None:
    text = answer.strip().lower()
    if not text:
        return "empty"
    if text in PLACEHOLDERS or text.startswith(("<noinput>", "<nooutput>")):
        return "placeholder"
    if MARKDOWN_IMAGE.search(text) or MEDIA_SLOT.match(text) or ("<img " in text and "<html" not in text):
        return "media"
    return None


def _load(path: Path, every: int) -> tuple[list[bytes], dict[str, str | None]]:
    """The lines to test (all known defects, plus every ``every``-th line) and their known kind."""
    lines: list[bytes] = []
    kinds: dict[str, str | None] = {}
    with path.open("rb") as handle:
        for number, line in enumerate(handle):
            record = orjson.loads(line)
            kind = known_defect(record["messages"][-1]["content"])
            if kind or number % every == 0:
                lines.append(line)
                kinds[str(record["id"])] = kind
    return lines, kinds


def _check(tmp_path: Path, every: int) -> dict[str, int]:
    lines, kinds = _load(shared_file("alpaca.jsonl"), every)
    path = tmp_path / "alpaca_subset.jsonl"
    path.write_bytes(b"".join(lines))
    frame, _ = ingest([InputSpec(str(path), "input", None)], 16_000_000)
    out, findings = run_quality(frame)
    flags = dict(zip(out["source_id"], codes(out), strict=True))
    reasons = dict(zip(out["source_id"], codes(out, "reasons"), strict=True))
    by_kind: dict[str | None, list[str]] = {}
    for source_id, kind in kinds.items():
        by_kind.setdefault(kind, []).append(source_id)

    assert len(by_kind["empty"]) == 28  # the dataset's documented empty answers
    assert all(reasons[i] == {"schema.empty-content"} for i in by_kind["empty"])  # rejected before quality
    assert len(by_kind["placeholder"]) >= 40
    assert [i for i in by_kind["placeholder"] if "quality.placeholder" not in flags[i]] == []
    assert [i for i in by_kind["placeholder"] if "quality.low-score" not in reasons[i]] == []
    assert len(by_kind["media"]) >= 30
    assert [i for i in by_kind["media"] if "quality.missing-media" not in flags[i]] == []

    ordinary = by_kind[None]
    noisy = [i for i in ordinary if flags[i] - {"quality.short-answer"}]
    dropped = [i for i in ordinary if "quality.low-score" in reasons[i]]
    assert len(noisy) <= 0.03 * len(ordinary), len(noisy)
    assert len(dropped) <= 0.01 * len(ordinary), len(dropped)
    counts = {code: entry["count"] for code, entry in findings["flags"].items()}
    counts["low-score"] = findings["low_score"]["count"]
    counts["rows"] = out.height
    return counts


def test_alpaca_known_defects_are_flagged(tmp_path: Path) -> None:
    _check(tmp_path, every=25)


@pytest.mark.slow
def test_alpaca_full_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counts = _check(tmp_path, every=1)
    assert counts["rows"] == 52_002
    assert counts["low-score"] <= 0.01 * 52_002
    with capsys.disabled():
        print("\nalpaca quality flags:", counts)


def test_known_defect_picker_is_honest() -> None:
    """The test's own picker: a guard that it is not trivially empty or over-broad."""
    assert known_defect("<noinput>") == "placeholder"
    assert known_defect("N/A") == "placeholder"
    assert known_defect("![logo](https://i.imgur.com/x.png)") == "media"
    assert known_defect("<html><img src='a.png'></html>") is None
    assert known_defect("None.") is None
    assert known_defect("   ") == "empty"
