"""Near dedup: MinHash + LSH groups of near-identical records, optionally widened by embeddings.

Groups are connected components over three kinds of edge: exact copies (from exact dedup),
MinHash pairs whose estimated Jaccard reaches the threshold, and (when semantic dedup is on)
pairs of embeddings whose cosine reaches its threshold. A chain of near-duplicates is one
group. Every member, exact copies included, gets the cluster id of the record kept, chosen
by ``exact_dedup.keep_order`` (eval before input before general, best quality, first seen).
Groups span every origin; benchmark rows take no part (leakage handles them).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import polars as pl

from curate.core.config import DedupSection
from curate.core.context import BuildContext
from curate.core.frame import Which, flag, reject, text_expr
from curate.core.pairs import PAIR_FORMATS
from curate.ingest.store import with_examples
from curate.stages.dedup import minhash
from curate.stages.dedup.exact import ORIGIN_PRIORITY
from curate.stages.dedup.kernels import kept_rows, sequence_keys
from curate.stages.embeddings import build_cache, dedup_texts_reused, embed
from curate.stages.words.examples import words_of_examples
from curate.stages.words.rules import DEDUP

NAME = "near_dedup"

# Texts hashed at once per thread: bounds the stage's working memory on large inputs. A batch
# holds its texts twice (as read, and as UTF-8 buffers for the compiled walk) and their words;
# halving 16k rows lowered the MinHash pass's peak and cost no time (benchmarks/RESULTS.md).
BATCH_ROWS = 8_192
_PREVIEW = 120


def _exact_rejected() -> pl.Expr:
    return pl.col("reasons").list.eval(pl.element().struct.field("code") == "dedup.exact").list.any()


class Search(Protocol):
    """Where the compared rows' MinHash signatures live and the work that reads them: here, an
    index built in this process (``LocalSearch``); on Ray, signatures kept in the blocks and
    hash-partitioned shuffles over them (``curate.engines.ray_shuffle``). Rows are the frame's."""

    def edges(self, compared_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Verified MinHash pairs: enough of them to connect what every verified LSH candidate
        (a row with the first row of each band bucket it is in) connects."""
        ...

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Estimated Jaccard of row pairs (``minhash.estimate_jaccard``), both rows compared."""
        ...

    def shared_prompts(self, compared_rows: np.ndarray) -> pl.DataFrame:
        """Compared rows whose non-zero prompt key another compared row has: ``_row``, ``key``,
        sorted by key then row."""
        ...

    def release(self) -> None:
        """Let go of the signatures: no more edges or similarities are asked for."""
        ...


def run(frame: pl.DataFrame, ctx: BuildContext, search: Search | None = None) -> pl.DataFrame:
    """``search``: where the signatures are (the Ray engine's blocks); without it they are
    computed here."""
    settings = ctx.config.dedup
    semantic = settings.semantic or ctx.semantic
    if "cluster_id" not in frame.columns:
        frame = frame.with_columns(cluster_id=pl.lit(None, pl.Int64))
    if not (settings.near or semantic or settings.conflicting_answers):
        return stable_cluster_ids(frame)
    frame = frame.with_row_index("_row")
    canonical = pl.col("dedup_key").is_not_null() & (pl.col("origin") != "benchmark")
    # Preference pairs are grouped by curate.stages.preference.dedup: over prompt and chosen
    # answer, two pairs of one prompt would read as copies.
    canonical = canonical & ~pl.col("format").cast(pl.Utf8).is_in(list(PAIR_FORMATS)).fill_null(False)
    # Rows that are compared: usable ones. Exact copies join through their exact cluster.
    compared = frame.select(canonical & (pl.col("status") == "ok")).to_series().to_numpy()
    exact_member = frame.select(canonical & _exact_rejected()).to_series().to_numpy()
    compared_rows = np.flatnonzero(compared)
    if search is None:
        texts = _Texts(frame, compared_rows, settings.text, prompts=settings.conflicting_answers)
        search = LocalSearch(texts, ctx)
    labels, near_ran, semantic_sim = _components(frame, compared_rows, exact_member, search, semantic, ctx)
    member = compared | exact_member
    groups = _groups(frame, labels, member, compared, search if near_ran else None, semantic_sim)
    # Freed before the reasons are built, the stage's peak: the signatures and embeddings (a row's
    # worth of bytes per row) and the frame's growing reason lists would be held at once there;
    # so are the groups' arrays once the columns the reasons read are made from them.
    search.release()
    del labels, semantic_sim
    frame, rejected = _member_columns(frame, groups)
    del groups
    frame = _reject_members(frame)
    findings: dict[str, Any] = {}
    if settings.conflicting_answers:
        shared = search.shared_prompts(compared_rows)
        frame, findings["conflicting_answers"] = _conflicting_answers(frame, shared, settings)
    members = frame.select("cluster_id").filter(pl.col("cluster_id").is_not_null())
    sizes = members.group_by("cluster_id").len()["len"]
    findings.update(
        {
            "settings": {
                "text": settings.text,
                "shingle": settings.shingle,
                "num_perm": settings.num_perm,
                "threshold": settings.threshold,
                "semantic": semantic,
            },
            "compared": int(len(compared_rows)),
            "groups": int(len(sizes)),
            "records_in_groups": int(members.height),
            "largest_group": int(sizes.max() or 0) if len(sizes) else 0,  # type: ignore[arg-type]
            "rejected_near": rejected["dedup.near"],
            "rejected_semantic": rejected["dedup.semantic"],
        }
    )
    ctx.findings[NAME] = findings
    return stable_cluster_ids(frame.drop("_row"))


def stable_cluster_ids(frame: pl.DataFrame) -> pl.DataFrame:
    """Name each group by the smallest content id among its members, in place of its kept row.

    A row number moves when records are added in front, and the split hashes the group's name:
    named by content, a group keeps its name (and its side of the split) as long as its members
    stay the same, however the rest of the data is added, removed or reordered.
    """
    if frame.schema.get("cluster_id") == pl.Utf8:
        return frame
    # Only the grouped rows are grouped: a window over the whole column would group the nulls too.
    names = (
        frame.lazy()
        .select("cluster_id", "id")
        .filter(pl.col("cluster_id").is_not_null())
        .group_by("cluster_id")
        .agg(pl.col("id").min())
        .collect()
    )
    return frame.with_columns(
        cluster_id=pl.col("cluster_id").replace_strict(
            names["cluster_id"], names["id"], default=None, return_dtype=pl.Utf8
        )
    )


_SemanticSim = tuple[np.ndarray, np.ndarray, np.ndarray]  # MinHash labels, vector of each label, vectors


def _components(
    frame: pl.DataFrame,
    compared_rows: np.ndarray,
    exact_member: np.ndarray,
    search: Search,
    semantic: bool,
    ctx: BuildContext,
) -> tuple[np.ndarray, bool, _SemanticSim | None]:
    """Each row's group label over exact, MinHash and embedding edges; whether MinHash pairs
    were searched, and what semantic similarity needs."""
    settings = ctx.config.dedup
    n = frame.height
    edges_a: list[np.ndarray] = []
    edges_b: list[np.ndarray] = []
    exact_rows, exact_clusters = _exact_edges(frame, exact_member)
    edges_a.append(exact_rows)
    edges_b.append(exact_clusters)

    near_ran = bool(settings.near and len(compared_rows))
    if near_ran:
        a, b = search.edges(compared_rows)
        edges_a.append(a)
        edges_b.append(b)
        del a, b
    near_labels = minhash.connected_components(n, np.concatenate(edges_a), np.concatenate(edges_b))

    semantic_sim = None
    if semantic and len(compared_rows) > 1:
        # One embedding per MinHash group: its members are near-identical text already.
        components, first = np.unique(near_labels[compared_rows], return_index=True)
        representatives = compared_rows[first]
        vectors, a, b = _semantic_pairs(frame, representatives, settings, ctx)
        edges_a.append(representatives[a])
        edges_b.append(representatives[b])
        vector_of = np.full(n, -1, dtype=np.int64)
        vector_of[components] = np.arange(len(components))
        semantic_sim = (near_labels, vector_of, vectors)
    labels = minhash.connected_components(n, np.concatenate(edges_a), np.concatenate(edges_b))
    return labels, near_ran, semantic_sim


def _exact_edges(frame: pl.DataFrame, exact_member: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each exact copy with a cluster, and that cluster (the row its exact group kept). Read for
    those rows only: the whole column as floats (its nulls as NaN) was eight bytes a row, held
    through the MinHash pass."""
    rows = np.flatnonzero(exact_member)
    clusters = frame["cluster_id"].gather(rows)
    linked = clusters.is_not_null().to_numpy()
    return rows[linked], clusters.filter(linked).to_numpy().astype(np.int64, copy=False)


def _words(
    frame: pl.DataFrame, rows: np.ndarray, roles: tuple[Which, ...]
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Word hashes and per-row offsets of the chosen turns of ``rows``, for each of ``roles``:
    every message is tokenised once, and each role's text is a selection of its words."""
    words = words_of_examples(_examples(frame, rows), DEDUP)
    return [(w.hashes, w.offsets) for w in (words.of(which) for which in roles)]


def _examples(frame: pl.DataFrame, rows: np.ndarray) -> pl.Series:
    """The example JSON of ``rows``, read through the example store for those rows only. Rows
    that ascend and fill most of their range are taken as a slice (no copy of every column),
    the few others in it read for nothing."""
    if len(rows) and (np.diff(rows) > 0).all() and 2 * len(rows) >= rows[-1] - rows[0] + 1:
        part = with_examples(frame.slice(int(rows[0]), int(rows[-1] - rows[0] + 1)))
        return part["example"].gather(rows - rows[0])
    return with_examples(frame[rows])["example"]


def _sequence_keys(hashes: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """One 64-bit key per row for its exact word sequence (0 for a row with no words)."""
    return sequence_keys(hashes.astype(np.uint64, copy=False), offsets.astype(np.int64, copy=False))


class _Texts:
    """The compared words of any batch of rows; keeps each row's prompt key on the way (for
    conflicting answers). Batches may be asked for from several threads: each writes only its
    own rows' keys."""

    def __init__(self, frame: pl.DataFrame, rows: np.ndarray, which: Which, prompts: bool) -> None:
        self.frame, self.rows, self.which, self.prompts = frame, rows, which, prompts
        self.prompt_keys = np.zeros(len(rows), dtype=np.uint64)

    def words(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        roles: tuple[Which, ...] = (self.which, "user") if self.prompts else (self.which,)
        words = _words(self.frame, self.rows[start:stop], roles)
        if self.prompts:
            self.prompt_keys[start:stop] = _sequence_keys(*words[1])
        return words[0]

    def keep_prompt_keys(self) -> None:
        """Compute the prompt keys alone (when no MinHash index is built)."""
        for start in range(0, len(self.rows), BATCH_ROWS):
            self.words(start, min(start + BATCH_ROWS, len(self.rows)))


def _minhash_index(texts: _Texts, ctx: BuildContext) -> minhash.Index:
    settings = ctx.config.dedup
    bands, rows_per_band = minhash.choose_bands(settings.num_perm, settings.threshold)
    with ctx.task("near dedup: MinHash", len(texts.rows)) as task:
        return minhash.build_index(
            texts.words,
            len(texts.rows),
            shingle=settings.shingle,
            num_perm=settings.num_perm,
            bands=bands,
            rows_per_band=rows_per_band,
            batch_rows=BATCH_ROWS,
            advance=lambda count: ctx.progress.advance(task, count),
        )


def sign_batch(rows: pl.DataFrame, settings: DedupSection) -> pl.DataFrame:
    """The per-record work of the stage over one batch: each canonical row's MinHash signature
    and band keys (as ``_minhash_index`` makes them) and prompt key, in ``SIGNED_COLUMNS``. A
    row's values depend on its text alone, so batches may be signed anywhere, in any order;
    rows that exact dedup later rejects are signed for nothing."""
    canonical = pl.col("dedup_key").is_not_null() & (pl.col("origin") != "benchmark")
    picked = np.flatnonzero(rows.select(canonical).to_series().to_numpy())
    texts = _Texts(rows, picked, settings.text, prompts=settings.conflicting_answers)
    bands, rows_per_band = minhash.choose_bands(settings.num_perm, settings.threshold)
    small = np.zeros((rows.height, settings.num_perm), dtype=np.uint8)
    keys = np.zeros((rows.height, bands), dtype=np.uint32)
    valid = np.zeros(rows.height, dtype=bool)
    if settings.near and len(picked):
        index = minhash.build_index(
            texts.words,
            len(picked),
            shingle=settings.shingle,
            num_perm=settings.num_perm,
            bands=bands,
            rows_per_band=rows_per_band,
            batch_rows=BATCH_ROWS,
            workers=1,
        )
        small[picked], keys[picked], valid[picked] = index.small, index.keys, index.valid
    elif settings.conflicting_answers:
        texts.keep_prompt_keys()
    prompt = np.zeros(rows.height, dtype=np.uint64)
    prompt[picked] = texts.prompt_keys
    return pl.DataFrame({"_mh_small": small, "_mh_keys": keys, "_mh_valid": valid, "_mh_prompt": prompt})


SIGNED_COLUMNS = ("_mh_small", "_mh_keys", "_mh_valid", "_mh_prompt")


class LocalSearch:
    """``Search`` in this process: the compared rows' index built here, a batch of texts at a
    time; the prompt keys taken on the way."""

    def __init__(self, texts: _Texts, ctx: BuildContext) -> None:
        self.texts, self.ctx = texts, ctx
        self.small: np.ndarray | None = None  # the compared rows' 8-bit signatures
        self.position = np.zeros(0, dtype=np.int64)
        self.searched = False  # the index pass took the prompt keys on the way

    def edges(self, compared_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index = _minhash_index(self.texts, self.ctx)
        self.searched = True
        a, b = minhash.similar_pairs(index, self.ctx.config.dedup.threshold)
        self.small = index.small  # the band keys go with the index: four bytes a band a row
        del index
        self.position = np.full(int(compared_rows[-1]) + 1, -1, dtype=np.int64)
        self.position[compared_rows] = np.arange(len(compared_rows))
        return compared_rows[a], compared_rows[b]

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        assert self.small is not None, "edges first"
        out = np.empty(len(a), dtype=np.float32)
        # A slice of the pairs at a time: their positions in full were more int64 arrays of
        # every pair beside the signatures, the step's peak.
        for start in range(0, len(a), _ESTIMATE_ROWS):
            part = slice(start, start + _ESTIMATE_ROWS)
            out[part] = minhash.estimate_jaccard(self.small, self.position[a[part]], self.position[b[part]])
        return out

    def shared_prompts(self, compared_rows: np.ndarray) -> pl.DataFrame:
        if not self.searched:  # no pass took them on the way: decode them
            self.texts.keep_prompt_keys()
        return _shared_keys(compared_rows, self.texts.prompt_keys)

    def release(self) -> None:
        self.small, self.position = None, np.zeros(0, dtype=np.int64)


def _semantic_pairs(
    frame: pl.DataFrame, rows: np.ndarray, settings: Any, ctx: BuildContext
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Embedding pairs at or above the cosine threshold, among the near-dup representatives."""
    texts = with_examples(frame[rows]).select(text_expr(settings.text)).to_series().fill_null("").to_list()
    with ctx.task("near dedup: embeddings", len(texts)) as task:
        vectors = embed(
            texts,
            settings.semantic_batch_size,
            lambda count: ctx.progress.advance(task, count),
            cache=build_cache(ctx),
            keep=dedup_texts_reused(ctx.config, ctx.semantic),
        )
    firsts: list[np.ndarray] = []
    seconds: list[np.ndarray] = []
    block = max(1, (1 << 25) // len(vectors))  # rows of scores at a time: about 128 MB of float32
    for start in range(0, len(vectors), block):
        # Each block only against the rows after it: every pair is scored once.
        scores = vectors[start : start + block] @ vectors[start:].T
        i, j = np.nonzero(scores >= settings.semantic_threshold)
        i, j = i + start, j + start
        later = j > i
        firsts.append(i[later])
        seconds.append(j[later])
    return vectors, np.concatenate(firsts), np.concatenate(seconds)


@dataclass(frozen=True)
class _Groups:
    """Per row: its group (-1 outside one), the row its group keeps (-1 outside one), and for a
    rejected member its similarity to the kept row and whether only embeddings joined them."""

    group: np.ndarray  # int64
    kept_row: np.ndarray  # int64
    similarity: np.ndarray  # float32, NaN where not rejected
    by_embedding: np.ndarray  # bool


def _groups(
    frame: pl.DataFrame,
    labels: np.ndarray,
    member: np.ndarray,
    compared: np.ndarray,
    search: Search | None,
    semantic_sim: _SemanticSim | None,
) -> _Groups:
    """Each group's kept row, and each other member's similarity to it (for the reason message);
    ``search`` estimates it where MinHash pairs were searched."""
    n = len(labels)
    size = np.bincount(labels, minlength=n)
    grouped = member & (size[labels] > 1)
    group = np.where(grouped, labels, -1)
    kept_row = _kept_rows(frame, group)

    similarity = np.full(n, np.nan, dtype=np.float32)
    # Exact copies were rejected before this stage: only compared rows have a signature.
    losers = np.flatnonzero((kept_row >= 0) & (kept_row != np.arange(n)) & compared)
    if search is not None and len(losers):
        similarity[losers] = search.similarity(losers, kept_row[losers])
    by_embedding = np.zeros(n, dtype=bool)
    if semantic_sim is not None and len(losers):
        # Joined the kept record's group only through embeddings: a semantic duplicate.
        near_labels, vector_of, vectors = semantic_sim
        mine, theirs = near_labels[losers], near_labels[kept_row[losers]]
        joined = mine != theirs
        by_embedding[losers[joined]] = True
        cosine = (vectors[vector_of[mine[joined]]] * vectors[vector_of[theirs[joined]]]).sum(axis=1)
        similarity[losers[joined]] = cosine
    return _Groups(group, kept_row, similarity, by_embedding)


_ESTIMATE_ROWS = 1 << 16


def _member_columns(frame: pl.DataFrame, groups: _Groups) -> tuple[pl.DataFrame, dict[str, int]]:
    """Name each group by its kept row (``cluster_id``) and add what ``_reject_members`` reads:
    which usable members it rejects for which code, and their kept row's id and origin and
    their similarity to it. The rejected members are counted per code."""
    kept_row = groups.kept_row
    grouped = groups.group >= 0
    usable = frame.select(pl.col("status") == "ok").to_series().fill_null(False).to_numpy()
    loser = grouped & (kept_row != np.arange(len(kept_row))) & usable
    near, by_embedding = loser & ~groups.by_embedding, loser & groups.by_embedding
    kept = pl.Series(np.maximum(kept_row, 0))
    frame = frame.with_columns(
        cluster_id=pl.when(pl.Series(grouped)).then(pl.Series(kept_row)).otherwise(pl.col("cluster_id")),
        _kept_id=frame["id"].gather(kept),
        _kept_origin=frame["origin"].gather(kept),
        _similarity=pl.Series(groups.similarity).round(2),
        _near=pl.Series(near),
        _by_embedding=pl.Series(by_embedding),
    )
    return frame, {"dedup.near": int(near.sum()), "dedup.semantic": int(by_embedding.sum())}


def _reject_members(frame: pl.DataFrame) -> pl.DataFrame:
    """Reject the members ``_member_columns`` picked, naming the record their group keeps."""
    rejections = [
        ("_near", "dedup.near", "near-duplicate of the kept {} record (estimated similarity {})"),
        ("_by_embedding", "dedup.semantic", "semantic duplicate of the kept {} record (cosine {})"),
    ]
    for column, code, template in rejections:
        # The kept record's id is the reason's ref: left out of the message, the messages of a
        # million duplicates are a few hundred distinct values (categorical in the frame).
        message = pl.format(template, "_kept_origin", "_similarity")
        frame = reject(frame, pl.col(column), code, message, ref=pl.col("_kept_id"))
    return frame.drop("_kept_id", "_kept_origin", "_similarity", "_near", "_by_embedding")


def _kept_rows(frame: pl.DataFrame, group: np.ndarray) -> np.ndarray:
    """The row each grouped row's group keeps (-1 outside groups), in ``exact_dedup.keep_order``:
    origin priority, then the best quality score where the quality stage ran, then input order."""
    priority = frame["origin"].replace_strict(ORIGIN_PRIORITY, default=3, return_dtype=pl.Int8).to_numpy()
    if "quality_score" in frame.columns:
        score = (-frame["quality_score"].fill_null(0.0)).cast(pl.Float64).to_numpy()
    else:
        score = np.zeros(frame.height)
    return kept_rows(group, priority, score)


def _shared_keys(rows: np.ndarray, keys: np.ndarray) -> pl.DataFrame:
    """Rows whose non-zero key another row has too, sorted by key then row. A numpy sort of the
    keys, not polars' is_duplicated: its hash table took over a gigabyte on a million rows."""
    order = np.argsort(keys, kind="stable")  # stable: rows stay in order within a key
    ordered = keys[order]
    same = ordered[1:] == ordered[:-1]
    repeated = np.zeros(len(ordered), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    repeated &= ordered != 0
    picked = order[repeated]
    return pl.DataFrame({"_row": rows[picked], "key": keys[picked]})


def _conflicting_answers(
    frame: pl.DataFrame, shared: pl.DataFrame, settings: Any
) -> tuple[pl.DataFrame, list[dict[str, Any]]]:
    """Flag usable records whose prompt is shared by a record with a different answer.

    Prompts match when their words match (case, spacing and punctuation aside); answers count
    as the same when their MinHash estimate reaches the near-dup threshold, so a re-worded copy
    is not a conflict. Only the few records that share a prompt have their answers compared.
    """
    if shared.height == 0:
        return frame, []
    shared_rows = shared["_row"].to_numpy()
    ((answer_hashes, answer_offsets),) = _words(frame, shared_rows, ("assistant",))
    index = minhash.build_index(
        lambda start, stop: (answer_hashes, answer_offsets),
        shared.height,
        shingle=settings.shingle,
        num_perm=settings.num_perm,
        bands=1,
        rows_per_band=1,
        batch_rows=max(1, shared.height),  # one batch: the words are already at hand
    )
    # ``shared`` is sorted by key: each prompt is a run, compared with its first member.
    key = shared["key"].to_numpy()
    starts = np.ones(len(key), dtype=bool)
    starts[1:] = key[1:] != key[:-1]
    group = np.cumsum(starts) - 1
    first = np.flatnonzero(starts)
    same = minhash.estimate_jaccard(index.small, np.arange(len(group)), first[group]) >= settings.threshold
    differs = np.zeros(len(first), dtype=bool)
    np.logical_or.at(differs, group, ~same)
    answer_keys = _sequence_keys(answer_hashes, answer_offsets)
    conflicting = (
        shared.with_columns(group=pl.Series(group), answer=pl.Series(answer_keys))
        .filter(pl.Series(differs[group]))
        .join(frame.select("_row", "id", "source", "line", "status"), on="_row", how="left")
    )
    frame = flag(
        frame,
        pl.col("_row").is_in(conflicting.filter(pl.col("status") == "ok")["_row"].implode()),
        "dedup.conflicting-answers",
        "another record has the same prompt with a different answer",
    )
    prompts = (
        with_examples(frame[conflicting["_row"]]).select(text_expr("user").str.slice(0, _PREVIEW)).to_series()
    )
    listed = (
        conflicting.with_columns(prompt=prompts, where=pl.format("{}:{}", "source", "line"))
        .group_by("group", maintain_order=True)
        .agg(
            pl.col("prompt").first(),
            pl.col("id"),
            pl.col("where"),
            pl.col("answer").n_unique().alias("answers"),
        )
    )
    report = [
        {"prompt": row["prompt"], "ids": row["id"], "records": row["where"], "answers": row["answers"]}
        for row in listed.iter_rows(named=True)
    ]
    return frame, report


def recheck(frame: pl.DataFrame, rows: pl.Expr, ctx: BuildContext) -> pl.DataFrame:
    """Reject ``rows`` (a reviewer edited them) that are now near-duplicates of another usable
    row, as this stage would have: the other row is kept, whatever its quality; of two such rows
    both edited, the first is kept. Usable rows are indexed again, the edited ones among them."""
    settings = ctx.config.dedup
    if not settings.near:
        return frame
    usable_expr = (
        pl.col("dedup_key").is_not_null() & (pl.col("origin") != "benchmark") & (pl.col("status") == "ok")
    )
    usable = frame.select(usable_expr.fill_null(False)).to_series().to_numpy()
    touched = usable & frame.select(rows.fill_null(False)).to_series().to_numpy()
    if not touched.any():
        return frame
    compared_rows = np.flatnonzero(usable)
    index = _minhash_index(_Texts(frame, compared_rows, settings.text, prompts=False), ctx)
    a, b = minhash.similar_pairs(index, settings.threshold)
    first, second = compared_rows[a], compared_rows[b]
    # Each pair with an edited row: the edited one goes, or the later of two edited ones.
    loser = np.where(touched[second], second, first)
    keeper = np.where(touched[second], first, second)
    relevant = touched[first] | touched[second]
    similarity = minhash.estimate_jaccard(index.small, a[relevant], b[relevant])
    loser, keeper = loser[relevant], keeper[relevant]
    if not len(loser):
        return frame
    # One reason per edited row: its most similar kept row.
    order = np.lexsort((-similarity, loser))
    loser, keeper, similarity = loser[order], keeper[order], similarity[order]
    firsts = np.flatnonzero(np.r_[True, loser[1:] != loser[:-1]])
    loser, keeper, similarity = loser[firsts], keeper[firsts], similarity[firsts]
    ids = frame["id"].gather(keeper).to_list()
    origins = frame["origin"].cast(pl.Utf8).gather(keeper).to_list()
    frame = frame.with_row_index("_recheck_row").with_columns(pl.col("_recheck_row").cast(pl.Int64))
    row_number = pl.col("_recheck_row")  # a column: reject evaluates messages on the hit rows alone
    kept_id = {int(r): i for r, i in zip(loser, ids, strict=True)}
    messages = {
        int(r): f"after review: near-duplicate of the kept {o} record (estimated similarity {s:.2f})"
        for r, o, s in zip(loser, origins, similarity.tolist(), strict=True)
    }
    picked = row_number.is_in(pl.Series(sorted(kept_id), dtype=pl.Int64).implode())
    return reject(
        frame,
        picked,
        "dedup.near",
        row_number.replace_strict(messages, default=None, return_dtype=pl.Utf8),
        ref=row_number.replace_strict(kept_id, default=None, return_dtype=pl.Utf8),
    ).drop("_recheck_row")
