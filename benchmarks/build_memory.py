"""Where a big build's memory goes: RSS before, during and after each step of `curate build`.

Runs the build in this process (as `curate build --input FILE --out DIR` would) with a thread
sampling RSS every 10 ms, and prints per step: RSS when it starts, the peak while it runs, the
peak above its start (its working memory), and the frame's size. The steps are ingest, each
stage, the writers, and the manifest with the reports. `build_scale.py` gives the whole
build's peak against the file size; this says which step to look at.

Usage: python benchmarks/build_memory.py [FILE]   (default: the Alpaca x20 file of build_scale.py)
"""

from __future__ import annotations

import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from curate.cli.memory import tune_allocators

tune_allocators()  # as `curate build` does, before polars loads
# ruff: noqa: E402  (the imports below load polars)
from build_scale import DATA, make_scaled  # benchmarks/ is on sys.path when run as a script

from curate import cli
from curate.cli.commands import build as build_command
from curate.engines import local as pipeline
from curate.output import manifest as manifest_module
from curate.output import writers


def rss_mb(field: str = "VmRSS") -> int:
    """``field`` of /proc/self/status in MB: VmRSS, or its part RssFile (mapped files)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) // 1024
    return 0


class Sampler:
    """The highest RSS seen since the last ``reset``."""

    def __init__(self) -> None:
        self.peak = rss_mb()
        self._lock = threading.Lock()
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self) -> None:
        while True:
            with self._lock:
                self.peak = max(self.peak, rss_mb())
            time.sleep(0.01)

    def reset(self) -> None:
        with self._lock:
            self.peak = rss_mb()


SAMPLER = Sampler()
ROWS: list[tuple[str, int, int, int, str]] = []


@contextmanager
def step(name: str, frame_size: Callable[[], str] = lambda: "") -> Iterator[None]:
    start = rss_mb()
    SAMPLER.reset()
    yield
    time.sleep(0.03)  # let the sampler see the end of the step
    ROWS.append((name, start, SAMPLER.peak, rss_mb(), frame_size()))


def _frame_mb(frame: Any) -> str:
    return f"{frame.estimated_size() / 1e6:,.0f}"


def _measured(
    call: Callable[..., Any], name: str, frame_of: Callable[[Any], Any] | None
) -> Callable[..., Any]:
    """``call`` run inside ``step(name)``; ``frame_of`` finds the frame in what it returns."""

    def measured(*args: Any, **kwargs: Any) -> Any:
        result: list[Any] = []
        size = (lambda: _frame_mb(frame_of(result[0]))) if frame_of else (lambda: "")
        with step(name, size):
            result.append(call(*args, **kwargs))
        return result[0]

    return measured


def instrument() -> None:
    """Measure ingest, every stage, the writers, the manifest and the reports."""
    pipeline.ingest = _measured(pipeline.ingest, "ingest", lambda result: result[0])  # type: ignore[assignment]
    pipeline.STAGES[:] = [
        (name, _measured(stage, name, lambda frame: frame)) for name, stage in pipeline.STAGES
    ]
    for owner, attribute, name in (
        (writers, "write_build", "write"),
        (manifest_module, "build_manifest", "manifest"),
        (build_command, "_write_reports", "reports"),
    ):
        setattr(owner, attribute, _measured(getattr(owner, attribute), name, None))


def main() -> int:
    if len(sys.argv) < 2 and not DATA.exists():
        print(f"skip: {DATA} is absent (the shared datasets are not on this machine)")
        return 0
    path = Path(sys.argv[1]) if len(sys.argv) > 1 else make_scaled(20)
    size_mb = path.stat().st_size / 1e6
    imported = rss_mb()
    instrument()
    with tempfile.TemporaryDirectory() as tmp:
        code = cli.main(["build", "--input", str(path), "--out", f"{tmp}/build"])
    if code:
        return code
    print(f"file: {path.name}  {size_mb:,.0f} MB; RSS after imports {imported} MB")
    print(f"{'step':18s} {'start':>7s} {'peak':>7s} {'+work':>7s} {'end':>7s} {'frame':>7s}  (MB)")
    for name, start, peak, end, frame in ROWS:
        print(f"{name:18s} {start:7d} {peak:7d} {peak - start:7d} {end:7d} {frame:>7s}")
    overall = max(row[2] for row in ROWS)
    print(f"peak RSS {overall:,} MB = {overall / size_mb:.2f}x the file (target <= 2x)")
    # Pages of the shared libraries (numba's LLVM, polars) count in RSS as far as the kernel has
    # mapped them: right after the imports, 89 MB in some runs and 192 MB in others on this machine.
    print(f"mapped files at the end: {rss_mb('RssFile')} MB of RSS")
    return 0


if __name__ == "__main__":
    sys.exit(main())
