"""Leakage: reject examples that contain an eval or benchmark item.

Protected items are the benchmark rows (status "protected") and the eval split (split "eval",
status "ok"). Benchmarks protect every usable row: train, eval (an eval set that holds a
benchmark question measures the benchmark, not the task) and general. The eval split protects
the rows that can be trained on: train and general (general data is mixed into train).
An item's protected text is its user turns, the question;
answers count too with ``[leakage] answers = true`` (see the config comment for why not by default).

Tests, cheapest and surest first; a row is rejected once, for its first method:
1. ``leakage.ngram``: a shared 13-word window, or the whole of a shorter item (at least
   ``min_words`` words); items shorter than that match an identical user turn only.
2. ``leakage.near``: shingle containment of the item (reworded copies), then the same test with
   numbers, names and pronouns masked (template rewrites, method "template").
3. ``leakage.semantic``: embedding similarity of user turns, opt-in.
Every match (train id, protected file, item id, method, span) goes to ``findings["leakage"]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import polars as pl

from curate.core.config import LeakageSection
from curate.core.context import BuildContext
from curate.core.frame import MESSAGES_DTYPE, reject, text_expr
from curate.ingest.store import SPAN_COLUMNS, with_examples
from curate.stages.embeddings import build_cache
from curate.stages.leakage.lexical import (
    build_ngram_index,
    build_shingle_index,
    containment_matches,
    ngram_matches,
)
from curate.stages.leakage.semantic import mask_names_and_numbers, semantic_matches
from curate.stages.leakage.spans import SPAN_CHARS, shorten, span_text
from curate.stages.leakage.words import example_words, hash_words, split_words

NAME = "leakage"

# Method -> reason code; the order is the precedence when a row matches several items.
METHODS: dict[str, str] = {
    "ngram": "leakage.ngram",
    "exact": "leakage.ngram",
    "near": "leakage.near",
    "template": "leakage.near",
    "semantic": "leakage.semantic",
}
# Candidates read and hashed at a time: each costs a few KB of words and decoded user turns, so a
# chunk bounds the matching's working memory; much smaller chunks pay each chunk's fixed cost.
CHUNK_ROWS = 10_000
# Containment needs enough shingles to mean something; shorter items rely on the n-gram rule.
MIN_SHINGLES = 8
MAX_PIECES_PER_SHINGLE = 20
MATCHES_PER_ROW = 5  # matches listed per training row in the findings
# Where a sentence or line ends: punctuation (maybe closing markup: "**Question:**") followed by
# space, not "3.5"; or a line break.
SENTENCE_BREAK = r"[.?!;:]+[*_\"')\]]*(?:\s+|$)|\n"

LEAK_COLUMNS = {
    "leak_source": pl.Utf8,  # protected file the row leaks from
    "leak_item": pl.Utf8,  # the protected item's own id (source_id), else its content id
    "leak_method": pl.Utf8,  # ngram | exact | near | template | semantic
    "leak_span": pl.Utf8,  # the overlapping text, as written in the training example
    # The item as people read it: "item 12 of gsm8k_test.jsonl", or for the auto-split eval set
    # "eval item (split from chats.jsonl:88)", which is a row of the input, not a benchmark.
    "leak_label": pl.Utf8,
}


def protected_mask() -> pl.Expr:
    return (pl.col("status") == "protected") | ((pl.col("split") == "eval") & (pl.col("status") == "ok"))


def candidate_mask(benchmarks: bool = False) -> pl.Expr:
    """Rows checked: train and general; with benchmark items, the eval split too."""
    ok = pl.col("status") == "ok"
    trainable = (pl.col("split") == "train") | (pl.col("origin") == "general")
    if benchmarks:
        return ok & (trainable | (pl.col("split") == "eval")) & (pl.col("origin") != "benchmark")
    return ok & trainable


def run(frame: pl.DataFrame, ctx: BuildContext, match_all: MatchAll | None = None) -> pl.DataFrame:
    """``match_all``: how the candidates are matched (``_lexical``'s own loop when None)."""
    config = ctx.config.leakage
    frame = frame.with_columns([pl.lit(None, dtype).alias(name) for name, dtype in LEAK_COLUMNS.items()])
    if not config.enabled:
        ctx.findings[NAME] = {"enabled": False}
        return frame
    frame, ctx.findings[NAME] = _check(frame, ctx, None, match_all)
    return frame


def recheck(frame: pl.DataFrame, rows: pl.Expr, ctx: BuildContext) -> pl.DataFrame:
    """Check ``rows`` again (a reviewer changed them) against the protected items, as ``run``
    checks every row; their matches join the stage's findings."""
    if not ctx.config.leakage.enabled:
        return frame
    if "leak_method" not in frame.columns:
        frame = frame.with_columns([pl.lit(None, dtype).alias(name) for name, dtype in LEAK_COLUMNS.items()])
    frame, summary = _check(frame, ctx, rows)
    earlier = ctx.findings.setdefault(NAME, {})
    earlier["leaked"] = earlier.get("leaked", 0) + summary.get("leaked", 0)
    earlier["rechecked_after_review"] = summary.get("candidates", 0)
    for key in ("by_method", "by_source"):
        merged = dict(earlier.get(key, {}))
        for name, count in summary.get(key, {}).items():
            merged[name] = merged.get(name, 0) + count
        if merged:
            earlier[key] = dict(sorted(merged.items()))
    earlier["matches"] = [*earlier.get("matches", []), *summary.get("matches", [])]
    earlier["matches_total"] = earlier.get("matches_total", 0) + summary.get("matches_total", 0)
    return frame


def _check(
    frame: pl.DataFrame, ctx: BuildContext, only: pl.Expr | None, match_all: MatchAll | None = None
) -> tuple[pl.DataFrame, dict[str, Any]]:
    """Match the candidate rows (of them, ``only`` where given) against the protected items;
    reject the leaks and fill their leak_* columns. The frame and the stage's findings."""
    config = ctx.config.leakage
    semantic = config.semantic or ctx.semantic
    if "split" not in frame.columns:
        frame = frame.with_columns(split=pl.lit(None, pl.Utf8))
    frame = frame.with_row_index("_row")
    pieces = _pieces(with_examples(frame.filter(protected_mask())), config.answers)
    benchmarks = bool(pieces.height) and not pieces["in_domain"].all()
    candidates = Candidates.of(frame, benchmarks, only)
    summary: dict[str, Any] = {
        "protected_items": pieces["_item"].n_unique() if pieces.height else 0,
        "candidates": candidates.height,
        "methods": _methods(config, semantic),
    }
    if pieces.height == 0 or candidates.height == 0:
        return frame.drop("_row"), {**summary, "leaked": 0, "matches": []}
    in_eval = frame.select((pl.col("split") == "eval").fill_null(False)).to_series().to_numpy()
    matches = _benchmarks_only_in_eval(_lexical(candidates, pieces, config, ctx, match_all), pieces, in_eval)
    if semantic:
        found = _semantic(candidates, pieces, matches, config, ctx)
        matches = pl.concat([matches, _benchmarks_only_in_eval(found, pieces, in_eval)])
    matches = _describe(matches, pieces, frame)
    # A row can match many items (MMLU repeats a reading passage across questions): report its
    # best few, count the rest, and cut spans only for what is reported.
    rank = pl.int_range(pl.len()).over("_row")
    listed = matches.with_columns(_row_matches=pl.len().over("_row")).filter(rank < MATCHES_PER_ROW)
    listed = _cut_spans(listed.head(config.max_findings), frame)
    best = _cut_spans(matches.filter(rank == 0), frame)
    frame = _apply(frame, best)
    summary["leaked"] = best.height
    summary["by_method"] = dict(best.group_by("method").len().sort("method").iter_rows())
    summary["by_source"] = dict(best.group_by("source").len().sort("source").iter_rows())
    summary["matches"] = [
        {
            "id": row["train_id"],
            "train_source": row["train_source"],
            "train_line": row["train_line"],
            "protected_source": row["source"],
            "item": row["item"],
            "label": row["label"],
            "method": row["method"],
            "score": round(row["score"], 4) if row["score"] is not None else None,
            "span": row["span"],
            "row_matches": row["_row_matches"],  # all matches of this training row, listed or not
        }
        for row in listed.iter_rows(named=True)
    ]
    summary["matches_total"] = matches.height
    return frame.drop("_row"), summary


def _methods(config: LeakageSection, semantic: bool) -> list[str]:
    methods = ["ngram"]
    if config.near:
        methods.append("near")
    if config.template:
        methods.append("template")
    if semantic:
        methods.append("semantic")
    return methods


def _pieces(protected: pl.DataFrame, answers: bool) -> pl.DataFrame:
    """Protected texts: one per item (its user turns), plus its assistant turns where configured."""
    item_id = pl.coalesce(pl.col("source_id"), pl.col("id"))
    label = (
        pl.when(pl.col("origin") == "input")
        .then(pl.format("eval item (split from {}:{})", "source", "line"))
        .otherwise(pl.format("item {} of {}", item_id, "source"))
    )
    base = protected.filter(pl.col("dedup_key").is_not_null()).select(
        pl.col("_row").alias("_item"),
        pl.col("id").alias("item_row_id"),
        "source",
        item_id.alias("item"),
        (pl.col("origin") != "benchmark").alias("in_domain"),
        label.alias("label"),
    )
    texts = [protected.filter(pl.col("dedup_key").is_not_null()).select(text_expr("user").alias("text"))]
    kinds = ["question"]
    if answers:
        texts.append(
            protected.filter(pl.col("dedup_key").is_not_null()).select(text_expr("assistant").alias("text"))
        )
        kinds.append("answer")
    parts = [
        pl.concat([base, t], how="horizontal").with_columns(kind=pl.lit(k))
        for t, k in zip(texts, kinds, strict=True)
    ]
    pieces = pl.concat(parts).filter(pl.col("text").str.strip_chars() != "")
    pieces = pieces.with_columns(words=split_words(pieces["text"]))
    pieces = pieces.with_columns(n_words=pl.col("words").list.len())
    if answers:  # a short answer ("B", "18") is not evidence of anything
        pieces = pieces.filter((pl.col("kind") == "question") | (pl.col("n_words") >= 13))
    return pieces.with_row_index("piece").with_columns(pl.col("piece").cast(pl.Int64))


@dataclass(frozen=True)
class Candidates:
    """The rows checked for leaks, read a chunk at a time: a copy of every candidate row was the
    whole frame again where few rows are duplicates."""

    columns: pl.DataFrame  # every row; the columns a row's text is read from, and ``_row``
    rows: np.ndarray  # the candidates, ascending

    @classmethod
    def of(cls, frame: pl.DataFrame, benchmarks: bool, only: pl.Expr | None = None) -> Candidates:
        read = [c for c in ("_row", "source", "example", "dedup_key", *SPAN_COLUMNS) if c in frame.columns]
        mask = candidate_mask(benchmarks).fill_null(False)
        if only is not None:
            mask = mask & only.fill_null(False)
        rows = np.flatnonzero(frame.select(mask).to_series().to_numpy())
        return cls(frame.select(read), rows)

    @property
    def height(self) -> int:
        return len(self.rows)

    def read(self, rows: np.ndarray) -> pl.DataFrame:
        """``rows`` (frame rows) with their example text."""
        return with_examples(self.columns[rows])


@dataclass(frozen=True)
class LexicalIndexes:
    """The protected items' indexes: built once, then read by every chunk of candidates."""

    ngram: Any
    near: Any | None
    template: Any | None
    short: pl.DataFrame  # items too short for windows: matched as a whole user turn or sentence


def lexical_indexes(pieces: pl.DataFrame, config: LeakageSection) -> LexicalIndexes:
    plain = hash_words(pieces["words"])
    ngram_index = build_ngram_index(plain, config.ngram, config.min_words)
    near_index = (
        build_shingle_index(plain, config.shingle, MIN_SHINGLES, MAX_PIECES_PER_SHINGLE)
        if config.near
        else None
    )
    template_index = (
        build_shingle_index(
            hash_words(pieces["words"], masked=True),
            config.template_shingle,
            MIN_SHINGLES,
            MAX_PIECES_PER_SHINGLE,
        )
        if config.template
        else None
    )
    short = pieces.filter(pl.col("n_words") < config.min_words)
    return LexicalIndexes(ngram_index, near_index, template_index, short)


def match_chunk(
    chunk: pl.DataFrame, indexes: LexicalIndexes, config: LeakageSection
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    """The per-record work: one chunk of candidate rows (``_row`` and their example text)
    against the indexes; its window and containment matches, and its whole-turn matches."""
    chunk = chunk.select("_row", "example", "dedup_key")
    examples = chunk.select(pl.when(pl.col("dedup_key").is_not_null()).then(pl.col("example")))
    hashed, masked = example_words(examples.to_series())
    parts = [ngram_matches(hashed, indexes.ngram).with_columns(method=pl.lit("ngram"))]
    if indexes.near is not None:
        parts.append(
            containment_matches(hashed, indexes.near, config.containment).with_columns(method=pl.lit("near"))
        )
    if indexes.template is not None:
        parts.append(
            containment_matches(masked, indexes.template, config.template_containment).with_columns(
                method=pl.lit("template")
            )
        )
    hits = pl.concat(parts)
    found = _rows_of(hits, chunk["_row"]) if hits.height else None
    exact = _exact_turns(chunk, indexes.short) if indexes.short.height else None
    return found, exact


# Matches every candidate against the indexes, a chunk at a time in order: lists of window and
# containment matches, and of whole-turn matches. The Ray engine passes one that sends chunks
# to tasks, with the indexes in the object store.
Matched = tuple[list[pl.DataFrame], list[pl.DataFrame]]
MatchAll = Callable[[Candidates, LexicalIndexes, LeakageSection], Matched]


def _lexical(
    candidates: Candidates,
    pieces: pl.DataFrame,
    config: LeakageSection,
    ctx: BuildContext,
    match_all: MatchAll | None,
) -> pl.DataFrame:
    indexes = lexical_indexes(pieces, config)
    if match_all is not None:
        found, exact = match_all(candidates, indexes, config)
    else:
        found, exact = [], []
        with ctx.task("checking leakage", candidates.height) as task:
            for start in range(0, candidates.height, CHUNK_ROWS):
                chunk = candidates.read(candidates.rows[start : start + CHUNK_ROWS])
                hits, turns = match_chunk(chunk, indexes, config)
                found += [hits] if hits is not None else []
                exact += [turns] if turns is not None else []
                ctx.progress.advance(task, chunk.height)
    found += exact
    if not found:
        return _no_matches()
    # Eval items come from the same domain as the train rows and share its stock phrases ("I had
    # a look through the help pages..."): for them a leak must cover most of the item.
    in_domain = pieces.filter(pl.col("in_domain")).select("piece")
    matches = pl.concat(found)
    partial = matches.join(in_domain, on="piece", how="semi").filter(
        pl.col("score") < config.eval_min_coverage
    )
    return matches.join(partial, on=["_row", "piece", "method"], how="anti")


def _benchmarks_only_in_eval(
    matches: pl.DataFrame, pieces: pl.DataFrame, in_eval: np.ndarray
) -> pl.DataFrame:
    """Drop the matches of eval rows against eval items (themselves, or their own split's
    neighbours): an eval row is checked against benchmark items only."""
    if matches.height == 0:
        return matches
    eval_row = pl.Series(in_eval).gather(matches["_row"].cast(pl.Int64))
    eval_item = matches.select("piece").join(
        pieces.select("piece", "in_domain"), on="piece", how="left", maintain_order="left"
    )["in_domain"]
    return matches.filter(~(eval_row & eval_item.fill_null(False)))


MATCHES_SCHEMA = {
    "_row": pl.UInt32,  # the training row
    "piece": pl.Int64,  # the protected text it matched
    "method": pl.Utf8,
    "score": pl.Float64,
    "first": pl.Int64,  # span in words of the training text (null where the span is given whole)
    "last": pl.Int64,
    "span": pl.Utf8,
}


def _no_matches() -> pl.DataFrame:
    return pl.DataFrame(schema=MATCHES_SCHEMA)


def _rows_of(hits: pl.DataFrame, rows: pl.Series) -> pl.DataFrame:
    """Chunk positions replaced by frame rows; spans are cut later, only for matches reported."""
    return hits.select(
        rows.gather(hits["doc"]).cast(pl.UInt32).alias("_row"),
        "piece",
        "method",
        "score",
        "first",
        "last",
        pl.lit(None, pl.Utf8).alias("span"),
    )


def _cut_spans(matches: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Fill ``span`` from each training example's text where the match has word positions."""
    todo = matches.filter(pl.col("span").is_null() & pl.col("first").is_not_null())
    if todo.height == 0:
        return matches
    # ``_row`` is the row number: a gather of those rows, lighter than a semi join.
    rows = with_examples(frame[np.unique(todo["_row"].to_numpy())])
    texts = dict(rows.select("_row", text_expr("all").alias("t")).iter_rows())
    spans = [
        span_text(texts[row], first, last)
        for row, first, last in todo.select("_row", "first", "last").iter_rows()
    ]
    cut = todo.select("_row", "piece", "method", pl.Series("_span", spans, pl.Utf8))
    return (
        matches.join(cut, on=["_row", "piece", "method"], how="left", maintain_order="left")
        .with_columns(span=pl.coalesce("span", "_span"))
        .drop("_span")
    )


def _exact_turns(candidates: pl.DataFrame, short: pl.DataFrame) -> pl.DataFrame:
    """Very short items ("What do you do?") are common phrases inside longer sentences, so they
    leak only as a whole: a user turn, or one sentence or line of it, is the item word for word."""
    key = pl.col("words").list.eval(pl.element().str.to_lowercase()).list.join(" ")
    items = short.select("piece", key.alias("key"))
    content = pl.col("m").struct.field("content").fill_null("")
    segments = content.str.replace_all(SENTENCE_BREAK, "\x1e").str.split("\x1e")
    turns = (
        candidates.filter(pl.col("dedup_key").is_not_null())
        .select("_row", pl.col("example").str.json_decode(MESSAGES_DTYPE).struct.field("messages").alias("m"))
        .explode("m")
        .filter(pl.col("m").struct.field("role") == "user")
        .select("_row", pl.concat_list(content, segments).alias("span"))
        .explode("span")
    )
    turns = turns.with_columns(words=split_words(turns["span"])).with_columns(key=key)
    return (
        turns.join(items, on="key")
        .select(
            pl.col("_row").cast(pl.UInt32),
            "piece",
            pl.lit("exact").alias("method"),
            pl.lit(1.0).alias("score"),
            pl.lit(None, pl.Int64).alias("first"),
            pl.lit(None, pl.Int64).alias("last"),
            pl.col("span").map_elements(lambda s: shorten(s, SPAN_CHARS), return_dtype=pl.Utf8),
        )
        .unique(["_row", "piece"])
    )


def _semantic(
    candidates: Candidates,
    pieces: pl.DataFrame,
    lexical: pl.DataFrame,
    config: LeakageSection,
    ctx: BuildContext,
) -> pl.DataFrame:
    """Embedding matches for the candidates the lexical tests left clean (the rest are rejected anyway)."""
    remaining = candidates.read(np.setdiff1d(candidates.rows, lexical["_row"].to_numpy()))
    texts = remaining.select(text_expr("user").alias("t"))["t"].fill_null("").to_list()
    questions = pieces.filter(pl.col("kind") == "question")
    shown = texts
    items = questions["text"].to_list()
    if config.semantic_mask:
        texts = [mask_names_and_numbers(t) for t in texts]
        items = [mask_names_and_numbers(t) for t in items]
    with ctx.task("embedding for semantic leakage", len(texts) + questions.height) as task:
        found = semantic_matches(
            texts,
            items,
            config.semantic_threshold,
            progress=lambda n: ctx.progress.advance(task, n),
            cache=build_cache(ctx),
        )
    return found.select(
        remaining["_row"].gather(found["doc"]).cast(pl.UInt32).alias("_row"),
        questions["piece"].gather(found["piece"]).cast(pl.Int64).alias("piece"),
        pl.lit("semantic").alias("method"),
        "score",
        pl.lit(None, pl.Int64).alias("first"),
        pl.lit(None, pl.Int64).alias("last"),
        pl.Series("span", [shorten(shown[d], SPAN_CHARS) for d in found["doc"].to_list()], pl.Utf8),
    )


def _describe(matches: pl.DataFrame, pieces: pl.DataFrame, frame: pl.DataFrame) -> pl.DataFrame:
    """Each match with its protected item and training row named, and its precedence."""
    precedence = {method: i for i, method in enumerate(METHODS)}
    return (
        matches.join(pieces.select("piece", "_item", "item_row_id", "source", "item", "label"), on="piece")
        .join(
            frame.select(
                "_row",
                pl.col("id").alias("train_id"),
                pl.col("source").alias("train_source"),
                pl.col("line").alias("train_line"),
            ),
            on="_row",
        )
        .with_columns(precedence=pl.col("method").replace_strict(precedence, return_dtype=pl.Int8))
        .sort(
            "_row",
            "precedence",
            pl.col("score"),
            (pl.col("last") - pl.col("first")).fill_null(0),
            descending=[False, False, True, True],
        )
        .unique(["_row", "_item"], keep="first", maintain_order=True)  # its best method per item
    )


def _apply(frame: pl.DataFrame, matches: pl.DataFrame) -> pl.DataFrame:
    """Reject each leaking row once, for its best match, and fill the leak_* columns."""
    if matches.height == 0:
        return frame
    best = matches.unique("_row", keep="first", maintain_order=True).sort("_row")
    rows = best["_row"].to_numpy()
    # Values are placed by position, not by joining the frame: a join copies every column.
    earlier = [name for name in LEAK_COLUMNS if name in frame.columns]
    held = frame.select(earlier) if earlier else None
    frame = frame.with_columns(
        [_placed(frame.height, rows, best[column]).alias(name) for name, column in _LEAK_SOURCES.items()]
    )
    frame = _reject_leaks(frame).drop("_leak_ref")
    if held is None or held["leak_method"].null_count() == held.height:
        return frame  # the stage's first pass: nothing earlier to keep
    # A recheck after review matches only the rows it was given: rows matched by the stage's
    # first pass keep their values (they were rejected then, and are not rejected twice).
    return frame.with_columns(pl.coalesce(pl.col(name), held[name]).alias(name) for name in earlier)


# Each leak_* column (and the reason's ref) and the column of the best match that fills it.
_LEAK_SOURCES = {
    "leak_source": "source",
    "leak_item": "item",
    "leak_method": "method",
    "leak_span": "span",
    "leak_label": "label",
    "_leak_ref": "item_row_id",
}
# Leaking rows closer than this are gathered as one run (``_placed``); longer null runs are not.
_NULL_RUN_ROWS = 1 << 14


def _placed(n: int, rows: np.ndarray, values: pl.Series) -> pl.Series:
    """A column of ``n`` rows, null but for ``values`` at ``rows`` (ascending), made in pieces:
    each run of leaking rows is gathered, and the long null runs between them are left as
    columns of nulls, never written. A string column gathered whole writes a 16-byte view for
    every row, null or not.
    """
    breaks = np.flatnonzero(np.diff(rows) > _NULL_RUN_ROWS) + 1
    pieces: list[pl.Series] = []
    done = 0  # rows of the column made so far
    for run in np.split(np.arange(len(rows)), breaks):
        first, last = int(rows[run[0]]), int(rows[run[-1]])
        at = np.full(last - first + 1, len(run), dtype=np.int64)  # past the end: null
        at[rows[run] - first] = np.arange(len(run))
        pieces += [_nulls(values.dtype, first - done), values.gather(run).extend_constant(None, 1).gather(at)]
        done = last + 1
    pieces.append(_nulls(values.dtype, n - done))
    return pl.concat(pieces, rechunk=False)


def _nulls(dtype: pl.DataType, n: int) -> pl.Series:
    return pl.Series(dtype=dtype).extend_constant(None, n)


# Rows rejected at a time (``_reject_leaks``).
REJECT_SLICE_ROWS = 100_000


def _reject_leaks(frame: pl.DataFrame) -> pl.DataFrame:
    """Reject the rows whose leak_method is filled in, one reason code per method family.

    ``reject`` rebuilds the frame's whole reason column on each call, so two codes over the whole
    frame held three copies of it at once. Each slice of rows is rejected on its own instead (a
    slice with no leak comes back as it was) and the column is rebuilt once, from the slices.
    """
    parts = []
    for start in range(0, frame.height, REJECT_SLICE_ROWS):
        part = frame.slice(start, REJECT_SLICE_ROWS)
        for code in dict.fromkeys(METHODS.values()):
            methods = [method for method, its_code in METHODS.items() if its_code == code]
            part = reject(
                part,
                pl.col("leak_method").is_in(methods),
                code,
                pl.format(
                    'contains {} ({} match): "{}"',
                    pl.col("leak_label"),
                    pl.col("leak_method"),
                    pl.col("leak_span").str.slice(0, 160),
                ),
                ref=pl.col("_leak_ref"),
            )
        parts.append(part.select("reasons", "status"))
    return frame.with_columns(pl.concat(parts, rechunk=True).get_columns())
