"""Terminal output shared by the commands: a rich progress sink, the problem listing, the build summary."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

console = Console(stderr=True, highlight=False)
out = Console(highlight=False)


class RichProgress:
    """Progress bars on stderr; silent when stderr is not a terminal (CI logs stay clean)."""

    def __init__(self) -> None:
        self._progress = Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
            disable=not console.is_terminal,
        )

    def __enter__(self) -> RichProgress:
        self._progress.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._progress.stop()

    def start(self, description: str, total: int | None = None) -> int:
        return int(self._progress.add_task(description, total=total))

    def advance(self, task: int, amount: int = 1) -> None:
        self._progress.advance(task, amount)  # type: ignore[arg-type]

    def finish(self, task: int) -> None:
        self._progress.remove_task(task)  # type: ignore[arg-type]


def print_problems(frame: pl.DataFrame, limit: int = 20) -> None:
    """List rejected records that failed validation as file:line  code  message."""
    bad = frame.filter(
        (pl.col("status") == "rejected")
        & pl.col("reasons").list.first().struct.field("stage").is_in(["validate"])
    )
    if bad.height == 0:
        return
    console.print(f"[bold]{bad.height} invalid record(s):[/bold]")
    for row in bad.head(limit).iter_rows(named=True):
        first = row["reasons"][0]
        console.print(
            f"  {row['source']}:{row['line']}  [yellow]{first['code']}[/yellow]  {first['message']}",
            markup=True,
            soft_wrap=True,
        )
    if bad.height > limit:
        console.print(f"  ... and {bad.height - limit} more (see rejected.jsonl)")


def print_summary(manifest: dict[str, Any], target: Path, seconds: float) -> None:
    """The build's counts as a table: records in, each output, and the rejections by first reason."""
    counts = manifest["counts"]
    status = counts["by_status"]
    table = Table(title=f"build → {target}", show_header=True, header_style="bold")
    table.add_column("")
    table.add_column("records", justify="right")
    table.add_row("records in", f"{counts['records']:,}")
    for name in ("train", "eval", "general_eval", "protected"):
        if status.get(name):
            table.add_row(name, f"{status[name]:,}")
    # General rows the mix did not need are not rejections: they are counted on their own.
    not_sampled = counts["by_first_reason"].get("mix.not-sampled", 0)
    table.add_row("rejected", f"{status.get('rejected', 0) - not_sampled:,}")
    for code, n in sorted(counts["by_first_reason"].items(), key=lambda item: -item[1]):
        if code != "mix.not-sampled":
            table.add_row(f"  {code}", f"{n:,}")
    if not_sampled:
        table.add_row("not sampled (general, not needed by the mix)", f"{not_sampled:,}")
    review = manifest.get("findings", {}).get("review", {})
    not_applied = (review.get("counts") or {}).get("not_applied", 0)
    if not_applied:
        table.add_row("review decisions not applied", f"{not_applied:,}")
    table.add_row("time", f"{seconds:.1f} s")
    out.print(table)
