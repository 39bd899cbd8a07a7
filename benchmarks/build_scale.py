"""Foundation benchmark: Alpaca x20 (1.04 M records, ~490 MB) through the full `curate build`.

Baseline, measured in the same run: a bare orjson parse of every line of the same file.
Prints the build time as a ratio to that parse, and the build's peak RSS as a ratio to the
file size. Targets: at most 4x the parse time; peak RSS at most 2x the file size.

Usage: python benchmarks/build_scale.py [--copies 20] [--keep]
"""

from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "alpaca.jsonl"
CACHE = ROOT / "benchmarks" / ".cache"


def make_scaled(copies: int) -> Path:
    """Alpaca repeated ``copies`` times, each copy's prompts edited so that rows differ."""
    target = CACHE / f"alpaca_x{copies}.jsonl"
    if target.exists():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    rows = [orjson.loads(line) for line in DATA.read_bytes().splitlines() if line.strip()]
    tmp = target.with_suffix(".tmp")
    with tmp.open("wb") as out:
        for copy in range(copies):
            for row in rows:
                edited = dict(row)
                messages = [dict(m) for m in row["messages"]]
                if copy:
                    messages[0]["content"] = f"(variant {copy}) {messages[0]['content']}"
                edited["messages"] = messages
                edited["id"] = f"{row['id']}-{copy}"
                out.write(orjson.dumps(edited) + b"\n")
    tmp.rename(target)
    return target


def bare_parse_seconds(path: Path) -> float:
    started = time.perf_counter()
    with path.open("rb") as handle:
        for line in handle:
            orjson.loads(line)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--copies", type=int, default=20)
    parser.add_argument("--args", default="", help="extra arguments for curate build")
    args = parser.parse_args()
    if not DATA.exists():
        print(f"skip: {DATA} is absent (the shared datasets are not on this machine)")
        return 0
    path = make_scaled(args.copies)
    size = path.stat().st_size
    lines = sum(1 for _ in path.open("rb"))
    parse = min(bare_parse_seconds(path) for _ in range(2))
    with tempfile.TemporaryDirectory() as tmp:
        command = [
            sys.executable,
            "-m",
            "curate.cli",
            "build",
            "--input",
            str(path),
            "--out",
            f"{tmp}/build",
            *args.args.split(),
        ]
        started = time.perf_counter()
        result = subprocess.run(command, capture_output=True, text=True, env={**os.environ, "COLUMNS": "120"})
        build = time.perf_counter() - started
        if result.returncode != 0:
            print(result.stdout, result.stderr)
            return 1
        manifest = orjson.loads(Path(f"{tmp}/build/manifest.json").read_bytes())
    # ru_maxrss of children is the largest child: the build process (its workers are smaller).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
    print(f"file: {path.name}  {lines:,} records  {size / 1e6:,.0f} MB")
    print(f"baseline orjson parse: {parse:.2f} s")
    print(f"curate build:          {build:.2f} s   ratio {build / parse:.1f}x  (target <= 4x)")
    print(f"peak RSS:              {peak / 1e6:,.0f} MB  ratio {peak / size:.2f}x file size  (target <= 2x)")
    print("stage timings (s):", {k: round(v, 2) for k, v in manifest["timings"].items()})
    print("counts:", manifest["counts"]["by_status"])
    return 0


if __name__ == "__main__":
    sys.exit(main())
