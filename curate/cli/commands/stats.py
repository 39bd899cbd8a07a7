"""curate stats: print a build's counts from its manifest."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

import orjson

from curate.cli.commands import help_formatter
from curate.core.errors import InputError


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


def read_manifest(build: Path) -> dict[str, Any]:
    path = build / "manifest.json"
    if not path.is_file():
        raise InputError("is not a build folder (no manifest.json)", str(build), "run curate build first")
    try:
        manifest: dict[str, Any] = orjson.loads(path.read_bytes())
    except orjson.JSONDecodeError as error:
        raise InputError(f"manifest.json is not valid JSON ({error})", str(path)) from None
    return manifest


def run(args: argparse.Namespace) -> int:
    from curate.cli.commands.build import print_summary

    manifest = read_manifest(args.build)
    if args.json:
        print(orjson.dumps(manifest["counts"], option=orjson.OPT_INDENT_2).decode())
    else:
        print_summary(manifest, args.build, sum(manifest.get("timings", {}).values()))
    return 0
