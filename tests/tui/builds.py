"""A small, fixed examples.parquet with one row of each kind the review app shows.

Hand-made (not run through the pipeline) so the snapshots do not change when a stage does;
the columns and dtypes are the build's (curate.core.frame.BASE_SCHEMA plus the stages' columns).
tests/review/test_rebuild.py covers a parquet the real pipeline wrote.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core.frame import BASE_SCHEMA, REASONS_DTYPE

BENCH_QUESTION = (
    "Natalia sold clips to 48 of her friends in April, and then she sold half as many clips in May. "
    "How many clips did Natalia sell altogether in April and May?"
)
FILLER = [
    (
        "How do I change the email address on my account?",
        "Open Settings, then Account, and edit the email field.",
    ),
    ("Can I get an invoice for last month?", "Yes: Billing > Invoices lists every invoice as a PDF."),
    ("Why was my card declined?", "Banks decline for limits or fraud checks; try again or use another card."),
    ("How long does shipping take?", "Standard shipping takes 3-5 business days."),
    ("Do you ship to Canada?", "We ship to Canada; duties are shown at checkout."),
    ("Where is my order?", "The tracking link is in your confirmation email."),
    ("How do I delete my account?", "Settings > Account > Delete account; it takes effect in 30 days."),
    ("Is there a student discount?", "Students get 20% off with a verified school email."),
]


def _reason(code: str, stage: str, message: str, ref: str | None = None) -> dict[str, Any]:
    return {"code": code, "stage": stage, "message": message, "ref": ref}


def _chat(user: str, assistant: str) -> str:
    return orjson.dumps(
        {"messages": [{"role": "user", "content": user}, {"role": "assistant", "content": assistant}]}
    ).decode()


def rows() -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = [
        dict(
            id="a0000000000000001",
            status="train",
            example=_chat(
                "How do I reset my password?",
                "Click 'Forgot password' on the sign-in page and follow the email link.",
            ),
            quality_score=0.93,
            tokens=40,
            split="train",
        ),
        dict(
            id="a0000000000000002",
            status="rejected",
            example=_chat("asdf", "N/A"),
            quality_score=0.12,
            tokens=12,
            split="train",
            reasons=[_reason("quality.low-score", "quality", "score 0.12 below 0.40")],
            flags=[_reason("quality.placeholder", "quality", "answer is a placeholder")],
        ),
        dict(
            id="a0000000000000003",
            status="train",
            example=_chat(
                "How can I cancel my subscription?", "Go to Billing, choose Cancel subscription, and confirm."
            ),
            quality_score=0.88,
            tokens=33,
            cluster_id=2,
            split="train",
        ),
        dict(
            id="a0000000000000004",
            status="rejected",
            example=_chat(
                "How can I cancel my subscription plan?",
                "Go to Billing, pick Cancel plan, and confirm by email.",
            ),
            quality_score=0.85,
            tokens=35,
            cluster_id=2,
            split="train",
            reasons=[
                _reason(
                    "dedup.near", "near_dedup", "near-duplicate of a0000000000000003", "a0000000000000003"
                )
            ],
        ),
        dict(
            id="a0000000000000005",
            status="rejected",
            example=_chat("Quick one: " + BENCH_QUESTION, "72 clips."),
            quality_score=0.7,
            tokens=50,
            split="train",
            reasons=[_reason("leakage.ngram", "leakage", "shares a 13-gram with gsm8k item b1", "b1")],
            leak_source="bench.jsonl",
            leak_item="b1",
            leak_method="ngram",
            leak_span=BENCH_QUESTION.split(". ")[0],
        ),
        dict(
            id="b0000000000000001",
            status="protected",
            origin="benchmark",
            source="bench.jsonl",
            source_id="b1",
            example=_chat(BENCH_QUESTION, "Natalia sold 48/2 = 24 clips in May, 48+24 = 72 altogether."),
            tokens=60,
        ),
        dict(
            id="raw-00000000000001",
            status="rejected",
            example='{"messages":[{"role":"user","content":"hi"},{"role":"assistant","content":""}]}',
            dedup=False,
            reasons=[
                _reason("schema.empty-content", "validate", "messages[1] (assistant) has empty content")
            ],
        ),
        dict(
            id="e0000000000000001",
            status="eval",
            origin="eval",
            source="eval.jsonl",
            example=_chat(
                "Can I pause my subscription?", "Yes, for up to three months under Billing > Pause."
            ),
            quality_score=0.9,
            tokens=30,
            split="eval",
        ),
    ]
    for index, (user, assistant) in enumerate(FILLER):
        items.append(
            dict(
                id=f"f{index:016d}",
                status="train",
                example=_chat(user, assistant),
                quality_score=round(0.6 + index * 0.04, 2),
                tokens=20 + index,
                split="train",
            )
        )
    return items


def make_build(folder: Path) -> Path:
    """Write examples.parquet into ``folder``; returns the folder."""
    records = []
    for line, item in enumerate(rows(), start=1):
        dedup = item.pop("dedup", True)
        example = item["example"]
        n_messages = len(orjson.loads(example)["messages"])
        records.append(
            {
                "source": "chats.jsonl",
                "line": line,
                "source_id": None,
                "origin": "input",
                "format": "chat",
                "reasons": [],
                "flags": [],
                "raw": None,
                "dedup_key": line * 7919 if dedup else None,
                "n_messages": n_messages,
                "n_assistant": 1,
                "tokens": None,
                "quality_score": None,
                "cluster_id": None,
                "split": None,
                "leak_source": None,
                "leak_item": None,
                "leak_method": None,
                "leak_span": None,
                **item,
            }
        )
    schema = {
        **BASE_SCHEMA,
        "reasons": REASONS_DTYPE,
        "flags": REASONS_DTYPE,
        "tokens": pl.Int64(),
        "quality_score": pl.Float64(),
        "cluster_id": pl.Int64(),
        "split": pl.Utf8(),
        "leak_source": pl.Utf8(),
        "leak_item": pl.Utf8(),
        "leak_method": pl.Utf8(),
        "leak_span": pl.Utf8(),
    }
    frame = pl.DataFrame(records, schema=schema)
    folder.mkdir(parents=True, exist_ok=True)
    frame.write_parquet(folder / "examples.parquet")
    return folder
