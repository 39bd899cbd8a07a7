"""Terminal output shared by the commands: a rich progress sink and the problem listing."""

from __future__ import annotations

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
