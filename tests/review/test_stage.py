"""The review stage's rules on a frame: what a reject, an accept and an edit may change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core.config import CurateConfig
from curate.core.context import BuildContext
from curate.core.frame import BASE_SCHEMA, REASONS_DTYPE
from curate.core.records import content_id
from curate.review.store import Decision
from curate.stages.review import apply_decisions

MESSAGES = [
    {"role": "user", "content": "How do I reset my password?"},
    {"role": "assistant", "content": "N/A"},
]


def _reason(code: str) -> dict[str, Any]:
    return {"code": code, "stage": code.split(".")[0], "message": code, "ref": None}


def _row(
    id_: str,
    status: str,
    codes: list[str],
    *,
    origin: str = "input",
    text: str | None = None,
    key: int | None = None,
) -> dict[str, Any]:
    messages = [MESSAGES[0], {"role": "assistant", "content": text or f"answer {id_}"}]
    return {
        "id": id_,
        "source": "in.jsonl",
        "line": 1,
        "source_id": None,
        "origin": origin,
        "format": "chat",
        "status": status,
        "reasons": [_reason(c) for c in codes],
        "flags": [],
        "example": orjson.dumps({"messages": messages}).decode(),
        "raw": None,
        "dedup_key": key if key is not None else hash(id_) % 1000,
        "n_messages": 2,
        "n_assistant": 1,
        "tokens": 20,
        "split": "train" if origin == "input" else None,
    }


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    schema = {
        **BASE_SCHEMA,
        "reasons": REASONS_DTYPE,
        "flags": REASONS_DTYPE,
        "tokens": pl.Int64(),
        "split": pl.Utf8(),
    }
    return pl.DataFrame(rows, schema=schema)


def _decision(id_: str, action: str, messages: list[dict[str, Any]] | None = None) -> Decision:
    return Decision(
        example_id=id_,
        action=action,
        reviewer="ana",
        at="2026-01-01T00:00:00",
        seq=1,
        messages=messages,
        note="checked",
    )


def _ctx(**review: Any) -> BuildContext:
    config = CurateConfig()
    config.validate.tokenizer = "estimate"
    return BuildContext(config=config)


def _by_id(frame: pl.DataFrame) -> dict[str, dict[str, Any]]:
    return {row["id"]: row for row in frame.iter_rows(named=True)}


def test_reject_rejects_any_usable_row_but_never_a_protected_one() -> None:
    frame = _frame([_row("a", "ok", []), _row("p", "protected", [], origin="benchmark")])
    out, summary = apply_decisions(
        frame, {"a": _decision("a", "reject"), "p": _decision("p", "reject")}, _ctx()
    )
    rows = _by_id(out)
    assert rows["a"]["status"] == "rejected"
    assert rows["a"]["reasons"][0]["code"] == "review.rejected"
    assert "ana: checked" in rows["a"]["reasons"][0]["message"]
    assert rows["p"]["status"] == "protected" and not rows["p"]["reasons"]
    assert summary["counts"]["rejected"] == 1 and summary["not_in_build"] == 1


def test_accept_restores_a_soft_quality_rejection_and_keeps_the_reasons_visible() -> None:
    frame = _frame([_row("q", "rejected", ["quality.low-score"])])
    out, summary = apply_decisions(frame, {"q": _decision("q", "accept")}, _ctx())
    row = _by_id(out)["q"]
    assert row["status"] == "ok" and row["reasons"] == []
    assert [f["code"] for f in row["flags"]] == ["quality.low-score", "review.accepted"]
    assert row["review"] == "accepted" and row["reviewer"] == "ana"
    assert summary["restored"] == 1


def test_accept_never_lifts_schema_dedup_leakage_or_length() -> None:
    codes = ["schema.empty-content", "dedup.exact", "leakage.ngram", "length.too-long"]
    rows = [_row(c, "rejected", [c]) for c in codes] + [
        _row("mixed", "rejected", ["quality.low-score", "dedup.near"])
    ]
    frame = _frame(rows)
    out, summary = apply_decisions(frame, {r["id"]: _decision(r["id"], "accept") for r in rows}, _ctx())
    for row in out.iter_rows(named=True):
        assert row["status"] == "rejected", row["id"]
        assert [f["code"] for f in row["flags"]] == ["review.not-overridable"]
    assert len(summary["not_applied"]) == 5


def test_edit_substitutes_a_validated_conversation_and_keeps_the_id() -> None:
    edited = [MESSAGES[0], {"role": "assistant", "content": "Use 'Forgot password' on the sign-in page."}]
    frame = _frame([_row("q", "rejected", ["quality.low-score"]), _row("b", "ok", [])])
    out, summary = apply_decisions(frame, {"q": _decision("q", "edit", edited)}, _ctx())
    row = _by_id(out)["q"]
    assert row["status"] == "ok" and row["review"] == "edited"
    assert orjson.loads(row["example"])["messages"] == edited
    assert row["dedup_key"] != _by_id(frame)["q"]["dedup_key"]
    assert "review.edited" in [f["code"] for f in row["flags"]]
    payload = orjson.dumps(edited)
    assert summary["edited"] == [
        {"id": "q", "edited_id": content_id(payload), "reviewer": "ana", "at": "2026-01-01T00:00:00"}
    ]


def test_an_edit_that_fails_validation_is_not_applied() -> None:
    frame = _frame([_row("a", "ok", [])])
    bad = [MESSAGES[0], {"role": "assistant", "content": "  "}]
    out, summary = apply_decisions(frame, {"a": _decision("a", "edit", bad)}, _ctx())
    row = _by_id(out)["a"]
    assert row["example"] == _by_id(frame)["a"]["example"]
    assert [f["code"] for f in row["flags"]] == ["review.edit-invalid"]
    assert "schema.empty-content" in summary["not_applied"][0]["why"]


def test_a_restored_row_that_copies_a_usable_one_is_caught_as_a_duplicate() -> None:
    frame = _frame([_row("kept", "ok", [], key=7), _row("q", "rejected", ["quality.low-score"], key=7)])
    out, _ = apply_decisions(frame, {"q": _decision("q", "accept")}, _ctx())
    rows = _by_id(out)
    assert rows["kept"]["status"] == "ok"
    assert rows["q"]["status"] == "rejected" and rows["q"]["reasons"][0]["code"] == "dedup.exact"


def test_an_edit_over_the_token_limit_is_rejected_for_length() -> None:
    ctx = _ctx()
    ctx.config.validate.max_tokens = 50
    long = [MESSAGES[0], {"role": "assistant", "content": "word " * 400}]
    out, _ = apply_decisions(_frame([_row("a", "ok", [])]), {"a": _decision("a", "edit", long)}, ctx)
    row = _by_id(out)["a"]
    assert row["status"] == "rejected" and row["reasons"][0]["code"] == "length.too-long"
    assert row["tokens"] > 50


def test_no_store_means_the_frame_passes_through(tmp_path: Path) -> None:
    from curate.stages import review

    ctx = _ctx()
    ctx.config.base_dir = tmp_path
    frame = _frame([_row("a", "ok", [])])
    out = review.run(frame, ctx)
    assert out.drop("review", "reviewer").equals(frame)
    assert ctx.findings["review"]["applied"] is False


def test_manifest_lists_are_capped_but_counts_are_exact() -> None:
    from curate.stages import review

    rows = [_row(f"r{i}", "ok", []) for i in range(review.MAX_LISTED + 5)]
    decisions = {r["id"]: _decision(r["id"], "reject") for r in rows}
    _, summary = apply_decisions(_frame(rows), decisions, _ctx())
    assert summary["counts"]["rejected"] == review.MAX_LISTED + 5
    assert len(summary["rejected"]) == review.MAX_LISTED and summary["rejected_truncated"] is True
