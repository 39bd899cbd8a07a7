"""The review store: an append-only SQLite log of reviewers' decisions, keyed by example id.

Shared by the review app (which writes) and the build's review stage (which reads). Every
decision is committed the moment it is made, in WAL mode, so a killed app loses nothing it
showed as done. Nothing is ever updated or deleted: the latest decision for an id wins, and an
undo is one more row that cancels an earlier one (a bulk action is one batch, undone as one).
Ids are content ids, so decisions survive rebuilds and re-ordered inputs.

No textual import here: the engine reads this module during ``curate build``.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final, Literal

import orjson

from curate.core.errors import CurateError

Action = Literal["accept", "reject", "edit", "swap"]
# swap: a preference pair's chosen and rejected answers exchanged; like an edit, it carries the
# resulting pair ({"prompt", "chosen", "rejected"}), so swapping twice restores the original.
ACTIONS: Final[tuple[str, ...]] = ("accept", "reject", "edit", "swap")
DEFAULT_DB: Final = "reviews.sqlite"

_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS decisions (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    example_id TEXT NOT NULL,
    action TEXT NOT NULL CHECK (action IN ('accept', 'reject', 'edit', 'swap', 'note', 'undo')),
    messages TEXT,            -- edit: the edited messages (a pair: its prompt, chosen, rejected) as JSON
    note TEXT,
    reviewer TEXT NOT NULL,
    at TEXT NOT NULL,         -- UTC, ISO 8601
    batch INTEGER,            -- decisions made by one key press share a batch (bulk actions)
    undoes INTEGER REFERENCES decisions(seq)  -- undo: the seq it cancels
);
CREATE INDEX IF NOT EXISTS decisions_by_id ON decisions(example_id, seq);
CREATE INDEX IF NOT EXISTS decisions_by_batch ON decisions(batch);
CREATE INDEX IF NOT EXISTS decisions_by_undoes ON decisions(undoes);
"""


class ReviewStoreError(CurateError):
    """The store file cannot be opened or is not a review store."""


@dataclass(frozen=True, slots=True)
class Decision:
    """The decision in force for one example id."""

    example_id: str
    action: str  # accept | reject | edit | swap
    reviewer: str
    at: str
    seq: int
    messages: Any = None  # edit: the messages, or a pair's {"prompt", "chosen", "rejected"}; swap: the pair
    note: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "id": self.example_id,
            "decision": self.action,
            "reviewer": self.reviewer,
            "at": self.at,
        }
        if self.messages is not None:
            data["messages"] = self.messages
        if self.note:
            data["note"] = self.note
        return data


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class ReviewStore:
    """One open store. Writes commit immediately; reads see every committed write."""

    def __init__(self, path: Path | str, *, readonly: bool = False) -> None:
        self.path = Path(path)
        try:
            if readonly:
                uri = f"{self.path.resolve().as_uri()}?mode=ro"
                self._db = sqlite3.connect(uri, uri=True, isolation_level=None)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._db = sqlite3.connect(self.path, isolation_level=None)
                self._db.execute("PRAGMA journal_mode=WAL")
                # FULL: a decision survives a power cut too, not only a killed process.
                self._db.execute("PRAGMA synchronous=FULL")
                self._db.executescript(_SCHEMA)
                _allow_swap(self._db)
            self._db.execute("SELECT seq FROM decisions LIMIT 1").fetchall()
        except sqlite3.DatabaseError as error:
            raise ReviewStoreError(
                f"not a review store ({error})", str(self.path), "pass --db PATH"
            ) from None

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> ReviewStore:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- writing -------------------------------------------------------------------------

    def record(
        self,
        ids: Iterable[str],
        action: Action | Literal["note"],
        reviewer: str,
        *,
        messages: Any = None,
        note: str | None = None,
    ) -> int:
        """Append one decision per id as one batch, committed before returning; the batch number."""
        if action not in (*ACTIONS, "note"):
            raise ValueError(f"unknown review action {action!r}")
        if action in ("edit", "swap") and messages is None:
            raise ValueError(f"a{'n' if action == 'edit' else ''} {action} needs the resulting messages")
        payload = orjson.dumps(messages).decode() if messages is not None else None
        at = _now()
        with self._transaction() as db:
            batch = self._next_batch(db)
            db.executemany(
                "INSERT INTO decisions (example_id, action, messages, note, reviewer, at, batch)"
                " VALUES (?,?,?,?,?,?,?)",
                [(i, action, payload, note, reviewer, at, batch) for i in ids],
            )
        return batch

    def undo_last(self, reviewer: str | None = None) -> list[str]:
        """Cancel the latest batch not yet undone (this reviewer's, when given); the ids it touched."""
        where = "AND d.reviewer = ?" if reviewer is not None else ""
        params: tuple[Any, ...] = (reviewer,) if reviewer is not None else ()
        with self._transaction() as db:
            row = db.execute(
                f"""SELECT d.batch FROM decisions d
                    WHERE d.action != 'undo' {where}
                      AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.seq)
                    ORDER BY d.seq DESC LIMIT 1""",
                params,
            ).fetchone()
            if row is None:
                return []
            targets = db.execute(
                """SELECT seq, example_id FROM decisions d WHERE batch = ? AND action != 'undo'
                   AND NOT EXISTS (SELECT 1 FROM decisions u WHERE u.undoes = d.seq)""",
                (row[0],),
            ).fetchall()
            batch = self._next_batch(db)
            at = _now()
            db.executemany(
                "INSERT INTO decisions (example_id, action, reviewer, at, batch, undoes) "
                " VALUES (?,?,?,?,?,?)",
                [(example_id, "undo", reviewer or "", at, batch, seq) for seq, example_id in targets],
            )
        return [example_id for _, example_id in targets]

    @staticmethod
    def _next_batch(db: sqlite3.Connection) -> int:
        return int(db.execute("SELECT COALESCE(MAX(batch), 0) + 1 FROM decisions").fetchone()[0])

    def _transaction(self) -> _TxContext:
        return _TxContext(self._db)

    # -- reading -------------------------------------------------------------------------

    def _rows(self, columns: str, ids: Iterable[str] | None) -> list[tuple[Any, ...]]:
        """Log rows in seq order, all of them or only those of ``ids`` (undo rows share the id)."""
        if ids is None:
            return self._db.execute(f"SELECT {columns} FROM decisions ORDER BY seq").fetchall()
        wanted = list(dict.fromkeys(ids))
        rows: list[tuple[Any, ...]] = []
        for start in range(0, len(wanted), 500):  # SQLite caps bound parameters per statement
            chunk = wanted[start : start + 500]
            marks = ",".join("?" * len(chunk))
            rows += self._db.execute(
                f"SELECT {columns} FROM decisions WHERE example_id IN ({marks})", chunk
            ).fetchall()
        rows.sort(key=lambda row: row[0])
        return rows

    def decisions(self, ids: Iterable[str] | None = None) -> dict[str, Decision]:
        """The decision in force per example id: the latest accept/reject/edit not undone, with the
        id's latest note. ``ids`` limits the read to those ids (the app after one key press).

        One pass over the log in seq order (no per-row subqueries), so 100k decisions read fast.
        """
        rows = self._rows("seq, example_id, action, messages, note, reviewer, at, undoes", ids)
        undone = {row[7] for row in rows if row[7] is not None}
        latest: dict[str, tuple[Any, ...]] = {}
        notes: dict[str, str] = {}
        for row in rows:
            seq, example_id, action, _, note = row[:5]
            if action == "undo" or seq in undone:
                continue
            if note:
                notes[example_id] = note
            if action != "note":
                latest[example_id] = row
        return {
            example_id: Decision(
                example_id=example_id,
                action=action,
                reviewer=reviewer,
                at=at,
                seq=seq,
                messages=orjson.loads(messages) if messages else None,
                note=notes.get(example_id),
            )
            for example_id, (seq, _, action, messages, _, reviewer, at, _) in latest.items()
        }

    def notes(self, ids: Iterable[str] | None = None) -> dict[str, str]:
        """The latest note per example id (from a note of its own or one given with a decision)."""
        rows = self._rows("seq, example_id, note, undoes", ids)
        undone = {row[3] for row in rows if row[3] is not None}
        return {example_id: note for seq, example_id, note, _ in rows if note and seq not in undone}

    def log(self) -> Iterator[dict[str, Any]]:
        """Every row of the log, oldest first (for audits and exports)."""
        cursor = self._db.execute(
            "SELECT seq, example_id, action, messages, note, reviewer, at, batch, undoes"
            " FROM decisions ORDER BY seq"
        )
        names = [column[0] for column in cursor.description]
        for row in cursor:
            item = dict(zip(names, row, strict=True))
            if item["messages"]:
                item["messages"] = orjson.loads(item["messages"])
            yield {k: v for k, v in item.items() if v is not None}

    def journal_mode(self) -> str:
        return str(self._db.execute("PRAGMA journal_mode").fetchone()[0])


class _TxContext:
    """BEGIN IMMEDIATE ... COMMIT: a second writer (another reviewer) waits instead of failing."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self.db = db

    def __enter__(self) -> sqlite3.Connection:
        self.db.execute("BEGIN IMMEDIATE")
        return self.db

    def __exit__(self, kind: object, *_: object) -> None:
        self.db.execute("ROLLBACK" if kind is not None else "COMMIT")


def _allow_swap(db: sqlite3.Connection) -> None:
    """A store made before pairs could be swapped has a CHECK without 'swap': rebuild its table
    (same rows, same seqs) under the current schema, once, in one transaction."""
    (sql,) = db.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'decisions'"
    ).fetchone()
    if "'swap'" in sql:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("ALTER TABLE decisions RENAME TO decisions_before_swap")
        db.execute(_SCHEMA.split(";")[0])
        db.execute("INSERT INTO decisions SELECT * FROM decisions_before_swap")
        db.execute("DROP TABLE decisions_before_swap")
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.executescript(_SCHEMA)  # the indexes, dropped with the old table


def export_decisions(store: ReviewStore, target: Path, *, full_log: bool = False) -> int:
    """Write the decisions in force (or the whole log) as JSONL; the number of lines."""
    items: Iterable[dict[str, Any]] = (
        store.log()
        if full_log
        else (d.as_dict() for d in sorted(store.decisions().values(), key=lambda d: d.seq))
    )
    count = 0
    with target.open("wb") as handle:
        for item in items:
            handle.write(orjson.dumps(item) + b"\n")
            count += 1
    return count


def open_for_build(path: Path) -> dict[str, Decision] | None:
    """Decisions for the build's review stage, or None when there is no store yet."""
    if not path.is_file():
        return None
    store = ReviewStore(path, readonly=True)
    try:
        return store.decisions()
    finally:
        store.close()
