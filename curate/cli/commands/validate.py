"""curate validate: check input files without building; exit 1 when any record is invalid."""

from __future__ import annotations

import argparse
from typing import Any

import polars as pl

from curate.cli.commands import help_formatter
from curate.cli.console import out, print_problems
from curate.ingest.inputs import InputSpec, ingest


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "validate",
        help="check files against the schemas and semantic rules, without building",
        epilog="Example usage:\n  curate validate chats.jsonl more.json.gz\n"
        "  curate validate data.jsonl --format sharegpt",
        formatter_class=help_formatter(),
    )
    parser.add_argument("paths", nargs="+", metavar="PATH")
    parser.add_argument(
        "--format", choices=["chat", "sharegpt", "alpaca"], help="force a format (default: detect)"
    )
    parser.add_argument("--max-line-bytes", type=int, default=16_000_000)
    parser.add_argument("--limit", type=int, default=50, help="problems to list (default 50)")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    specs = [InputSpec(path, "input", args.format) for path in args.paths]
    frame, summaries = ingest(specs, args.max_line_bytes)
    print_problems(frame, args.limit)
    invalid = frame.filter(pl.col("status") == "rejected").height
    for summary in summaries:
        formats = ", ".join(f"{fmt} {n}" for fmt, n in summary.formats.items()) or "no valid records"
        out.print(f"{summary.path}: {summary.records:,} records ({formats})")
    out.print(f"{frame.height - invalid:,} valid, {invalid:,} invalid")
    return 1 if invalid else 0
