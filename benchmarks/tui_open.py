"""Open time and memory of `curate review` on 100,000 records, against the stock DataTable.

Baseline: Textual's DataTable holding every row (what a first version would do): the list's
columns are computed for all rows with polars, then ``add_rows`` and the first paint.
Ours: make_app over examples.parquet (the virtual list reads only the small columns, the text
loads in a thread). Each variant runs in a fresh process, so peak RSS is its own.

The parquet is a real build: `curate build` over ../shared/data/alpaca.jsonl (52,002 rows),
its rows repeated with new ids up to 100,000. Usage:

    .venv/bin/python benchmarks/tui_open.py [--rows 100000] [--keep DIR]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALPACA = ROOT.parent / "shared" / "data" / "alpaca.jsonl"
SIZE = (160, 48)


def make_parquet(folder: Path, rows: int) -> Path:
    import polars as pl

    build = folder / "alpaca"
    if not (build / "examples.parquet").exists():
        subprocess.run(
            [str(ROOT / ".venv" / "bin" / "curate"), "build", "--input", str(ALPACA), "--out", str(build)],
            check=True,
            capture_output=True,
        )
    frame = pl.read_parquet(build / "examples.parquet")
    copies = [
        frame.with_columns(id=pl.col("id") + f"-{n}") if n else frame for n in range(rows // frame.height + 1)
    ]
    target = folder / f"rows{rows}"
    target.mkdir(exist_ok=True)
    pl.concat(copies).head(rows).write_parquet(
        target / "examples.parquet", compression="zstd", statistics=True
    )
    return target


def first_paint(widget_class: type) -> list[float]:
    """Record when ``widget_class`` first draws a line: the moment rows are on screen."""
    seen: list[float] = []
    original = widget_class.render_line

    def render_line(self, y):  # type: ignore[no-untyped-def]
        if not seen:
            seen.append(time.perf_counter())
        return original(self, y)

    widget_class.render_line = render_line
    return seen


async def held_keys(app, pilot, key: str, count: int = 200) -> float:  # type: ignore[no-untyped-def]
    """A held key: ``count`` key events queued at once (as key repeat does), then wait until idle."""
    from textual import events

    started = time.perf_counter()
    for _ in range(count):
        app.post_message(events.Key(key, None))
    await pilot.pause()
    return (time.perf_counter() - started) / count


async def ours(build: Path, db: Path) -> dict[str, float]:
    from tui.app import make_app
    from tui.widgets.example_list import ExampleList

    painted_at = first_paint(ExampleList)
    started = time.perf_counter()
    app = make_app(build, db, "bench")
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        painted = painted_at[0] - started
        await app.workers.wait_for_complete()
        await pilot.pause()
        loaded = time.perf_counter() - started
        assert app.model.rows(0, 1)[0].preview is not None
        moves = time.perf_counter()
        for _ in range(100):
            await pilot.press("j")
        for _ in range(20):
            await pilot.press("pagedown")
        await pilot.pause()
        per_key = (time.perf_counter() - moves) / 120
        held = await held_keys(app, pilot, "j")
        search = time.perf_counter()
        app.apply_filter(app.model.with_filter(search="photosynthesis"))
        await pilot.pause()
        searched = time.perf_counter() - search
    return {
        "open_s": painted,
        "text_loaded_s": loaded,
        "per_key_s": per_key,
        "held_key_s": held,
        "search_s": searched,
    }


async def stock(build: Path) -> dict[str, float]:
    import polars as pl
    from textual.app import App, ComposeResult
    from textual.widgets import DataTable

    from curate.core.frame import MESSAGES_DTYPE

    painted_at = first_paint(DataTable)
    started = time.perf_counter()
    frame = pl.read_parquet(build / "examples.parquet")
    first_user = (
        pl.col("example")
        .str.json_decode(MESSAGES_DTYPE)
        .struct.field("messages")
        .list.eval(pl.element().filter(pl.element().struct.field("role") == "user").struct.field("content"))
        .list.first()
        .str.slice(0, 120)
    )
    table_rows = frame.select(
        "status",
        pl.col("reasons").list.eval(pl.element().struct.field("code")).list.join(","),
        pl.col("tokens").cast(pl.Utf8).fill_null(""),
        pl.col("cluster_id").cast(pl.Utf8).fill_null(""),
        first_user.fill_null(""),
    ).rows()
    prepared = time.perf_counter() - started

    class Stock(App[None]):
        def compose(self) -> ComposeResult:
            yield DataTable()

        def on_mount(self) -> None:
            table = self.query_one(DataTable)
            table.add_columns("status", "reasons", "tokens", "group", "first user turn")
            table.add_rows(table_rows)

    app = Stock()
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        painted = painted_at[0] - started
        moves = time.perf_counter()
        for _ in range(100):
            await pilot.press("down")
        for _ in range(20):
            await pilot.press("pagedown")
        await pilot.pause()
        per_key = (time.perf_counter() - moves) / 120
        held = await held_keys(app, pilot, "down")
    return {"open_s": painted, "data_prep_s": prepared, "per_key_s": per_key, "held_key_s": held}


def run_variant(variant: str, build: Path, db: Path) -> dict[str, float]:
    result = asyncio.run(ours(build, db) if variant == "ours" else stock(build))
    result["peak_rss_mib"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--keep", type=Path, help="folder for the parquet (reused between runs)")
    parser.add_argument("--variant", choices=("ours", "stock"), help=argparse.SUPPRESS)
    parser.add_argument("--build", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.variant:
        with tempfile.TemporaryDirectory() as scratch:
            print(json.dumps(run_variant(args.variant, args.build, Path(scratch) / "r.sqlite")))
        return
    if not ALPACA.exists():
        sys.exit(f"skipped: {ALPACA} is absent (the shared real datasets are not on this machine)")
    folder = args.keep or Path(tempfile.mkdtemp(prefix="tui-open-"))
    folder.mkdir(parents=True, exist_ok=True)
    build = make_parquet(folder, args.rows)
    results = {}
    for variant in ("stock", "ours"):
        out = subprocess.run(
            [sys.executable, __file__, "--variant", variant, "--build", str(build)],
            check=True,
            capture_output=True,
            text=True,
            cwd=ROOT,
        )
        results[variant] = json.loads(out.stdout.strip().splitlines()[-1])
    base, mine = results["stock"], results["ours"]
    print(f"{args.rows:,} records ({build / 'examples.parquet'})")
    print(f"{'':28}{'stock DataTable':>18}{'curate review':>16}{'ratio':>9}")
    rows = [
        ("open to first paint (s)", "open_s", "open_s"),
        ("per key, one at a time (s)", "per_key_s", "per_key_s"),
        ("per key, held down (s)", "held_key_s", "held_key_s"),
        ("peak RSS (MiB)", "peak_rss_mib", "peak_rss_mib"),
    ]
    for label, b, m in rows:
        print(f"{label:28}{base[b]:>18.3f}{mine[m]:>16.3f}{base[b] / mine[m]:>8.1f}x")
    print(f"stock: data prep alone {base['data_prep_s']:.3f} s (polars), the rest is DataTable")
    print(
        f"ours: text loaded in the background by {mine['text_loaded_s']:.3f} s; search over all text "
        f"{mine['search_s']:.3f} s"
    )


if __name__ == "__main__":
    main()
