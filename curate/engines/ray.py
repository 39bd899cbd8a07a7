"""The Ray executor: the recipe's stages on a Ray cluster, with the local engine's results.

Where each part of the build runs:

- reading: every input is cut into shards at line boundaries (``curate.ingest.shards``) and one
  Ray task reads and validates each, keeping file and line numbers, so rejections name
  ``file:line`` as they do locally;
- per-record work: quality scoring and MinHash signing run over blocks of rows with Ray Data's
  ``map_batches``, calling the batch functions the local engine calls
  (``quality.score_batch``, ``near.sign_batch``); a worker holds one block at a time;
- dedup's global steps, as hash-partitioned shuffles over the keys and signatures the blocks
  left in the object store (``curate.engines.ray_shuffle``): exact dedup's group-by on the
  key, near dedup's band buckets giving verified edges, conflicting answers' group-by on the
  prompt key; the driver gets the grouped rows and the edges, and runs the connected
  components and the keep rule of the local stage (``near.run``) over them;
- the other global steps, on the driver, over the frame without its texts (rows of plain JSONL
  keep byte spans into their input, not text): token calibration (length), the split hash per
  group, leakage's protected index (put in the object store once and matched per block by
  tasks), review decisions and the mix; then the same ``finalize``.

Rows keep their input order throughout, so "first seen" means the same on both engines.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Final

import numpy as np
import orjson
import polars as pl

from curate.core.config import LeakageSection, RaySection
from curate.core.context import BuildContext
from curate.core.errors import CurateError
from curate.engines import ray_shuffle
from curate.engines.recipe import STAGES, BuildResult, finalize, input_specs
from curate.ingest import shards
from curate.ingest.inputs import InputSummary
from curate.ingest.store import SPAN_COLUMNS, with_examples
from curate.stages.dedup import exact as exact_dedup
from curate.stages.dedup import near as near_dedup
from curate.stages.leakage import stage as leakage
from curate.stages.quality import stage as quality

if TYPE_CHECKING:
    import pyarrow as pa

# Ray 2.60 on Linux binds a locally started instance to the machine's outward interface even
# when asked for 127.0.0.1; with this set to 0 every Ray process stays on 127.0.0.1. Set only
# for an instance we start, never when joining a cluster by address.
LOOPBACK_ENV: Final = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"
# Tests only: a path. The first block task that finds no file there creates it and dies, so
# that Ray's retry is exercised; the build's output must not change.
FAIL_ONCE_ENV: Final = "CURATE_RAY_FAIL_ONCE"
TASK_RETRIES: Final = 3
_FINDINGS = "_q_findings"
# What the per-record work reads of a row: the blocks carry only these columns (the example's
# text, or the span it is read from, and what quality's flags and findings name).
BLOCK_COLUMNS: Final = (
    "id",
    "source",
    "line",
    "origin",
    "status",
    "reasons",
    "flags",
    "example",
    "dedup_key",
    *SPAN_COLUMNS,
)
# Diagnostics of the last build in this process, for benchmarks/ray_scale.py: bytes that went
# through the object store (rows read, blocks sent to the per-record tasks, columns back).
LAST_TRANSFER: dict[str, int] = {}


class RayEngineError(CurateError):
    pass


def run_build(ctx: BuildContext) -> BuildResult:
    settings = ctx.config.ray
    with session(settings):
        return _run(ctx, settings)


@contextmanager
def session(settings: RaySection) -> Iterator[None]:
    """Ray for one build: the instance already connected (tests, notebooks), the cluster at
    ``address``, or a local instance on 127.0.0.1 sized to this machine, shut down after."""
    if settings.address:
        import ray  # heavy: only a Ray build loads it

        if ray.is_initialized():
            yield
            return
        try:
            ray.init(address=settings.address, log_to_driver=False)
        except (ConnectionError, RuntimeError) as error:
            raise RayEngineError(
                f"cannot join the Ray cluster: {error}",
                settings.address,
                "start it with `ray start --head`, or leave [ray] address empty for a local instance",
            ) from None
    else:
        import ray  # heavy: only a Ray build loads it

        if ray.is_initialized():
            yield
            return
        _start_local(settings)
    try:
        yield
    finally:
        ray.shutdown()


def _start_local(settings: RaySection) -> None:
    """A Ray instance on this machine whose processes all stay on 127.0.0.1."""
    import ray  # heavy: only a Ray build loads it

    with loopback_only():
        ray.init(
            num_cpus=os.cpu_count() or 1,
            _node_ip_address="127.0.0.1",
            include_dashboard=False,
            object_store_memory=settings.object_store_mb * 1_000_000 or None,
            log_to_driver=False,
        )


@contextmanager
def loopback_only() -> Iterator[None]:
    """While Ray processes are started here, keep them on 127.0.0.1 (see LOOPBACK_ENV): the
    processes inherit the variable; this one reads it once, when ray is first imported, so its
    constant is set too."""
    from ray._private import ray_constants  # heavy: only a Ray build loads it

    before = os.environ.get(LOOPBACK_ENV)
    enabled = ray_constants.ENABLE_RAY_CLUSTER
    os.environ[LOOPBACK_ENV] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    try:
        yield
    finally:
        ray_constants.ENABLE_RAY_CLUSTER = enabled
        if before is None:
            os.environ.pop(LOOPBACK_ENV, None)
        else:
            os.environ[LOOPBACK_ENV] = before


def _run(ctx: BuildContext, settings: RaySection) -> BuildResult:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    frame, inputs = _read(ctx, settings)
    timings["ingest"] = time.perf_counter() - started
    blocks = ray_shuffle.KeyBlocks(cpus=settings.cpus_per_task)
    dedup = ctx.config.dedup
    for name, stage in STAGES:
        started = time.perf_counter()
        if name == quality.NAME:
            frame, blocks = _per_record(frame, ctx, settings)
        elif name == exact_dedup.NAME and blocks.refs:
            frame = exact_dedup.run(frame, ctx, partial(ray_shuffle.exact_groups, blocks))
        elif name == near_dedup.NAME and blocks.refs:
            search = ray_shuffle.RaySearch(blocks, dedup.threshold, dedup.num_perm)
            frame = near_dedup.run(frame, ctx, search)
            blocks.release()  # the signatures leave the object store
        elif name == leakage.NAME:
            frame = leakage.run(frame, ctx, partial(_match_blocks, settings=settings))
        else:
            frame = stage(frame, ctx)
        timings[name] = time.perf_counter() - started
    return BuildResult(finalize(frame), inputs, timings, ctx.findings)


def _read(ctx: BuildContext, settings: RaySection) -> tuple[pl.DataFrame, list[InputSummary]]:
    """Every shard read by its own task; rows come back in input order."""
    import ray  # heavy: only a Ray build loads it

    LAST_TRANSFER.clear()
    plan = shards.plan(input_specs(ctx), settings.shard_mb << 20)
    read = ray.remote(num_cpus=settings.cpus_per_task, max_retries=TASK_RETRIES)(_read_task)
    limit = ctx.config.validate.max_line_bytes
    refs = [read.remote(shard, limit, os.getcwd()) for shard in plan.shards]
    parts: list[pl.DataFrame] = []
    with ctx.task("reading and validating records") as task:
        for shard, ref in zip(plan.shards, refs, strict=True):
            rows = ray.get(ref)
            summary = plan.summaries[shard.index]
            summary.records += rows.frame.height
            summary.blank_lines += rows.blank_lines
            for fmt, n in rows.frame["format"].drop_nulls().value_counts().iter_rows():
                summary.formats[fmt] = summary.formats.get(fmt, 0) + n
            parts.append(rows.frame)
            LAST_TRANSFER["read"] = LAST_TRANSFER.get("read", 0) + int(rows.frame.estimated_size())
            ctx.progress.advance(task, rows.frame.height)
        del refs
    for summary in plan.summaries:
        summary.formats = dict(sorted(summary.formats.items()))
    return pl.concat(parts, how="vertical", rechunk=True), plan.summaries


def _read_task(shard: shards.Shard, max_line_bytes: int, cwd: str) -> shards.ShardRows:
    os.chdir(cwd)  # inputs named relative to the driver's folder (shared storage on a cluster)
    return shards.read_shard(shard, max_line_bytes)


def _per_record(
    frame: pl.DataFrame, ctx: BuildContext, settings: RaySection
) -> tuple[pl.DataFrame, ray_shuffle.KeyBlocks]:
    """Quality scoring and MinHash signing of every block with ``map_batches``; the frame takes
    the quality columns back, and each block's keys and signatures stay in the object store for
    dedup's shuffles (``ray_shuffle.KeyBlocks``)."""
    import ray  # heavy: only a Ray build loads it
    import ray.data

    config = ctx.config
    score = config.quality.enabled
    sign = config.dedup.near or config.dedup.conflicting_answers
    kept = ray_shuffle.KeyBlocks(cpus=settings.cpus_per_task)
    if frame.height == 0:
        return frame, kept
    data_context = ray.data.DataContext.get_current()
    data_context.execution_options.preserve_order = True
    data_context.enable_progress_bars = False
    sent = [c for c in BLOCK_COLUMNS if c in frame.columns]
    blocks = []
    for start in range(0, frame.height, settings.block_rows):
        rows = frame.slice(start, settings.block_rows).select(sent)
        block = rows.with_row_index("_row", offset=start).to_arrow()
        LAST_TRANSFER["to_blocks"] = LAST_TRANSFER.get("to_blocks", 0) + block.nbytes
        blocks.append(ray.put(block))
        del block
    # ray's stubs type neither a list of plain ObjectRefs nor a batch function with keywords
    dataset = ray.data.from_arrow_refs(blocks).map_batches(  # type: ignore[arg-type]
        _block_task,  # type: ignore[arg-type]
        batch_format="pyarrow",
        batch_size=None,
        zero_copy_batch=True,
        fn_kwargs={
            "quality_config": config.quality if score else None,
            "dedup_config": config.dedup if sign else None,
            "cwd": os.getcwd(),
            "fail_once": os.environ.get(FAIL_ONCE_ENV),
        },
        num_cpus=settings.cpus_per_task,
        # Retried on a lost worker by Ray's task default (3, TASK_RETRIES), which Ray Data keeps.
    )
    # Each block's result is cut in two by a task: the driver fetches the quality columns, the
    # keys and signatures stay in the object store.
    split = ray.remote(num_cpus=settings.cpus_per_task, num_returns=2, max_retries=TASK_RETRIES)(_split_task)
    halves: list[Any] = [split.remote(ref) for ref in dataset.to_arrow_refs()]  # ray types one ref
    del blocks, dataset
    partials: list[Any] = []
    with ctx.task("scoring and signing blocks", frame.height) as task:
        parts = []
        for columns_ref, keys_ref in halves:
            table: pa.Table = ray.get(columns_ref)
            LAST_TRANSFER["from_blocks"] = LAST_TRANSFER.get("from_blocks", 0) + table.nbytes
            part = pl.from_arrow(table)
            del table
            assert isinstance(part, pl.DataFrame)
            kept.starts.append(int(part["_row"][0]))
            kept.sizes.append(part.height)
            kept.refs.append(keys_ref)
            if score:
                partials.append(orjson.loads(part[_FINDINGS][0]))
                part = part.drop(_FINDINGS)
            parts.append(part)
            ctx.progress.advance(task, part.height)
        del halves
    done = pl.concat(parts, how="vertical")
    del parts
    if done.height != frame.height or not (done["_row"].to_numpy() == np.arange(frame.height)).all():
        raise AssertionError("the blocks did not come back with every row once, in order")
    if score:
        written = [c for c in done.columns if c != "_row"]
        frame = frame.with_columns(done.select(written).get_columns())
        ctx.findings[quality.NAME] = quality.findings(partials, frame["quality_score"], config.quality)
    return frame, kept


def _block_task(
    batch: pa.Table,
    quality_config: Any,
    dedup_config: Any,
    cwd: str,
    fail_once: str | None,
) -> pa.Table:
    """One block: the quality stage's columns and the batch's findings (as JSON on its first
    row); the rows' dedup keys and keep-order fields, and their MinHash signatures."""
    os.chdir(cwd)
    if fail_once:
        _fail_once(fail_once)
    rows = pl.from_arrow(batch)
    assert isinstance(rows, pl.DataFrame)
    columns: list[pl.Series] = [rows["_row"]]
    if quality_config is not None:
        written, partial = quality.score_batch(rows.drop("_row"), quality_config)
        columns.extend(written.get_columns())
        note = [orjson.dumps(partial).decode()] + [None] * (rows.height - 1)
        columns.append(pl.Series(_FINDINGS, note, dtype=pl.Utf8))
    columns.append(rows["dedup_key"].alias(_KEY))
    columns.append(rows.select(exact_dedup.priority(pl.col("origin"))).to_series().alias(_PRIORITY))
    if dedup_config is not None:
        columns.extend(near_dedup.sign_batch(rows, dedup_config).get_columns())
    return pl.DataFrame(columns).to_arrow()


_KEY = "_x_key"
_PRIORITY = "_x_priority"


def _split_task(table: pa.Table) -> tuple[pa.Table, dict[str, np.ndarray]]:
    """A block's result: the columns the frame takes, and the ``ray_shuffle`` key block."""
    rows = pl.from_arrow(table)
    assert isinstance(rows, pl.DataFrame)
    keys: dict[str, np.ndarray] = {
        ray_shuffle.DEDUP_KEY: rows[_KEY].fill_null(0).to_numpy(),
        ray_shuffle.PRIORITY: rows[_PRIORITY].to_numpy(),
    }
    if "quality_score" in rows.columns:
        keys[ray_shuffle.SCORE] = rows["quality_score"].cast(pl.Float64).to_numpy()
    signed = {
        "_mh_small": ray_shuffle.SMALL,
        "_mh_keys": ray_shuffle.BAND_KEYS,
        "_mh_valid": ray_shuffle.VALID,
        "_mh_prompt": ray_shuffle.PROMPT,
    }
    for column, name in signed.items():
        if column in rows.columns:
            keys[name] = rows[column].to_numpy()
    kept = [c for c in rows.columns if c not in (*signed, _KEY, _PRIORITY)]
    return rows.select(kept).to_arrow(), keys


def _match_blocks(
    candidates: leakage.Candidates,
    indexes: leakage.LexicalIndexes,
    config: LeakageSection,
    settings: RaySection,
) -> leakage.Matched:
    """Leakage's per-record work: the protected indexes put in the object store once, each
    block of candidate rows matched against them by a task; matches come back in row order."""
    import ray  # heavy: only a Ray build loads it

    shared = ray.put(indexes)
    match = ray.remote(num_cpus=settings.cpus_per_task, max_retries=TASK_RETRIES)(_leak_task)
    refs = []
    for start in range(0, candidates.height, settings.block_rows):
        block = candidates.columns[candidates.rows[start : start + settings.block_rows]]
        LAST_TRANSFER["to_leakage"] = LAST_TRANSFER.get("to_leakage", 0) + int(block.estimated_size())
        refs.append(match.remote(block, shared, config, os.getcwd()))
    found: list[pl.DataFrame] = []
    exact: list[pl.DataFrame] = []
    for ref in refs:
        hits, turns = ray.get(ref)
        found += [hits] if hits is not None else []
        exact += [turns] if turns is not None else []
    return found, exact


def _leak_task(
    block: pl.DataFrame, indexes: leakage.LexicalIndexes, config: LeakageSection, cwd: str
) -> tuple[pl.DataFrame | None, pl.DataFrame | None]:
    os.chdir(cwd)
    return leakage.match_chunk(with_examples(block), indexes, config)


def _fail_once(marker: str) -> None:
    try:
        with open(marker, "x"):
            pass
    except FileExistsError:
        return
    os._exit(1)  # a worker that dies mid-task: Ray runs the task again elsewhere
