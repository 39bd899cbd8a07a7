"""The `curate` command: a thin layer over the library. Every subcommand lives in
curate/cli/commands/<name>.py with ``add_parser`` and ``run``; errors are printed here, once."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from curate.cli.memory import tune_allocators
from curate.core.threads import passive_openmp_wait

# Polars reads its allocator settings, and OpenMP its wait policy, when they load, so both are set
# before any command imports them.
tune_allocators()
passive_openmp_wait()

from curate.cli.commands import build, check, review, stats, validate
from curate.core.errors import CurateError
from curate.core.version import __version__

COMMANDS = (build, validate, check, review, stats)


def make_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="curate",
        description="Curate chat fine-tuning data: validate, dedup, score, decontaminate, mix, review.",
        epilog="Example usage:\n  curate build samples/curate.toml\n  curate check build/samples",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"chatcurate {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for command in COMMANDS:
        command.add_parser(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = make_parser()
    args = parser.parse_args(argv)
    try:
        code = int(args.run(args))
    except CurateError as error:
        print(f"curate: error: {error}", file=sys.stderr)
        code = error.exit_code
    except KeyboardInterrupt:
        print("curate: interrupted", file=sys.stderr)
        code = 130
    except Exception as error:
        if os.environ.get("CURATE_DEBUG"):
            raise
        print(
            f"curate: internal error: {type(error).__name__}: {error} "
            "(rerun with CURATE_DEBUG=1 for a traceback)",
            file=sys.stderr,
        )
        code = 3
    return code


if __name__ == "__main__":
    sys.exit(main())
