"""curate review: open a build in the review app, or export the decisions made so far."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from curate.cli.commands import config_file, help_formatter
from curate.core.config import load_config
from curate.core.errors import CurateError
from curate.review.store import DEFAULT_DB, ReviewStore, export_decisions

EXAMPLES = """Example usage:
  curate review build/samples                       # decisions go to ./reviews.sqlite
  curate review build/samples --config samples/curate.toml   # its review.db, as the build reads it
  curate review build/samples --reviewer ana --db ../reviews.sqlite
  curate review build/samples --export decisions.jsonl

Keys: j/k move, a accept, r reject, e edit, n note, u undo, space mark, A/R bulk, / search,
f filter, s sort, d duplicate group, c leakage match, ? help, q quit, ctrl+p command palette.
Decisions are saved the moment they are made; the next `curate build` applies them
(review.db in curate.toml, relative to its folder: the same ./reviews.sqlite when both
commands run from the project folder).
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "review",
        help="review a build in a terminal app; decisions apply on the next build",
        description="Browse, filter and decide on a build's examples (examples.parquet).",
        epilog=EXAMPLES,
        formatter_class=help_formatter(),
    )
    parser.add_argument("build", type=Path, help="build folder (or its examples.parquet)")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="TOML",
        help="curate.toml whose [review] db and reviewer to use (default: ./curate.toml when present)",
    )
    parser.add_argument(
        "--db",
        type=Path,
        metavar="PATH",
        help="decision store (default: the config's review.db, else ./reviews.sqlite)",
    )
    parser.add_argument(
        "--reviewer",
        metavar="NAME",
        help="name recorded with each decision (default: $CURATE_REVIEWER, else the login name)",
    )
    parser.add_argument(
        "--export", type=Path, metavar="JSONL", help="write the decisions in force as JSONL and exit (no app)"
    )
    parser.add_argument("--log", action="store_true", help="with --export: the whole append-only log instead")
    parser.set_defaults(run=run)


def store_and_reviewer(args: argparse.Namespace) -> tuple[Path, str | None]:
    """The store the next build will read, and the configured reviewer name.

    With a curate.toml (--config, or ./curate.toml), review.db resolves against the config's folder
    exactly as `curate build` resolves it; without one, ./reviews.sqlite, which a build run from
    this folder also reads by default.
    """
    path = config_file(args.config)
    if path is None:
        return (args.db or Path(DEFAULT_DB)), args.reviewer
    config = load_config(path)
    db = args.db or Path(config.resolve(config.review.db))
    return db, args.reviewer or config.review.reviewer or None


def run(args: argparse.Namespace) -> int:
    db, reviewer = store_and_reviewer(args)
    if args.export is not None:
        if not db.is_file():
            raise CurateError("no review store here", str(db), "pass --db PATH")
        with ReviewStore(db, readonly=True) as store:
            count = export_decisions(store, args.export, full_log=args.log)
        print(f"wrote {count:,} {'log rows' if args.log else 'decisions'} to {args.export}")
        return 0
    build: Path = args.build
    if not build.exists():
        raise CurateError("no such build folder", str(build), "run curate build first")
    from curate.engines.edit_checks import edit_checks
    from tui.app import make_app  # textual is heavy: loaded only when the app opens

    # The app may not import the stages: the checks an edit must pass come from here.
    app = make_app(build, db, reviewer, edit_checks=edit_checks(build))
    app.run()
    return 0
