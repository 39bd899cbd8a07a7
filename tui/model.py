"""The review app's data: a build's examples.parquet seen through filters, plus the decision store.

Headless (no textual import), so it is tested and benchmarked on its own. Opening reads only the
small columns the list needs (ids, statuses, reason codes, scores, tokens, groups); the example
text, which is most of the file, is read by ``load_examples`` (the app runs it in a thread) and
previews are decoded only for the rows on screen. The view is a polars series of row numbers, so
filtering or sorting 100,000 rows is one polars call and no widget ever holds a row per record.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final

import orjson
import polars as pl

from curate.core.errors import CurateError
from curate.core.frame import MESSAGES_DTYPE
from curate.review.rules import OVERRIDABLE_PREFIX, accept_refusal
from curate.review.store import Decision, ReviewStore

# Columns the list needs; anything else is read with the row's details.
_INDEX_COLUMNS: Final = (
    "id",
    "status",
    "origin",
    "source",
    "line",
    "reasons",
    "flags",
    "tokens",
    "quality_score",
    "cluster_id",
    "split",
    "leak_item",
)
# "blocked": an accept or edit recorded on a row whose rejection it cannot lift (the build
# drops it): never drawn as applied.
DECISION_MARK: Final = {"accept": "✓", "reject": "✗", "edit": "✎", "blocked": "!"}
SORT_KEYS: Final = ("order", "decision", "status", "reasons", "score", "tokens", "group", "preview")

ANY_GROUP: Final = "*"  # the filter value for "in any duplicate group"


@dataclass(frozen=True)
class Filter:
    """What the list shows; every field None/empty means no restriction."""

    status: str | None = None
    reason: str | None = None  # a reason or flag code the row carries
    score_min: float | None = None
    score_max: float | None = None
    group: str | None = None  # a cluster id (a content id); ANY_GROUP: any duplicate group
    source: str | None = None
    decision: str | None = None  # accept | reject | edit | none
    search: str = ""  # case-insensitive text in the example (or raw line)

    def describe(self) -> str:
        parts = []
        for name in ("status", "reason", "source", "decision"):
            value = getattr(self, name)
            if value:
                parts.append(f"{name}={value}")
        if self.score_min is not None or self.score_max is not None:
            low = "" if self.score_min is None else f"{self.score_min:g}"
            high = "" if self.score_max is None else f"{self.score_max:g}"
            parts.append(f"score={low}..{high}")
        if self.group is not None:
            parts.append("group=any" if self.group == ANY_GROUP else f"group={self.group}")
        if self.search:
            parts.append(f"/{self.search}")
        return " ".join(parts)


@dataclass
class RowView:
    """One list row, ready to draw."""

    row: int
    id: str
    status: str
    codes: list[str]
    score: float | None
    tokens: int | None
    group: str | None
    decision: str | None
    marked: bool
    preview: str | None  # None while the examples are still loading


@dataclass
class Sort:
    key: str = "order"
    descending: bool = False


@dataclass
class ReviewModel:
    build: Path
    store: ReviewStore
    reviewer: str
    index: pl.DataFrame = field(init=False)
    view: pl.Series = field(init=False)
    filter: Filter = field(default_factory=Filter)
    sort: Sort = field(default_factory=Sort)
    marks: set[int] = field(default_factory=set)
    decisions: dict[str, Decision] = field(init=False)
    notes: dict[str, str] = field(init=False)
    _examples: pl.Series | None = field(default=None, init=False)
    _full: pl.DataFrame | None = field(default=None, init=False)
    _previews: dict[int, str] = field(default_factory=dict, init=False)
    _preview_column: pl.Series | None = field(default=None, init=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, init=False)

    def __post_init__(self) -> None:
        self.path = self.build / "examples.parquet" if self.build.is_dir() else self.build
        if not self.path.is_file():
            raise CurateError(
                "no examples.parquet here", str(self.build), "pass a build folder made by curate build"
            )
        try:
            schema = pl.read_parquet_schema(self.path)
        except (OSError, pl.exceptions.PolarsError) as error:
            raise CurateError(f"cannot read examples.parquet ({error})", str(self.path)) from None
        self.columns = list(schema)
        missing = {"id", "status", "reasons"} - set(schema)
        if missing:
            raise CurateError(
                f"examples.parquet lacks {', '.join(sorted(missing))}",
                str(self.path),
                "rebuild with this version of curate",
            )
        wanted: list[str] = [c for c in _INDEX_COLUMNS if c in schema]

        def codes(column: str) -> pl.Expr:
            return pl.col(column).list.eval(pl.element().struct.field("code"))

        frame = pl.read_parquet(self.path, columns=wanted).with_row_index("row")
        self.index = frame.select(
            "row",
            "id",
            "status",
            pl.col("origin") if "origin" in schema else pl.lit(None, pl.Utf8).alias("origin"),
            pl.col("source") if "source" in schema else pl.lit(None, pl.Utf8).alias("source"),
            pl.col("line") if "line" in schema else pl.lit(None, pl.Int64).alias("line"),
            codes("reasons").alias("codes"),
            (codes("flags") if "flags" in schema else pl.lit([], pl.List(pl.Utf8))).alias("flag_codes"),
            pl.col("tokens").cast(pl.Int64) if "tokens" in schema else pl.lit(None, pl.Int64).alias("tokens"),
            pl.col("quality_score").cast(pl.Float64).alias("score")
            if "quality_score" in schema
            else pl.lit(None, pl.Float64).alias("score"),
            pl.col("cluster_id").cast(pl.Utf8).alias("group")  # builds before the content key: numbers
            if "cluster_id" in schema
            else pl.lit(None, pl.Utf8).alias("group"),
            pl.col("leak_item") if "leak_item" in schema else pl.lit(None, pl.Utf8).alias("leak_item"),
        )
        self.decisions = self.store.decisions()
        self.notes = self.store.notes()
        self.apply()

    # -- loading ---------------------------------------------------------------------------

    @property
    def examples_loaded(self) -> bool:
        return self._examples is not None

    def load_examples(self) -> None:
        """Read the rest of the file (example text is most of it); safe from a worker thread.

        Columnar in memory (Arrow buffers, no Python object per row), so details, search and
        previews need no further reads.
        """
        if self._examples is not None:
            return
        full = pl.read_parquet(self.path)
        text = pl.coalesce(pl.col("example"), pl.col("raw")) if "raw" in full.columns else pl.col("example")
        series = full.select(text.fill_null("").alias("example")).to_series()
        with self._lock:
            self._full = full
            self._examples = series

    def example_text(self, row: int) -> str:
        if self._examples is None:
            details = self.details(row)
            return str(details.get("example") or details.get("raw") or "")
        return str(self._examples[row])

    def details(self, row: int) -> dict[str, Any]:
        """Every column of one row: from memory once loaded, else a one-row read of the file."""
        if self._full is not None:
            return self._full.row(row, named=True)
        return pl.scan_parquet(self.path).slice(row, 1).collect().row(0, named=True)

    def rows_where(self, expr: pl.Expr) -> pl.DataFrame:
        """Full rows matching ``expr`` (duplicate groups, protected items), with their row number."""
        if self._full is not None:
            return self._full.with_row_index("row").filter(expr)
        return pl.scan_parquet(self.path).with_row_index("row").filter(expr).collect()

    # -- the view --------------------------------------------------------------------------

    def apply(self, new_filter: Filter | None = None, sort: Sort | None = None) -> None:
        """Recompute the view (row numbers in display order) from the filter and sort."""
        if new_filter is not None:
            self.filter = new_filter
        if sort is not None:
            self.sort = sort
        frame = self.index
        f = self.filter
        conditions: list[pl.Expr] = []
        if f.status:
            conditions.append(pl.col("status") == f.status)
        if f.reason:
            conditions.append(
                pl.col("codes").list.contains(f.reason) | pl.col("flag_codes").list.contains(f.reason)
            )
        if f.score_min is not None:
            conditions.append(pl.col("score") >= f.score_min)
        if f.score_max is not None:
            conditions.append(pl.col("score") <= f.score_max)
        if f.group is not None:
            conditions.append(
                pl.col("group").is_not_null() if f.group == ANY_GROUP else pl.col("group") == f.group
            )
        if f.source:
            conditions.append(pl.col("source") == f.source)
        if f.decision or self.sort.key == "decision":
            frame = frame.with_columns(decision=self._decision_expr())
        if f.decision:
            conditions.append(
                pl.col("decision").is_null() if f.decision == "none" else pl.col("decision") == f.decision
            )
        if f.search:
            self.load_examples()
            assert self._examples is not None
            # Case-insensitive literal match: the escaped text under the (?i) flag, one polars pass.
            hits = self._examples.str.contains("(?i)" + re.escape(f.search))
            frame = frame.with_columns(hit=hits)
            conditions.append(pl.col("hit"))
        if conditions:
            frame = frame.filter(pl.all_horizontal(conditions))
        frame = self._sorted(frame)
        self.view = frame["row"]

    def _decision_expr(self) -> pl.Expr:
        actions = {i: d.action for i, d in self.decisions.items()}
        return pl.col("id").replace_strict(actions, default=None, return_dtype=pl.Utf8)

    def _sorted(self, frame: pl.DataFrame) -> pl.DataFrame:
        key = self.sort.key
        if key == "order":
            return frame.sort("row", descending=self.sort.descending)
        expr: pl.Expr
        if key == "reasons":
            expr = pl.col("codes").list.join(",")
        elif key == "preview":
            frame = frame.with_columns(preview=self.previews_for(frame["row"]))
            expr = pl.col("preview")
        elif key == "decision":
            expr = pl.col("decision")
        else:
            expr = pl.col({"status": "status", "score": "score", "tokens": "tokens", "group": "group"}[key])
        return frame.sort(expr, pl.col("row"), descending=[self.sort.descending, False], nulls_last=True)

    def previews_for(self, rows: pl.Series) -> pl.Series:
        """First-user-turn previews of every row in ``rows`` (computed once, for sorting)."""
        if self._preview_column is None:
            self.load_examples()
            assert self._examples is not None
            messages = self._examples.to_frame("example").select(
                pl.col("example")
                .str.json_decode(MESSAGES_DTYPE)
                .struct.field("messages")
                .list.eval(
                    pl.element().filter(pl.element().struct.field("role") == "user").struct.field("content")
                )
                .list.first()
                .str.slice(0, 200)
                .str.to_lowercase()
                .fill_null("")
            )
            self._preview_column = messages.to_series()
        return self._preview_column.gather(rows)

    # -- rows ------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self.view)

    @property
    def total(self) -> int:
        return self.index.height

    def reviewed(self) -> int:
        """Rows with a decision in force (identical conversations share an id and a decision)."""
        if not self.decisions:
            return 0
        return int(self.index.select(pl.col("id").is_in(list(self.decisions)).sum()).item())

    def row_at(self, position: int) -> int:
        return int(self.view[position])

    def rows(self, start: int, stop: int) -> list[RowView]:
        """List rows for view positions [start, stop)."""
        numbers = self.view.slice(start, max(0, stop - start))
        if numbers.len() == 0:
            return []
        part = self.index.select(pl.all().gather(numbers))
        result = []
        for item in part.iter_rows(named=True):
            row = item["row"]
            decision = self.decisions.get(item["id"])
            result.append(
                RowView(
                    row=row,
                    id=item["id"],
                    status=item["status"],
                    codes=list(item["codes"] or []) or [f"({c})" for c in (item["flag_codes"] or [])],
                    score=item["score"],
                    tokens=item["tokens"],
                    group=item["group"],
                    decision=self._shown_decision(decision, item["status"], item["codes"]),
                    marked=row in self.marks,
                    preview=self.preview(row),
                )
            )
        return result

    def preview(self, row: int) -> str | None:
        cached = self._previews.get(row)
        if cached is not None:
            return cached
        if self._examples is None:
            return None
        text = first_user_turn(str(self._examples[row]))
        self._previews[row] = text
        return text

    def position_of(self, row: int) -> int | None:
        found = (self.view == row).arg_true()
        return int(found[0]) if found.len() else None

    # -- decisions ---------------------------------------------------------------------------

    def decide(
        self,
        rows: Iterable[int],
        action: str,
        *,
        messages: Any = None,
        note: str | None = None,
    ) -> int:
        """Record one decision for the ids of ``rows`` (one batch); returns how many ids."""
        numbers = pl.Series(list(rows), dtype=pl.UInt32)
        ids = self.index["id"].gather(numbers).unique().sort().to_list()  # a bulk action may cover 100k rows
        if not ids:
            return 0
        self.store.record(ids, action, self.reviewer, messages=messages, note=note)  # type: ignore[arg-type]
        self._refresh(ids)
        return len(ids)

    def undo(self) -> list[str]:
        ids = self.store.undo_last(self.reviewer)
        self._refresh(ids)
        return ids

    def _refresh(self, ids: list[str]) -> None:
        """Re-read the decisions of ``ids`` only (a key press must not re-read the whole log)."""
        if len(ids) > 5_000:
            self.decisions = self.store.decisions()
            self.notes = self.store.notes()
            return
        decisions = self.store.decisions(ids)
        notes = self.store.notes(ids)
        for example_id in ids:
            self.decisions.pop(example_id, None)
            self.notes.pop(example_id, None)
        self.decisions.update(decisions)
        self.notes.update(notes)

    @staticmethod
    def _shown_decision(decision: Decision | None, status: str, codes: list[str] | None) -> str | None:
        if decision is None:
            return None
        if decision.action in ("accept", "edit") and accept_refusal(status, codes or []) is not None:
            return "blocked"
        return decision.action

    def refusal(self, row: int, action: str = "accept") -> str | None:
        """Why an accept (or edit) of ``row`` cannot take effect at the next build; None if it can."""
        if action not in ("accept", "edit"):
            return None
        codes = self.index["codes"][row]
        return accept_refusal(str(self.index["status"][row]), [] if codes is None else codes.to_list())

    def blocked_rows(self, rows: list[int]) -> list[int]:
        """The rows among ``rows`` that an accept cannot lift (vectorised: a bulk accept may
        cover a whole build)."""
        picked = self.index.select("status", "codes")[rows]
        hard = pl.col("codes").list.eval(~pl.element().str.starts_with(OVERRIDABLE_PREFIX)).list.any()
        blocked = picked.select(
            (pl.col("status") == "protected") | ((pl.col("status") == "rejected") & hard.fill_null(False))
        ).to_series()
        return [row for row, no in zip(rows, blocked.to_list(), strict=True) if no]

    def note_for(self, row: int) -> str | None:
        return self.notes.get(str(self.index["id"][row]))

    def decision_for(self, row: int) -> Decision | None:
        return self.decisions.get(str(self.index["id"][row]))

    def toggle_mark(self, row: int) -> None:
        self.marks.symmetric_difference_update({row})

    def codes_present(self) -> list[str]:
        codes = pl.concat([self.index["codes"].explode(), self.index["flag_codes"].explode()]).drop_nulls()
        return sorted(set(codes.to_list()))

    def values_of(self, column: str) -> list[str]:
        return sorted(v for v in self.index[column].unique().to_list() if v is not None)

    def with_filter(self, **changes: Any) -> Filter:
        return replace(self.filter, **changes)


def first_user_turn(example: str) -> str:
    """The first user message of an example JSON, on one line (raw text when it is not one)."""
    try:
        data = orjson.loads(example)
    except orjson.JSONDecodeError:
        return " ".join(example.split())[:300]
    messages = data.get("messages") if isinstance(data, dict) else None
    if isinstance(messages, list):
        for message in messages:
            if isinstance(message, dict) and message.get("role") == "user":
                return " ".join(str(message.get("content") or "").split())[:300]
    return " ".join(example.split())[:300]


def messages_of(example: str) -> list[dict[str, Any]] | None:
    try:
        data = orjson.loads(example)
    except orjson.JSONDecodeError:
        return None
    messages = data.get("messages") if isinstance(data, dict) else None
    return messages if isinstance(messages, list) else None
