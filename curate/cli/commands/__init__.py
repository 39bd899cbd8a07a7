"""One module per `curate` subcommand: ``add_parser(subparsers)`` and ``run(args) -> exit code``."""

import argparse


def help_formatter() -> type[argparse.HelpFormatter]:
    return argparse.RawDescriptionHelpFormatter
