"""curate stats: print a build's counts from its manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from curate.cli.commands import help_formatter
from curate.cli.console import print_summary
from curate.output.build_folder import read_manifest


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "stats",
        help="summarise a build folder",
        epilog="Example usage:\n  curate stats build/samples\n  curate stats build/samples --json",
        formatter_class=help_formatter(),
    )
    parser.add_argument("build", type=Path, help="build folder")
    parser.add_argument("--json", action="store_true", help="print the manifest's counts as JSON")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    manifest = read_manifest(args.build)
    if args.json:
        print(orjson.dumps(manifest["counts"], option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(manifest, args.build, sum(manifest.get("timings", {}).values()))
    return 0
