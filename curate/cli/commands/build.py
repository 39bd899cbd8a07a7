"""curate build: run the pipeline and write the build folder."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from curate import api
from curate.cli.commands import config_file, help_formatter
from curate.cli.commands.check import run_gates
from curate.cli.console import RichProgress, print_problems, print_summary
from curate.core.config import CurateConfig, load_config
from curate.core.errors import ConfigError

EXAMPLES = """Example usage:
  curate build                                  # ./curate.toml
  curate build samples/curate.toml --semantic
  curate build --input chats.jsonl --eval held_out.jsonl --out build/mine
  curate build --input sharegpt.json --benchmark hf:openai/gsm8k:test --general general.jsonl
  curate build samples/curate.toml --engine ray                      # a Ray instance on this machine
  curate build samples/curate.toml --engine ray --ray-address auto   # the cluster `ray start` made
  curate build samples/curate.toml --baseline build/samples   # how many eval records changed side
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
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="BUILD",
        help="a previous build: the manifest says how many of its eval records changed side, and why",
    )
    parser.set_defaults(run=run)


def resolve_config(args: argparse.Namespace) -> CurateConfig:
    path = config_file(args.config)
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


def run(args: argparse.Namespace) -> int:
    config = resolve_config(args)
    started = time.perf_counter()
    with RichProgress() as progress:
        outcome = api.build(
            config, out=args.out, semantic=args.semantic, progress=progress, baseline=args.baseline
        )
    print_problems(outcome.frame)
    print_summary(outcome.manifest, outcome.folder, time.perf_counter() - started)
    if args.check:
        return run_gates(outcome.folder, config_path=None)
    return 0
