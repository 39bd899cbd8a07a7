"""curate check: hold a build to its quality gates; the exit code is the verdict CI acts on."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.table import Table

from curate import api
from curate.cli.commands import help_formatter
from curate.cli.console import out
from curate.core.errors import InputError
from curate.gates import outputs as gate_outputs
from curate.gates.outputs import value_text
from curate.gates.rules import GateReport

EXAMPLES = """Exit status: 0 every gate passed (warnings allowed), 1 a gate failed,
2 bad usage or an unreadable build.

Example usage:
  curate check build/samples
  curate check build/samples --config samples/curate.toml --junit out/gates.xml
  curate check build/new --baseline build/main --markdown out/gates.md --json out/gates.json
  curate check build/samples --junit gates.xml --markdown gates.md --json gates.json
  (CI: append gates.md to $GITHUB_STEP_SUMMARY in a step that runs always; see docs/ci.md)
"""


def add_parser(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "check",
        help="run the quality gates on a build (CI: exit 1 when a gate fails)",
        description="Measure a build (invalid, duplicate, leakage and low-quality rates; split sizes;\n"
        "token percentiles; general share) and hold it to the warn/fail levels in [gates] of curate.toml.",
        epilog=EXAMPLES,
        formatter_class=help_formatter(),
    )
    parser.add_argument("build", type=Path, help="build folder written by curate build")
    parser.add_argument(
        "--config",
        type=Path,
        metavar="CONFIG",
        help="take [gates] from this curate.toml (default: the gates the build was made with)",
    )
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write JUnit XML, one testcase per gate")
    parser.add_argument("--markdown", type=Path, metavar="FILE", help="write a Markdown summary")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write the gates and measures as JSON")
    parser.add_argument(
        "--baseline",
        type=Path,
        metavar="OTHER_BUILD",
        help="fail when a rate is worse than in this build by more than gates.baseline_margin",
    )
    parser.set_defaults(run=run)


def run_gates(
    build: Path,
    config_path: Path | None,
    *,
    junit: Path | None = None,
    markdown: Path | None = None,
    json_path: Path | None = None,
    baseline: Path | None = None,
) -> int:
    """Check ``build``, print the verdict, write the requested reports; return the exit code."""
    report = api.check(build, config_path, baseline)
    outputs: list[tuple[Path | None, bytes]] = [
        (junit, gate_outputs.to_junit(report).encode()),
        (markdown, gate_outputs.to_markdown(report).encode()),
        (json_path, gate_outputs.to_json(report)),
    ]
    written = []
    for path, data in outputs:
        if path is not None:
            _write(path, data)
            written.append(str(path))
    print_report(report)
    if written:
        out.print("wrote " + ", ".join(written), soft_wrap=True)
    return report.exit_code


def _write(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    except OSError as error:
        raise InputError(f"cannot write ({error.strerror or error})", str(path)) from None


def print_report(report: GateReport) -> None:
    colours = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}
    table = Table(title=f"curate check → {report.build}", header_style="bold")
    for name, justify in (
        ("gate", "left"),
        ("status", "left"),
        ("value", "right"),
        ("warn", "right"),
        ("fail", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for result in report.results:
        colour = colours[result.status]
        table.add_row(
            result.name,
            f"[{colour}]{result.status}[/{colour}]",
            value_text(result.value, result),
            value_text(result.warn, result),
            value_text(result.fail, result),
        )
    out.print(table)
    tally = report.tally()
    colour = colours[report.status]
    out.print(
        f"[{colour}]{report.status.upper()}[/{colour}]: {tally['pass']} passed, {tally['warn']} warned, "
        f"{tally['fail']} failed, {tally['skip']} not measured"
    )
    for result in report.results:
        if result.status in ("warn", "fail"):
            out.print(f"  {result.status} {result.name}: {result.message}", soft_wrap=True)


def run(args: argparse.Namespace) -> int:
    return run_gates(
        args.build,
        args.config,
        junit=args.junit,
        markdown=args.markdown,
        json_path=args.json,
        baseline=args.baseline,
    )
