"""curate review: placeholder until the review issue lands."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from curate.commands import help_formatter
from curate.errors import CurateError


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser("review", help="review a build in a terminal app (not built yet)",
                                   epilog="Example usage:\n  curate review build/samples", formatter_class=help_formatter())
    parser.add_argument("build", type=Path)
    parser.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    raise CurateError("curate review is not implemented yet")
