"""The Ray engine on a two-node cluster (one CPU each, both on 127.0.0.1) gives the local
engine's build, row for row."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
from polars.testing import assert_frame_equal

from curate.core.config import DedupSection, load_config
from curate.core.context import BuildContext
from curate.engines import ray_shuffle
from curate.engines.ray import BLOCK_COLUMNS, _block_task
from curate.engines.recipe import BuildResult
from curate.ingest.inputs import InputSpec, ingest
from curate.stages.dedup import exact as exact_dedup
from curate.stages.dedup import minhash
from curate.stages.dedup import near as near_dedup
from tests.ray.builds import assert_same_build, build, samples_config


def test_samples_same_as_local(ray_cluster: Any, local_samples: BuildResult) -> None:
    assert_same_build(build(samples_config(), "ray"), local_samples)


def test_alpaca_slice_same_as_local(ray_cluster: Any, alpaca_folder: Path, local_alpaca: BuildResult) -> None:
    assert_same_build(build(load_config(alpaca_folder / "curate.toml"), "ray"), local_alpaca)


# --- dedup's shuffles, in three partitions over the two nodes -------------------------------


def _slice_and_blocks(
    ray: Any, folder: Path, block_rows: int = 700
) -> tuple[pl.DataFrame, ray_shuffle.KeyBlocks]:
    """The Alpaca slice ingested, with a quality score that ties and misses on some rows (so the
    keep rule's every key decides somewhere), and its key blocks made by the engine's own block
    and split functions and put in the object store, as the per-record pass leaves them."""
    frame, _ = ingest([InputSpec(str(folder / "alpaca_slice.jsonl"), "input")], 16_000_000)
    rng = np.random.default_rng(17)
    score = pl.Series(rng.choice([0.0, 0.5, 0.9, np.nan], frame.height))  # a missing score is 0.0
    frame = frame.with_columns(quality_score=pl.when(score.is_nan()).then(None).otherwise(score))
    blocks = ray_shuffle.KeyBlocks(partitions=3)
    settings = DedupSection()
    for start in range(0, frame.height, block_rows):
        rows = frame.slice(start, block_rows)
        batch = rows.select([c for c in BLOCK_COLUMNS if c in rows.columns]).with_row_index(
            "_row", offset=start
        )
        _, keys = _block_task(batch, None, settings, os.getcwd(), None)
        keys[ray_shuffle.SCORE] = rows["quality_score"].fill_null(0.0).to_numpy()
        blocks.starts.append(start)
        blocks.sizes.append(rows.height)
        blocks.refs.append(ray.put(keys))
    return frame, blocks


def test_exact_groups_across_partitions(ray_cluster: Any, alpaca_folder: Path) -> None:
    frame, blocks = _slice_and_blocks(ray_cluster, alpaca_folder)
    ok = frame.select(pl.col("dedup_key").is_not_null() & (pl.col("status") == "ok")).to_series()
    candidate = ok.fill_null(False).to_numpy()
    local_rows, local_kept = exact_dedup._grouped_here(frame, candidate)
    ray_rows, ray_kept = ray_shuffle.exact_groups(blocks, candidate)
    assert len(local_rows) > 300  # the planted copies
    assert np.array_equal(ray_rows, local_rows)
    assert np.array_equal(ray_kept, local_kept)
    # Groups spread over every partition, and some group's kept row is not its first row.
    parts = ray_cluster.get(
        [
            ray_cluster.remote(_group_sizes).remote(b, candidate[s : s + n], s)
            for s, n, b in zip(blocks.starts, blocks.sizes, blocks.refs, strict=True)
        ]
    )
    assert set().union(*parts) == {0, 1, 2}
    firsts = pl.DataFrame({"row": local_rows, "kept": local_kept}).group_by("kept").agg(pl.col("row").min())
    assert (firsts["row"] != firsts["kept"]).any()


def _group_sizes(block: dict[str, np.ndarray], mask: np.ndarray, start: int) -> set[int]:
    """The partitions the block's candidate rows go to."""
    outs = ray_shuffle._emit_keys(block, mask, start, ray_shuffle.DEDUP_KEY, 3)
    return {p for p, out in enumerate(outs) if len(out["row"])}


def test_near_edges_across_partitions(ray_cluster: Any, alpaca_folder: Path) -> None:
    """The shuffle's verified edges connect the components the local index's do; estimates and
    shared prompts are the local ones; candidates came from every partition."""
    frame, blocks = _slice_and_blocks(ray_cluster, alpaca_folder)
    settings = DedupSection()
    canonical = frame.select(pl.col("dedup_key").is_not_null() & (pl.col("status") == "ok")).to_series()
    compared = np.flatnonzero(canonical.fill_null(False).to_numpy())
    ctx = BuildContext(config=load_config(None, {}))
    local = near_dedup.LocalSearch(near_dedup._Texts(frame, compared, "all", prompts=True), ctx)
    # A store of 3 MB: two bands a round (about 4,700 compared rows, 76 bytes a band a row).
    remote = ray_shuffle.RaySearch(blocks, settings.threshold, settings.num_perm, 16, 3e6)
    local_a, local_b = local.edges(compared)
    ray_a, ray_b = remote.edges(compared)
    n = frame.height
    local_labels = minhash.connected_components(n, local_a, local_b)
    ray_labels = minhash.connected_components(n, ray_a, ray_b)
    assert len(np.unique(local_labels)) < n - 500  # the planted near copies are grouped
    assert np.array_equal(ray_labels, local_labels)
    members = np.flatnonzero(local_labels != np.arange(n))
    kept = local_labels[members]
    assert np.array_equal(remote.similarity(members, kept), local.similarity(members, kept))
    assert_frame_equal(remote.shared_prompts(compared), local.shared_prompts(compared))
    # Each partition verified edges of its own.
    shares = (np.arange(65, dtype=np.float64) / 64).astype(np.float32)
    passes = minhash._corrected(shares) >= settings.threshold
    mask = np.zeros(n, dtype=bool)
    mask[compared] = True
    per_partition = list(
        ray_shuffle._shuffle(
            blocks,
            mask,
            ray_shuffle._emit_bands,
            ray_shuffle._near_edges,
            "test",
            args=(0, 16),
            reduce_args=(passes,),
        )
    )
    assert len(per_partition) == 3
    assert all(len(a) > 50 for a, _ in per_partition)
