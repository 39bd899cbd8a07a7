"""The library API: what the `curate` command does, callable from Python.

    from curate import load_config, build, check

    config = load_config("samples/curate.toml")
    outcome = build(config)                 # runs the pipeline, writes the build folder atomically
                                            # ([build] engine = "ray": on a Ray cluster)
    report = check(outcome.folder)          # the quality gates, as `curate check` judges them
    print(report.status, outcome.manifest["counts"]["by_status"])

The CLI is a thin layer over these functions: it parses flags into a config, shows progress, and
prints what they return.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import polars as pl

from curate.core import config as config_file
from curate.core.config import CurateConfig
from curate.core.context import BuildContext, Progress, SilentProgress
from curate.engines.local import run_build
from curate.engines.recipe import BuildResult
from curate.gates.rules import GateReport, check_build
from curate.output import writers
from curate.output.baseline import split_since
from curate.output.build_folder import MANIFEST_FILE
from curate.output.manifest import build_manifest
from curate.report.write import write_reports

__all__ = ["BuildOutcome", "build", "build_folder", "check", "load_config", "write_build_folder"]


@dataclass
class BuildOutcome:
    """A finished build: where it went, its manifest, and the frame of every input record."""

    folder: Path
    manifest: dict[str, Any]
    frame: pl.DataFrame


def load_config(
    path: str | Path | None = None, overrides: dict[str, dict[str, Any]] | None = None
) -> CurateConfig:
    """curate.toml at ``path`` (defaults when None), with ``overrides`` per section on top."""
    return config_file.load_config(Path(path) if path is not None else None, overrides)


def build_folder(config: CurateConfig, out: str | Path | None = None) -> Path:
    """``out`` when given, else ``<[build] out>/<[build] name>`` relative to the config file."""
    if out is not None:
        return Path(out)
    return Path(config.resolve(config.build.out)) / config.build.name


def build(
    config: CurateConfig | str | Path,
    *,
    out: str | Path | None = None,
    semantic: bool = False,
    progress: Progress | None = None,
    baseline: str | Path | None = None,
) -> BuildOutcome:
    """Run every stage on the config's inputs and write the build folder (all or nothing).

    With ``baseline`` (a previous build folder), the manifest's ``split.baseline`` says how many of
    that build's eval records changed side in this one, and why."""
    if not isinstance(config, CurateConfig):
        config = load_config(Path(config))
    target = build_folder(config, out)
    ctx = BuildContext(config=config, progress=progress or SilentProgress(), semantic=semantic)
    result = execute(ctx)
    if baseline is not None:
        split = result.findings.setdefault("split", {})
        split["baseline"] = split_since(result.frame, split, Path(baseline))
    manifest = write_build_folder(result, config, target)
    return BuildOutcome(target, manifest, result.frame)


def execute(ctx: BuildContext) -> BuildResult:
    """The recipe run by the executor ``[build] engine`` names: this process, or Ray."""
    if ctx.config.build.engine == "ray":
        from curate.engines.ray import run_build as run_on_ray  # loads Ray: only for a Ray build

        return run_on_ray(ctx)
    return run_build(ctx)


def write_build_folder(result: BuildResult, config: CurateConfig, target: Path) -> dict[str, Any]:
    """Write every file of a build into a temporary folder, then rename it into place."""
    started = time.perf_counter()
    with writers.atomic_folder(target) as folder:
        files = writers.write_build(result.frame, folder)
        result.timings["write"] = time.perf_counter() - started
        manifest = build_manifest(result.frame, result.inputs, config, result.timings, result.findings, files)
        (folder / MANIFEST_FILE).write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        write_reports(folder, manifest, result.frame)
    return manifest


def check(
    build_dir: str | Path, config: str | Path | None = None, baseline: str | Path | None = None
) -> GateReport:
    """Hold a build to its gates (``config``'s ``[gates]``, else those it was built with)."""
    return check_build(
        Path(build_dir),
        Path(config) if config is not None else None,
        Path(baseline) if baseline is not None else None,
    )
