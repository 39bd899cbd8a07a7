"""The least time any `curate build` of Alpaca x20 can take here: the parts no curation avoids.

build_scale.py's target is a build within 4x a bare orjson parse of the input. This measures, in
the same run, what a build must do whatever its stages do, each part on its own:

- start the interpreter and import the pipeline and the writers;
- parse every input line (the baseline itself: validation has to read each record once);
- write the build folder's files that DESIGN.md asks for, from data already in memory:
  examples.parquet (every row of the frame, its example text included, compressed as the
  build writes it) and the JSONL files (train, eval, rejected: each record with its reasons).

Their sum is a floor, not an estimate of a good build: it leaves out validation, dedup,
quality, leakage and the reports. It needs a finished build folder of the same file, which it
makes with `curate build` unless one is given.

Usage: python benchmarks/build_floor.py [--build DIR]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson
import polars as pl
from build_scale import DATA, bare_parse_seconds, make_scaled  # benchmarks/ is on sys.path as a script

JSONL_FILES = ("train.jsonl", "eval.jsonl", "rejected.jsonl")


def import_seconds() -> float:
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import curate.engines.local, curate.output.writers"], check=True)
    return time.perf_counter() - started


def parquet_write_seconds(build: Path, out: Path) -> float:
    """examples.parquet written from memory with the build's own settings (curate/output/writers.py)."""
    frame = pl.read_parquet(build / "examples.parquet")
    started = time.perf_counter()
    frame.write_parquet(out / "examples.parquet", compression="zstd", compression_level=1, statistics=True)
    return time.perf_counter() - started


def jsonl_write_seconds(build: Path, out: Path) -> float:
    """The JSONL files' bytes written from memory: less than building their lines."""
    contents = {name: (build / name).read_bytes() for name in JSONL_FILES if (build / name).exists()}
    started = time.perf_counter()
    for name, data in contents.items():
        (out / name).write_bytes(data)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--build", type=Path, help="a finished build folder of the Alpaca x20 file")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skip: {DATA} is absent (the shared datasets are not on this machine)")
        return 0
    path = make_scaled(20)
    with tempfile.TemporaryDirectory() as tmp:
        build = args.build
        if build is None:
            build = Path(tmp) / "build"
            command = [sys.executable, "-m", "curate.cli", "build", "--input", str(path), "--out", str(build)]
            subprocess.run(command, check=True, capture_output=True)
        out = Path(tmp) / "rewrite"
        out.mkdir()
        parse = min(bare_parse_seconds(path) for _ in range(2))
        parts = {
            "interpreter and imports": min(import_seconds() for _ in range(2)),
            "bare orjson parse": parse,
            "write examples.parquet": min(parquet_write_seconds(build, out) for _ in range(2)),
            "write the JSONL files": min(jsonl_write_seconds(build, out) for _ in range(2)),
        }
        manifest = orjson.loads((build / "manifest.json").read_bytes())
    print(f"file: {path.name}  {path.stat().st_size / 1e6:,.0f} MB")
    for name, seconds in parts.items():
        print(f"{name:26s} {seconds:6.2f} s  {seconds / parse:5.2f}x the parse")
    floor = sum(parts.values())
    print(f"{'floor (their sum)':26s} {floor:6.2f} s  {floor / parse:5.2f}x the parse  (target <= 4x)")
    build_seconds = sum(manifest["timings"].values())
    print(
        f"the build's own stages   {build_seconds:6.2f} s  {build_seconds / parse:5.2f}x (manifest timings)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
