"""Builds the Ray tests compare: the samples, and a 5,000-row Alpaca slice with planted
duplicates, near-duplicates, leaks and bad lines, read in several shards and blocks."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import orjson
from polars.testing import assert_frame_equal

from curate.core.config import CurateConfig, load_config
from curate.core.context import BuildContext
from curate.engines.recipe import BuildResult
from tests.conftest import SAMPLES
from tests.dedup.dedup_plants import plant

# Small blocks and shards, so that a build of a few thousand rows crosses their boundaries.
SMALL_PIECES = {"block_rows": 700, "shard_mb": 1}
SLICE_ROWS = 5_000


def samples_config() -> CurateConfig:
    return load_config(SAMPLES / "curate.toml", {"ray": {"block_rows": 100}})


def write_alpaca_slice(alpaca: Path, folder: Path) -> CurateConfig:
    """Inputs: 3,800 Alpaca rows, 760 planted variants of them (near and exact copies), 200
    exact copies, 237 rows that contain a benchmark item, and 3 bad lines; eval is split off."""
    rows: list[dict[str, Any]] = []
    with alpaca.open("rb") as handle:
        for line in handle:
            record = orjson.loads(line)
            if all(m["content"].strip() for m in record["messages"]):
                rows.append({"messages": record["messages"]})
            if len(rows) >= 6_000:
                break
    rng = random.Random(17)
    planted = plant(rows[:3_800], 0.2, seed=17).records
    copies = [planted[rng.randrange(len(planted))] for _ in range(200)]
    protected = rows[5_000:5_237]
    leaks = [{"messages": item["messages"]} for item in protected]
    records = planted + copies + leaks
    rng.shuffle(records)
    lines = [orjson.dumps(r) for r in records]
    for at, bad in ((100, b'{"messages": [}'), (2_500, b"[1, 2]"), (4_000, b'{"messages": []}')):
        lines.insert(at, bad)
    assert len(lines) == SLICE_ROWS
    (folder / "alpaca_slice.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    (folder / "benchmark.jsonl").write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in protected))
    (folder / "curate.toml").write_text(
        '[build]\ninputs = ["alpaca_slice.jsonl"]\nbenchmarks = ["benchmark.jsonl"]\n'
        "[ray]\nblock_rows = 700\nshard_mb = 1\n",
        encoding="utf-8",
    )
    return load_config(folder / "curate.toml")


def build(config: CurateConfig, engine: str) -> BuildResult:
    if engine == "ray":
        from curate.engines.ray import run_build
    else:
        from curate.engines.local import run_build
    return run_build(BuildContext(config=config))


def assert_same_build(ray_built: BuildResult, local_built: BuildResult) -> None:
    """Every row the same, in the same order, every column (status, reasons, cluster_id,
    split, scores, flags...); the same input accounting and stage findings."""
    assert_frame_equal(ray_built.frame, local_built.frame)
    assert [s.as_dict() for s in ray_built.inputs] == [s.as_dict() for s in local_built.inputs]
    assert ray_built.findings == local_built.findings
    assert set(ray_built.timings) == set(local_built.timings)
