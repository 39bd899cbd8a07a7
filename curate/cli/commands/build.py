"""curate build: run the pipeline and write the build folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from curate.cli.commands import help_formatter
from curate.core.config import CurateConfig, load_config
from curate.core.errors import ConfigError

if TYPE_CHECKING:
    from curate.engines.local import BuildResult

# The pipeline, polars-heavy stages and rich are imported when a build runs, not when the CLI
# starts: every other command (review, check, stats) would pay for them otherwise.

EXAMPLES = """Example usage:
  curate build                                  # ./curate.toml
  curate build samples/curate.toml --semantic
  curate build --input chats.jsonl --eval held_out.jsonl --out build/mine
  curate build --input sharegpt.json --benchmark hf:openai/gsm8k:test --general general.jsonl
  curate build samples/curate.toml --engine ray                      # a Ray instance on this machine
  curate build samples/curate.toml --engine ray --ray-address auto   # the cluster `ray start` made
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "build",
        help="validate, dedup, score and split the inputs into a build folder",
        description="Run the pipeline; write train, eval, rejected, examples.parquet, manifest, report.",
        epilog=EXAMPLES,
        formatter_class=help_formatter(),
    )
    parser.add_argument(
        "config", nargs="?", type=Path, help="curate.toml (default: ./curate.toml when present)"
    )
    parser.add_argument(
        "--input", action="append", metavar="PATH", help="domain data (repeatable; replaces the config's)"
    )
    parser.add_argument("--eval", action="append", metavar="PATH", help="held-out eval file (repeatable)")
    parser.add_argument(
        "--benchmark", action="append", metavar="PATH", help="protected benchmark (repeatable)"
    )
    parser.add_argument(
        "--general", action="append", metavar="PATH", help="general data to mix in (repeatable)"
    )
    parser.add_argument(
        "--out", type=Path, metavar="DIR", help="build folder (default: <build.out>/<build.name>)"
    )
    parser.add_argument(
        "--engine", choices=("local", "ray"), help="run on this process or on Ray (default: [build] engine)"
    )
    parser.add_argument(
        "--ray-address",
        metavar="ADDR",
        help="Ray cluster to join: auto or HOST:PORT (default: [ray] address; empty starts one here)",
    )
    parser.add_argument("--semantic", action="store_true", help="turn on every embedding stage")
    parser.add_argument("--check", action="store_true", help="run the quality gates right after the build")
    parser.set_defaults(run=run)


def resolve_config(args: argparse.Namespace) -> CurateConfig:
    path: Path | None = args.config
    if path is None and Path("curate.toml").is_file():
        path = Path("curate.toml")
    if path is not None and path.is_dir():
        path = path / "curate.toml"
    flags = {
        "inputs": args.input,
        "eval": args.eval,
        "benchmarks": args.benchmark,
        "general": args.general,
    }
    overrides: dict[str, dict[str, Any]] = {
        "build": {
            key: [str(Path(p).resolve()) if not p.startswith("hf:") else p for p in value]
            for key, value in flags.items()
            if value
        }
    }
    if getattr(args, "engine", None):
        overrides["build"]["engine"] = args.engine
    if getattr(args, "ray_address", None):
        overrides["ray"] = {"address": args.ray_address}
    config = load_config(path, overrides)
    if not config.build.inputs:
        raise ConfigError(
            ["no inputs: give --input PATH or [build] inputs in curate.toml"], str(path) if path else None
        )
    return config


def build_folder(config: CurateConfig, out_flag: Path | None) -> Path:
    if out_flag is not None:
        return out_flag
    return Path(config.resolve(config.build.out)) / config.build.name


def run(args: argparse.Namespace) -> int:
    from curate.cli.memory import tune_allocators

    tune_allocators()  # before anything loads polars
    from curate.cli.console import RichProgress, print_problems
    from curate.core.context import BuildContext
    from curate.engines.local import run_build

    config = resolve_config(args)
    if config.build.engine == "ray":
        from curate.engines.ray import run_build
    target = build_folder(config, args.out)
    started = time.perf_counter()
    with RichProgress() as progress:
        ctx = BuildContext(config=config, progress=progress, semantic=args.semantic)
        result = run_build(ctx)
        write_started = time.perf_counter()
        manifest = write(result, config, target, write_started)
    print_problems(result.frame)
    print_summary(manifest, target, time.perf_counter() - started)
    if args.check:
        from curate.cli.commands import check

        return check.run_gates(target, config_path=None)
    return 0


def write(result: BuildResult, config: CurateConfig, target: Path, write_started: float) -> dict[str, Any]:
    from curate.output import writers
    from curate.output.manifest import build_manifest

    with writers.atomic_folder(target) as folder:
        files = writers.write_build(result.frame, folder)
        result.timings["write"] = time.perf_counter() - write_started
        manifest = build_manifest(result.frame, result.inputs, config, result.timings, result.findings, files)
        (folder / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        _write_reports(folder, manifest, result)
    return manifest


def _write_reports(folder: Path, manifest: dict[str, Any], result: BuildResult) -> None:
    from curate.report import write as report

    report.write_reports(folder, manifest, result.frame)


def print_summary(manifest: dict[str, Any], target: Path, seconds: float) -> None:
    from rich.table import Table

    from curate.cli.console import out

    counts = manifest["counts"]
    status = counts["by_status"]
    table = Table(title=f"build → {target}", show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("records", justify="right")
    table.add_row("records in", f"{counts['records']:,}")
    for name in ("train", "eval", "general_eval", "protected"):
        if status.get(name):
            table.add_row(name, f"{status[name]:,}")
    table.add_row("rejected", f"{status.get('rejected', 0):,}")
    for code, n in sorted(counts["by_first_reason"].items(), key=lambda item: -item[1]):
        table.add_row(f"  {code}", f"{n:,}")
    table.add_row("time", f"{seconds:.1f} s")
    out.print(table)
