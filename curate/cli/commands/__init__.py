"""One module per `curate` subcommand: ``add_parser(subparsers)`` and ``run(args) -> exit code``."""

import argparse
from pathlib import Path


def help_formatter() -> type[argparse.HelpFormatter]:
    return argparse.RawDescriptionHelpFormatter


def config_file(given: Path | None) -> Path | None:
    """The curate.toml a command reads: the one given (a folder means its curate.toml), else
    ./curate.toml when there is one, else None (defaults and flags only)."""
    if given is None:
        return Path("curate.toml") if Path("curate.toml").is_file() else None
    return given / "curate.toml" if given.is_dir() else given
