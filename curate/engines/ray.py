"""The Ray executor: the recipe's stages on a Ray cluster, with the local engine's results.

Where each part of the build runs:

- reading: every input is cut into shards at line boundaries (``curate.ingest.shards``) and one
  Ray task reads and validates each, keeping file and line numbers, so rejections name
  ``file:line`` as they do locally;
- per-record work: quality scoring and MinHash signing run over blocks of rows, a task a block
  and a window of blocks in flight, calling the batch functions the local engine calls
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
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from typing import Any, Final

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
from curate.stages.dedup import minhash
from curate.stages.dedup import near as near_dedup
from curate.stages.leakage import stage as leakage
from curate.stages.quality import stage as quality

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
            bands, _ = minhash.choose_bands(dedup.num_perm, dedup.threshold)
            search = ray_shuffle.RaySearch(blocks, dedup.threshold, dedup.num_perm, bands, _store_bytes())
            frame = near_dedup.run(frame, ctx, search)
            blocks.release()  # the signatures leave the object store
        elif name == leakage.NAME:
            frame = leakage.run(frame, ctx, partial(_match_blocks, settings=settings))
        else:
            frame = stage(frame, ctx)
        timings[name] = time.perf_counter() - started
    LAST_TRANSFER.update({f"shuffle_{k}": v for k, v in ray_shuffle.SHUFFLED.items()})
    return BuildResult(finalize(frame), inputs, timings, ctx.findings)


def _read(ctx: BuildContext, settings: RaySection) -> tuple[pl.DataFrame, list[InputSummary]]:
    """Every shard read by its own task, a window of them in flight; rows come back in input
    order, and each shard's object leaves the store as soon as its rows are taken."""
    import ray  # heavy: only a Ray build loads it

    LAST_TRANSFER.clear()
    ray_shuffle.SHUFFLED.clear()
    plan = shards.plan(input_specs(ctx), settings.shard_mb << 20)
    read = ray.remote(num_cpus=settings.cpus_per_task, max_retries=TASK_RETRIES)(_read_task)
    limit = ctx.config.validate.max_line_bytes
    todo = iter(plan.shards)
    pending: deque[tuple[shards.Shard, Any]] = deque()

    def submit() -> None:
        shard = next(todo, None)
        if shard is not None:
            pending.append((shard, read.remote(shard, limit, os.getcwd())))

    parts: list[pl.DataFrame] = []
    with ctx.task("reading and validating records") as task:
        for _ in range(_window(settings)):
            submit()
        while pending:
            shard, ref = pending.popleft()
            rows = ray.get(ref)
            del ref
            submit()
            summary = plan.summaries[shard.index]
            summary.records += rows.frame.height
            summary.blank_lines += rows.blank_lines
            for fmt, n in rows.frame["format"].drop_nulls().value_counts().iter_rows():
                summary.formats[fmt] = summary.formats.get(fmt, 0) + n
            parts.append(rows.frame)
            LAST_TRANSFER["read"] = LAST_TRANSFER.get("read", 0) + int(rows.frame.estimated_size())
            ctx.progress.advance(task, rows.frame.height)
            del rows
    for summary in plan.summaries:
        summary.formats = dict(sorted(summary.formats.items()))
    # One chunk per shard, not one copy of them all: a second frame at the peak for nothing.
    frame = pl.concat(parts, how="vertical", rechunk=False)
    del parts
    return frame, plan.summaries


def _store_bytes() -> float:
    import ray  # heavy: only a Ray build loads it

    return float(ray.cluster_resources().get("object_store_memory", 2e9))  # type: ignore[no-untyped-call]


def _window(settings: RaySection) -> int:
    """Tasks in flight at once: two for each task slot of the cluster."""
    import ray  # heavy: only a Ray build loads it

    cpus = ray.cluster_resources().get("CPU", 1)  # type: ignore[no-untyped-call]
    return max(2, 2 * int(cpus / settings.cpus_per_task))


def _read_task(shard: shards.Shard, max_line_bytes: int, cwd: str) -> shards.ShardRows:
    os.chdir(cwd)  # inputs named relative to the driver's folder (shared storage on a cluster)
    return shards.read_shard(shard, max_line_bytes)


def _per_record(
    frame: pl.DataFrame, ctx: BuildContext, settings: RaySection
) -> tuple[pl.DataFrame, ray_shuffle.KeyBlocks]:
    """Quality scoring and MinHash signing of every block by a task; the frame takes the quality
    columns back, and each block's keys and signatures stay in the object store for dedup's
    shuffles (``ray_shuffle.KeyBlocks``).

    A window of blocks is in flight at a time, taken back in row order and let go of at once:
    the object store holds a few blocks, not the data, so neither the driver (which maps the
    pages it writes and reads) nor a worker grows with the input. Ray Data's ``map_batches``
    ran this pass before; handing every block to it at once, and taking every result back at
    the end, kept the whole input and every result in the store together."""
    import ray  # heavy: only a Ray build loads it

    config = ctx.config
    score = config.quality.enabled
    sign = config.dedup.near or config.dedup.conflicting_answers
    kept = ray_shuffle.KeyBlocks(cpus=settings.cpus_per_task)
    if frame.height == 0:
        return frame, kept
    # Retried here, not by Ray: a task Ray may run again keeps its input pinned in the object
    # store for as long as its outputs live (lineage), and the key blocks live until near dedup.
    task = ray.remote(num_cpus=settings.cpus_per_task, num_returns=2, max_retries=0)(_block_task)
    arguments = (
        config.quality if score else None,
        config.dedup if sign else None,
        os.getcwd(),
        os.environ.get(FAIL_ONCE_ENV),
    )
    sent = [c for c in BLOCK_COLUMNS if c in frame.columns]
    window = _window(settings)
    starts = iter(range(0, frame.height, settings.block_rows))
    pending: deque[tuple[int, Any, Any]] = deque()

    def launch(start: int) -> Any:
        rows = frame.slice(start, settings.block_rows).select(sent).with_row_index("_row", offset=start)
        LAST_TRANSFER["to_blocks"] = LAST_TRANSFER.get("to_blocks", 0) + int(rows.estimated_size())
        return task.remote(rows, *arguments)  # two refs: ray's stubs type one

    def submit() -> None:
        start = next(starts, None)
        if start is not None:
            pending.append((start, *launch(start)))

    def taken(start: int, columns_ref: Any, keys_ref: Any) -> tuple[pl.DataFrame, Any]:
        """The block's columns, and its key block's ref; the block run again when its worker
        or node was lost, up to TASK_RETRIES times."""
        for attempt in range(TASK_RETRIES + 1):
            try:
                return ray.get(columns_ref), keys_ref
            except _lost() as error:
                if attempt == TASK_RETRIES:
                    raise RayEngineError(f"a block task failed {attempt + 1} times: {error}") from None
                columns_ref, keys_ref = launch(start)
        raise AssertionError("unreachable")

    partials: list[Any] = []
    parts: list[pl.DataFrame] = []
    with ctx.task("scoring and signing blocks", frame.height) as progress:
        for _ in range(window):
            submit()
        while pending:
            start, columns_ref, keys_ref = pending.popleft()
            part, keys_ref = taken(start, columns_ref, keys_ref)
            del columns_ref  # the block's columns leave the store now
            submit()
            LAST_TRANSFER["from_blocks"] = LAST_TRANSFER.get("from_blocks", 0) + int(part.estimated_size())
            kept.starts.append(start)
            kept.sizes.append(part.height)
            kept.refs.append(keys_ref)
            if score:
                partials.append(orjson.loads(part[_FINDINGS][0]))
                part = part.drop(_FINDINGS)
            parts.append(part)
            ctx.progress.advance(progress, part.height)
    done = pl.concat(parts, how="vertical", rechunk=False)
    del parts
    if done.height != frame.height or not (done["_row"].to_numpy() == np.arange(frame.height)).all():
        raise AssertionError("the blocks did not come back with every row once, in order")
    if score:
        written = [c for c in done.columns if c != "_row"]
        frame = frame.with_columns(done.select(written).get_columns())
        ctx.findings[quality.NAME] = quality.findings(partials, frame["quality_score"], config.quality)
    return frame, kept


def _lost() -> tuple[type[Exception], ...]:
    from ray import exceptions  # heavy: only a Ray build loads it

    lost = (exceptions.WorkerCrashedError, exceptions.NodeDiedError, exceptions.ObjectLostError)
    return (*lost, exceptions.OutOfMemoryError)  # killed by Ray's memory monitor: run again


def _block_task(
    rows: pl.DataFrame,
    quality_config: Any,
    dedup_config: Any,
    cwd: str,
    fail_once: str | None,
) -> tuple[pl.DataFrame, dict[str, np.ndarray]]:
    """One block: the quality stage's columns and the batch's findings (as JSON on its first
    row), for the frame; and the ``ray_shuffle`` key block (the rows' dedup keys, keep-order
    fields, MinHash signatures and band keys), for the object store."""
    os.chdir(cwd)
    if fail_once:
        _fail_once(fail_once)
    columns: list[pl.Series] = [rows["_row"]]
    keys: dict[str, np.ndarray] = {
        ray_shuffle.DEDUP_KEY: rows["dedup_key"].fill_null(0).to_numpy(),
        ray_shuffle.PRIORITY: rows.select(exact_dedup.priority(pl.col("origin"))).to_series().to_numpy(),
    }
    if quality_config is not None:
        written, partial = quality.score_batch(rows.drop("_row"), quality_config)
        columns.extend(written.get_columns())
        note = [orjson.dumps(partial).decode()] + [None] * (rows.height - 1)
        columns.append(pl.Series(_FINDINGS, note, dtype=pl.Utf8))
        # Nulls as exact.kept_in_groups reads them (0.0): as NaN they would sort after every score.
        keys[ray_shuffle.SCORE] = written["quality_score"].cast(pl.Float64).fill_null(0.0).to_numpy()
    if dedup_config is not None:
        signed = near_dedup.sign_batch(rows, dedup_config)
        keys[ray_shuffle.SMALL] = signed["_mh_small"].to_numpy()
        keys[ray_shuffle.BAND_KEYS] = signed["_mh_keys"].to_numpy()
        keys[ray_shuffle.VALID] = signed["_mh_valid"].to_numpy()
        keys[ray_shuffle.PROMPT] = signed["_mh_prompt"].to_numpy()
    return pl.DataFrame(columns), keys


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
