"""curate check: placeholder until the gates issue lands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from curate.commands import help_formatter
from curate.errors import CurateError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("check", help="run quality gates on a build (not built yet)",
                                   epilog="Example usage:\n  curate check build/samples", formatter_class=help_formatter())
    parser.add_argument("build", type=Path)
    parser.set_defaults(run=run)


def run_gates(build: Path, config_path: Path | None) -> int:
    raise CurateError("curate check is not implemented yet")


def run(args: argparse.Namespace) -> int:
    return run_gates(args.build, None)
