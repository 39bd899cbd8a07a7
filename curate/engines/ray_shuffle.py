"""Dedup's global steps on Ray: hash-partitioned shuffles over what the blocks kept.

After the per-record pass every block leaves a ``KeyBlock`` in the object store: its rows'
exact-dedup key and keep-order fields, MinHash signatures, band keys and prompt keys. The
driver never fetches them. It sends each block a mask of the rows that take part (a byte a
row, from its frame: the statuses are there), and each block's task sends each of its entries
to one of ``partitions`` reduce tasks by a hash of the entry's key (Ray tasks with
``num_returns``: the map side of a shuffle). A reduce task sees every entry of its keys:

- exact dedup: the rows that share a ``dedup_key``, and the row each group keeps
  (``exact.kept_in_groups``, the local engine's rule);
- near dedup: the rows of each ``(band, key)`` bucket; each member with the bucket's first row
  is a candidate pair, as ``minhash.similar_pairs`` makes them; the pairs are verified with the
  signatures of their rows, which the map side sends along (each row's once to each partition
  one of its bands goes to), and a spanning forest of the verified edges goes back. Over the
  union of the forests the driver runs the local engine's connected components and keep rule
  (``near.run``); then each rejected row's estimate against its kept row is a join of their
  signatures on the kept row, one more shuffle;
- conflicting answers: the rows that share a prompt key.

Only rows in groups, verified edges and estimates come back to the driver. Every shuffle moves
a fixed number of bytes a row, whatever the number of blocks and partitions: nothing is fetched
whole by every partition.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Final

import numpy as np
import polars as pl

from curate.stages.dedup import exact, minhash
from curate.stages.dedup.kernels import forest_edges, join_edges

# A block's arrays in the object store (``KeyBlock``): numpy, fetched without a copy.
SMALL: Final = "small"  # (rows, num_perm) uint8 signatures
BAND_KEYS: Final = "keys"  # (rows, bands) uint32
VALID: Final = "valid"  # bool: the row had a shingle
PROMPT: Final = "prompt"  # uint64 prompt key (0: no words)
DEDUP_KEY: Final = "dedup_key"  # int64
PRIORITY: Final = "priority"  # int8, exact.priority of the origin
SCORE: Final = "score"  # float64 quality score (absent without the quality stage)
# Diagnostics for benchmarks/ray_scale.py: bytes each shuffle moved (map outputs).
SHUFFLED: dict[str, int] = {}


@dataclass
class KeyBlocks:
    """Where each block's ``KeyBlock`` is: its first row and its object ref, in row order."""

    starts: list[int] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    refs: list[Any] = field(default_factory=list)
    cpus: float = 1.0
    partitions: int = 0  # 0: one per two blocks

    def parts(self) -> int:
        return self.partitions or max(1, (len(self.refs) + 1) // 2)

    def release(self) -> None:
        self.refs = []


# --- the map side ---------------------------------------------------------------------------


def _route(keys: np.ndarray, partitions: int) -> tuple[np.ndarray, np.ndarray]:
    """The order that puts entries partition by partition, and where each partition begins."""
    to = (minhash.mix(keys.astype(np.uint64, copy=False)) % np.uint64(partitions)).astype(np.int64)
    order = np.argsort(to, kind="stable")  # stable: rows stay ascending within a partition
    bounds = np.searchsorted(to[order], np.arange(partitions + 1))
    return order, bounds


def _split(columns: dict[str, np.ndarray], order: np.ndarray, bounds: np.ndarray) -> Any:
    outs = tuple(
        {k: v[order[bounds[p] : bounds[p + 1]]] for k, v in columns.items()} for p in range(len(bounds) - 1)
    )
    return outs[0] if len(outs) == 1 else outs  # Ray wants one value, not a tuple, for one return


def _emit_keys(block: dict[str, np.ndarray], mask: np.ndarray, start: int, name: str, partitions: int) -> Any:
    """The masked rows' ``name`` keys (and, for exact dedup, their keep-order fields) by partition."""
    rows = np.flatnonzero(mask)
    keys = block[name][rows]
    columns = {"key": keys.view(np.uint64), "row": (rows + start).astype(np.int64)}
    if name == DEDUP_KEY:
        columns[PRIORITY] = block[PRIORITY][rows]
        if SCORE in block:
            columns[SCORE] = block[SCORE][rows]
    else:  # prompt keys: 0 is a prompt with no words, shared by nothing
        picked = keys != 0
        columns = {k: v[picked] for k, v in columns.items()}
    order, bounds = _route(columns["key"], partitions)
    return _split(columns, order, bounds)


def _emit_bands(
    block: dict[str, np.ndarray], mask: np.ndarray, start: int, first: int, stop: int, partitions: int
) -> Any:
    """Every (band, key) of bands ``first..stop`` of the masked rows with a signature, and the
    row, by partition; and the signature of each row, once to each partition that one of its
    entries goes to (what the partition verifies its pairs with)."""
    rows = np.flatnonzero(mask & block[VALID])
    if start + len(mask) >= 1 << 32:
        raise ValueError("near dedup's shuffle numbers rows in 32 bits")
    keys = block[BAND_KEYS][rows, first:stop]
    bands = keys.shape[1]
    band = np.arange(first, stop, dtype=np.uint64)[None, :]
    bucket = ((band << np.uint64(32)) | keys).reshape(-1)
    local = np.repeat(rows, bands)
    order, bounds = _route(bucket, partitions)
    outs = []
    for p in range(partitions):
        picked = order[bounds[p] : bounds[p + 1]]
        signed = np.unique(local[picked])
        outs.append(
            {
                "key": bucket[picked],
                "row": (local[picked] + start).astype(np.uint32),
                "signed_row": (signed + start).astype(np.uint32),
                SMALL: block[SMALL][signed],
            }
        )
    return outs[0] if partitions == 1 else tuple(outs)


def _emit_pairs(
    block: dict[str, np.ndarray], mask: np.ndarray, start: int, kept: np.ndarray, partitions: int
) -> Any:
    """Each masked row with its signature, keyed by the row it is estimated against (``kept``;
    a kept row is its own), by partition: a join of the two rows' signatures on the kept row."""
    rows = np.flatnonzero(mask)
    columns = {
        "key": kept[rows].astype(np.uint64),
        "row": (rows + start).astype(np.int64),
        SMALL: block[SMALL][rows],
    }
    order, bounds = _route(columns["key"], partitions)
    return _split(columns, order, bounds)


# --- the reduce side ------------------------------------------------------------------------


def _concat(parts: tuple[dict[str, np.ndarray], ...]) -> dict[str, np.ndarray]:
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


def _shared(key: np.ndarray, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Entries sorted by key then row, and which of them share their key with another."""
    order = np.lexsort((row, key))
    ordered = key[order]
    same = ordered[1:] == ordered[:-1]
    repeated = np.zeros(len(ordered), dtype=bool)
    repeated[1:] |= same
    repeated[:-1] |= same
    return order, repeated


def _group_copies(*parts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Exact dedup over one partition: its grouped rows and the row each group keeps."""
    entries = _concat(parts)
    order, repeated = _shared(entries["key"], entries["row"])
    picked = order[repeated]
    grouped = pl.DataFrame(
        {
            "dedup_key": entries["key"][picked].view(np.int64),
            "_priority": entries[PRIORITY][picked],
            "_row": entries["row"][picked],
            **({"quality_score": entries[SCORE][picked]} if SCORE in entries else {}),
        }
    )
    ranked = exact.kept_in_groups(grouped)
    return ranked["_row"].to_numpy(), ranked["_kept_row"].to_numpy()


def _group_prompts(*parts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Conflicting answers over one partition: the rows that share a prompt key, and the key."""
    entries = _concat(parts)
    order, repeated = _shared(entries["key"], entries["row"])
    picked = order[repeated]
    return entries["row"][picked], entries["key"][picked]


def _near_edges(passes: np.ndarray, *parts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Near dedup over one partition: a spanning forest of its verified candidate pairs."""
    bucket = np.concatenate([p["key"] for p in parts])
    row = np.concatenate([p["row"] for p in parts]).astype(np.int64)
    order = np.lexsort((row, bucket))  # each bucket's first row first
    bucket, row = bucket[order], row[order]
    del order
    first, other = minhash.first_with_members(bucket, row)
    del bucket, row
    pairs = np.unique(first << 32 | other)  # a pair of several bands: once
    del first, other
    a, b = pairs >> 32, pairs & 0xFFFFFFFF
    del pairs
    if not len(a):
        return a, b
    # Each block's signed rows ascend, and the blocks come in row order.
    signed = np.concatenate([p["signed_row"] for p in parts]).astype(np.int64)
    small = np.concatenate([p[SMALL] for p in parts])
    ia, ib = np.searchsorted(signed, a), np.searchsorted(signed, b)
    agree = np.zeros(len(a), dtype=np.int64)
    for start in range(0, len(a), 1 << 16):  # two (step, num_perm) byte arrays at a time
        part = slice(start, start + (1 << 16))
        agree[part] = (small[ia[part]] == small[ib[part]]).sum(axis=1)
    verified = passes[agree]
    a, b = a[verified], b[verified]
    rows, where = np.unique(np.concatenate([a, b]), return_inverse=True)
    kept = forest_edges(len(rows), where[: len(a)], where[len(a) :])  # the rest join nothing more
    return a[kept], b[kept]


def _estimates(*parts: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Each row's ``minhash.estimate_jaccard`` against its kept row, whose entry (its own key)
    is in the same partition: the rows, and their estimates."""
    entries = _concat(parts)
    key, row = entries["key"].astype(np.int64), entries["row"]
    losers = np.flatnonzero(row != key)
    kept_at = np.searchsorted(row, key[losers])  # rows ascend: the blocks come in row order
    if len(losers) and not (row[np.minimum(kept_at, len(row) - 1)] == key[losers]).all():
        raise AssertionError("a kept row without its signature in the partition")
    return row[losers], minhash.estimate_jaccard(entries[SMALL], losers, kept_at)


# --- the driver's side ----------------------------------------------------------------------


def _shuffle(
    blocks: KeyBlocks,
    mask: np.ndarray,
    emit: Any,
    reduce: Any,
    what: str,
    args: tuple[Any, ...] = (),
    reduce_args: tuple[Any, ...] = (),
    per_block: np.ndarray | None = None,
) -> Iterator[Any]:
    """Map every block's masked rows to the partitions (``emit(block, mask, start, *args,
    [its slice of per_block,] partitions)``), reduce each partition (``reduce(*reduce_args,
    *parts)``); the results, one partition at a time, in order."""
    import ray  # heavy: only a Ray build loads it

    parts = blocks.parts()
    mapper = ray.remote(num_cpus=blocks.cpus, num_returns=parts)(emit)
    outputs = []
    for start, size, ref in zip(blocks.starts, blocks.sizes, blocks.refs, strict=True):
        extra = () if per_block is None else (per_block[start : start + size],)
        out = mapper.remote(ref, mask[start : start + size], start, *args, *extra, parts)
        outputs.append([out] if parts == 1 else out)
    reducer = ray.remote(num_cpus=blocks.cpus)(_counted)
    results = [
        reducer.remote(reduce, len(reduce_args), *reduce_args, *[out[p] for out in outputs])
        for p in range(parts)
    ]
    del outputs  # each map output lives until its reduce task has read it
    for ref in results:
        result, read = ray.get(ref)
        SHUFFLED[what] = SHUFFLED.get(what, 0) + read
        yield result


def _counted(reduce: Any, fixed: int, *args: Any) -> tuple[Any, int]:
    """``reduce``'s result, and the bytes of the map outputs it read (diagnostics)."""
    parts = args[fixed:]
    return reduce(*args), sum(v.nbytes for part in parts for v in part.values())


def exact_groups(blocks: KeyBlocks, candidate: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``exact.run``'s grouping: a hash-partitioned group-by on ``dedup_key``."""
    results = list(_shuffle(blocks, candidate, _emit_keys, _group_copies, "exact", (DEDUP_KEY,)))
    rows = np.concatenate([r for r, _ in results])
    kept = np.concatenate([k for _, k in results])
    order = np.argsort(rows)
    return rows[order], kept[order]


class RaySearch:
    """``near.Search`` over the blocks' signatures (see the module's text)."""

    def __init__(
        self, blocks: KeyBlocks, threshold: float, num_perm: int, bands: int, store_bytes: float
    ) -> None:
        self.blocks, self.threshold, self.num_perm = blocks, threshold, num_perm
        self.bands, self.store_bytes = bands, store_bytes

    def edges(self, compared_rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        shares = (np.arange(self.num_perm + 1, dtype=np.float64) / self.num_perm).astype(np.float32)
        passes = minhash._corrected(shares) >= self.threshold  # as minhash.similar_pairs verifies
        mask = _mask(compared_rows, self.blocks)
        # Each partition's forest joined onto one union-find as it comes: a row's bands reach up
        # to ``bands`` partitions, so their forests together hold that many edges a row, where
        # the joined forest holds at most one.
        parent = np.arange(len(mask), dtype=np.int64)
        edges_a: list[np.ndarray] = []
        edges_b: list[np.ndarray] = []
        # A few bands a round: a round's map outputs (76 bytes a band a row: key, row and the
        # signature) wait in the object store until every map task is done, so a round's share
        # of the bands keeps them within a quarter of the store.
        bands, store = self.bands, self.store_bytes
        step = max(1, min(bands, int(store / 4 / max(1, len(compared_rows) * (12 + self.num_perm)))))
        for first in range(0, bands, step):
            rounds = _shuffle(
                self.blocks,
                mask,
                _emit_bands,
                _near_edges,
                "near",
                args=(first, min(bands, first + step)),
                reduce_args=(passes,),
            )
            for a, b in rounds:
                joined = join_edges(parent, a, b)
                edges_a.append(a[joined])
                edges_b.append(b[joined])
        return np.concatenate([np.zeros(0, np.int64), *edges_a]), np.concatenate(
            [np.zeros(0, np.int64), *edges_b]
        )

    def similarity(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """A shuffle that joins each row of ``a`` (distinct) to its row of ``b`` on ``b``."""
        if not len(a):
            return np.zeros(0, dtype=np.float32)
        kept = np.arange(_total(self.blocks), dtype=np.int64)
        kept[a] = b
        mask = _mask(a, self.blocks)
        mask[b] = True
        results = list(_shuffle(self.blocks, mask, _emit_pairs, _estimates, "estimates", per_block=kept))
        rows = np.concatenate([r for r, _ in results])
        estimates = np.concatenate([e for _, e in results])
        out = np.full(len(a), np.nan, dtype=np.float32)
        order = np.argsort(a)
        out[order[np.searchsorted(a[order], rows)]] = estimates
        return out

    def shared_prompts(self, compared_rows: np.ndarray) -> pl.DataFrame:
        mask = _mask(compared_rows, self.blocks)
        results = list(_shuffle(self.blocks, mask, _emit_keys, _group_prompts, "prompts", (PROMPT,)))
        shared = pl.DataFrame(
            {
                "_row": np.concatenate([np.zeros(0, dtype=np.int64), *(r for r, _ in results)]),
                "key": np.concatenate([np.zeros(0, dtype=np.uint64), *(k for _, k in results)]),
            }
        )
        return shared.sort("key", "_row")

    def release(self) -> None:
        """The signatures stay in the blocks until the build lets go of them (prompts next)."""


def _total(blocks: KeyBlocks) -> int:
    return blocks.starts[-1] + blocks.sizes[-1] if blocks.starts else 0


def _mask(rows: np.ndarray, blocks: KeyBlocks) -> np.ndarray:
    mask = np.zeros(_total(blocks), dtype=bool)
    mask[rows] = True
    return mask
