"""The local executor: the recipe's stages over one polars frame in this process."""

from __future__ import annotations

import time

from curate.core.context import BuildContext
from curate.engines.recipe import STAGES, BuildResult, finalize, input_specs
from curate.ingest.inputs import ingest


def run_build(ctx: BuildContext) -> BuildResult:
    timings: dict[str, float] = {}
    started = time.perf_counter()
    specs = input_specs(ctx)
    with ctx.task("reading and validating records") as task:
        seen: dict[str, int] = {}

        def on_progress(path: str, records: int) -> None:
            ctx.progress.advance(task, records - seen.get(path, 0))
            seen[path] = records

        frame, inputs = ingest(specs, ctx.config.validate.max_line_bytes, on_progress)
    timings["ingest"] = time.perf_counter() - started
    for name, stage in STAGES:
        started = time.perf_counter()
        frame = stage(frame, ctx)
        timings[name] = time.perf_counter() - started
    frame = finalize(frame)
    return BuildResult(frame, inputs, timings, ctx.findings)
