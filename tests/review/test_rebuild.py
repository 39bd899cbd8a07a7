"""End to end: decisions made in the store are applied by the next `curate build`, found by default.

Runs the real CLI in a project folder, the way a user does: build, review (decisions written to
./reviews.sqlite), build again, and the outputs follow the decisions.
"""

from __future__ import annotations

import json
from pathlib import Path

import orjson
import polars as pl
import pytest

from curate.cli import main
from curate.review.store import ReviewStore

CHATS = [
    ("How do I reset my password?", "Click 'Forgot password' on the sign-in page and follow the link."),
    ("Can I get an invoice for last month?", "Yes: Billing > Invoices lists every invoice as a PDF."),
    ("Why was my card declined?", "Banks decline for limits or fraud checks; try again or use another card."),
    ("How long does shipping take?", "Standard shipping takes three to five business days in most regions."),
    ("Do you ship to Canada?", "We ship to Canada, and duties are shown at checkout before you pay."),
    ("Where is my order?", "The tracking link is in your confirmation email, under Track my parcel."),
]


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    lines = [
        orjson.dumps(
            {"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]}
        ).decode()
        for q, a in CHATS
    ]
    (tmp_path / "chats.jsonl").write_text("\n".join(lines) + "\n")
    (tmp_path / "curate.toml").write_text(
        '[build]\nname = "b"\ninputs = ["chats.jsonl"]\n\n[split]\neval_fraction = 0.0\n\n'
        '[validate]\ntokenizer = "estimate"\n'
    )
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _ids_by_question(folder: Path) -> dict[str, str]:
    frame = pl.read_parquet(folder / "examples.parquet")
    return {
        orjson.loads(e)["messages"][0]["content"]: i for i, e in frame.select("id", "example").iter_rows()
    }


def _train(folder: Path) -> dict[str, dict]:
    rows = [orjson.loads(line) for line in (folder / "train.jsonl").read_bytes().splitlines()]
    return {row["id"]: row for row in rows}


def test_a_rebuild_applies_reject_and_edit_from_the_default_store(project: Path) -> None:
    assert main(["build"]) == 0
    build = project / "build" / "b"
    ids = _ids_by_question(build)
    first_train = _train(build)
    assert len(first_train) == len(CHATS)

    declined, edited_id = ids["Why was my card declined?"], ids["Where is my order?"]
    edited = [
        {"role": "user", "content": "Where is my order?"},
        {"role": "assistant", "content": "Open Orders in your account; each order has a live tracking page."},
    ]
    with ReviewStore(project / "reviews.sqlite") as store:  # where `curate review` writes by default
        store.record([declined], "reject", "ana", note="blames the bank")
        store.record([edited_id], "edit", "ana", messages=edited)

    assert main(["build"]) == 0
    train = _train(build)
    assert declined not in train
    assert train[edited_id]["messages"] == edited  # same id, the reviewer's conversation
    rejected = [orjson.loads(line) for line in (build / "rejected.jsonl").read_bytes().splitlines()]
    assert [(r["id"], r["reasons"][0]["code"]) for r in rejected] == [(declined, "review.rejected")]
    manifest = json.loads((build / "manifest.json").read_text())
    review = manifest["findings"]["review"]
    assert review["counts"] == {"accepted": 0, "rejected": 1, "edited": 1, "not_applied": 0}
    assert review["edited"][0]["id"] == edited_id
    assert manifest["counts"]["records"] == len(CHATS)  # nothing lost
    # categorical in the build's memory, plain strings in the file
    decided = pl.read_parquet(build / "examples.parquet").filter(pl.col("review").is_not_null())
    assert decided.schema["review"] == decided.schema["reviewer"] == pl.String
    assert sorted(decided.select("id", "review", "reviewer").rows()) == sorted(
        [(declined, "rejected", "ana"), (edited_id, "edited", "ana")]
    )

    # the reviewer changes their mind: undo the edit, and the next build follows
    with ReviewStore(project / "reviews.sqlite") as store:
        store.undo_last("ana")
    assert main(["build"]) == 0
    assert _train(build)[edited_id] == first_train[edited_id]


def test_review_apply_false_ignores_the_store(project: Path) -> None:
    assert main(["build"]) == 0
    build = project / "build" / "b"
    some_id = next(iter(_ids_by_question(build).values()))
    with ReviewStore(project / "reviews.sqlite") as store:
        store.record([some_id], "reject", "ana")
    with (project / "curate.toml").open("a") as handle:
        handle.write("\n[review]\napply = false\n")
    assert main(["build"]) == 0
    assert some_id in _train(build)


def test_export_and_bad_build_are_one_line_errors_or_files(
    project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["review", "build/none", "--export", "d.jsonl"]) == 2  # no store yet
    assert "no review store" in capsys.readouterr().err
    with ReviewStore(project / "reviews.sqlite") as store:
        store.record(["x1"], "accept", "ana")
    assert main(["review", "build/none", "--export", "d.jsonl"]) == 0
    assert orjson.loads((project / "d.jsonl").read_bytes())["id"] == "x1"
    assert main(["review", "build/none"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "build/none" in err and "Traceback" not in err


def test_review_and_build_agree_on_a_configured_store(project: Path) -> None:
    import argparse

    from curate.cli.commands.review import store_and_reviewer

    with (project / "curate.toml").open("a") as handle:
        handle.write('\n[review]\ndb = "store/decisions.sqlite"\nreviewer = "cfg-ana"\n')
    args = argparse.Namespace(config=None, db=None, reviewer=None)
    db, reviewer = store_and_reviewer(args)  # ./curate.toml is found
    assert (
        db == project / "store" / "decisions.sqlite" or db.resolve() == project / "store" / "decisions.sqlite"
    )
    assert reviewer == "cfg-ana"
    assert main(["build"]) == 0
    build = project / "build" / "b"
    some_id = next(iter(_ids_by_question(build).values()))
    with ReviewStore(db) as store:
        store.record([some_id], "reject", reviewer)
    assert main(["build"]) == 0
    assert some_id not in _train(build)
    assert main(["review", str(build), "--export", "d.jsonl"]) == 0
    assert orjson.loads((project / "d.jsonl").read_bytes())["reviewer"] == "cfg-ana"
