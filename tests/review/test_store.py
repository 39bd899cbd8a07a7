"""The decision log: append-only, latest wins, undo appends, WAL, export, bad files refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import orjson
import pytest

from curate.review.store import ReviewStore, ReviewStoreError, export_decisions, open_for_build


def test_latest_decision_wins_and_nothing_is_overwritten(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite") as store:
        store.record(["a", "b"], "accept", "ana")
        store.record(["a"], "reject", "ben", note="off topic")
        found = store.decisions()
        assert {i: d.action for i, d in found.items()} == {"a": "reject", "b": "accept"}
        assert found["a"].reviewer == "ben" and found["a"].note == "off topic"
        assert [row["action"] for row in store.log()] == ["accept", "accept", "reject"]


def test_undo_appends_and_takes_back_a_whole_batch(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite") as store:
        store.record(["a"], "accept", "ana")
        store.record(["a", "b", "c"], "reject", "ana")  # one bulk action
        assert sorted(store.undo_last("ana")) == ["a", "b", "c"]
        assert {i: d.action for i, d in store.decisions().items()} == {"a": "accept"}
        assert store.undo_last("ben") == []  # only your own decisions
        assert store.undo_last("ana") == ["a"]
        assert store.decisions() == {}
        assert store.undo_last("ana") == []
        actions = [row["action"] for row in store.log()]
        assert actions == ["accept", "reject", "reject", "reject", "undo", "undo", "undo", "undo"]


def test_notes_stand_alone_or_go_with_a_decision(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite") as store:
        store.record(["a"], "note", "ana", note="check the tariff")
        assert store.decisions() == {}  # a note is not a decision
        assert store.notes() == {"a": "check the tariff"}
        store.record(["a"], "reject", "ana")
        assert store.decisions()["a"].note == "check the tariff"
        store.undo_last("ana")
        store.undo_last("ana")
        assert store.notes() == {} and store.decisions() == {}


def test_edit_keeps_messages_and_needs_them(tmp_path: Path) -> None:
    messages = [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello"}]
    with ReviewStore(tmp_path / "r.sqlite") as store:
        store.record(["a"], "edit", "ana", messages=messages)
        assert store.decisions()["a"].messages == messages
        with pytest.raises(ValueError):
            store.record(["a"], "edit", "ana")


def test_wal_and_another_connection_sees_each_commit(tmp_path: Path) -> None:
    path = tmp_path / "r.sqlite"
    writer = ReviewStore(path)
    assert writer.journal_mode() == "wal"
    writer.record(["a"], "reject", "ana")
    reader = ReviewStore(path, readonly=True)
    assert reader.decisions()["a"].action == "reject"  # committed, not buffered
    writer.record(["a"], "accept", "ana")
    assert reader.decisions()["a"].action == "accept"
    reader.close()
    writer.close()


def test_export_writes_decisions_in_force_or_the_whole_log(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite") as store:
        store.record(["a"], "accept", "ana")
        store.record(["a"], "reject", "ana", note="dup")
        store.record(["b"], "accept", "ana")
        assert export_decisions(store, tmp_path / "d.jsonl") == 2
        assert export_decisions(store, tmp_path / "log.jsonl", full_log=True) == 3
    lines = [orjson.loads(line) for line in (tmp_path / "d.jsonl").read_bytes().splitlines()]
    assert [(item["id"], item["decision"], item.get("note")) for item in lines] == [
        ("a", "reject", "dup"),
        ("b", "accept", None),
    ]


def test_a_file_that_is_not_a_store_is_a_one_line_error(tmp_path: Path) -> None:
    bad = tmp_path / "r.sqlite"
    bad.write_text("not a database at all, just text" * 100)
    with pytest.raises(ReviewStoreError, match="not a review store"):
        ReviewStore(bad)
    other = tmp_path / "other.sqlite"
    sqlite3.connect(other).execute("CREATE TABLE t (x)").connection.commit()
    with pytest.raises(ReviewStoreError):
        ReviewStore(other, readonly=True)


def test_the_build_reads_no_store_as_no_decisions(tmp_path: Path) -> None:
    assert open_for_build(tmp_path / "absent.sqlite") is None
    assert not (tmp_path / "absent.sqlite").exists()  # reading never creates the file


def test_reading_some_ids_matches_reading_all(tmp_path: Path) -> None:
    with ReviewStore(tmp_path / "r.sqlite") as store:
        ids = [f"id{i}" for i in range(1200)]  # more than one chunk of bound parameters
        store.record(ids, "accept", "ana")
        store.record(ids[::3], "reject", "ana", note="n")
        store.record(ids[:5], "note", "ben", note="later")
        store.undo_last("ana")
        everything = store.decisions()
        assert store.decisions(ids[:700]) == {i: everything[i] for i in ids[:700]}
        assert store.notes(["id0", "id3"]) == {"id0": "later", "id3": "later"}
        assert store.decisions(["absent"]) == {}
