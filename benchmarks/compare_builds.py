"""Are two build folders the same build? For changes that must not change what a build writes.

Compares the JSONL files byte for byte, ``examples.parquet`` value for value (columns in the same
order, the same dtypes, exact floats), and ``manifest.json`` without what differs between any
two runs (timings, the output folder, package versions). Prints ``identical`` or each
difference, and exits 1 on a difference.

Usage: python benchmarks/compare_builds.py BUILD_A BUILD_B
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import orjson
import polars as pl
from polars.testing import assert_frame_equal

JSONL_FILES = ("train.jsonl", "eval.jsonl", "general_eval.jsonl", "rejected.jsonl")
RUN_DEPENDENT_KEYS = ("timings", "versions", "created_at", "platform")


def _manifest(folder: Path) -> dict[str, Any]:
    manifest: dict[str, Any] = orjson.loads((folder / "manifest.json").read_bytes())
    for key in RUN_DEPENDENT_KEYS:
        manifest.pop(key, None)
    return manifest


def differences(a: Path, b: Path) -> list[str]:
    found: list[str] = []
    for name in JSONL_FILES:
        first, second = a / name, b / name
        if first.exists() != second.exists():
            found.append(f"{name}: present in only one build")
        elif first.exists() and first.read_bytes() != second.read_bytes():
            found.append(f"{name}: bytes differ")
    try:
        assert_frame_equal(
            pl.read_parquet(a / "examples.parquet"), pl.read_parquet(b / "examples.parquet"), check_exact=True
        )
    except AssertionError as error:
        found.append(f"examples.parquet: {str(error).splitlines()[0]}")
    manifest_a, manifest_b = _manifest(a), _manifest(b)
    for key in sorted(set(manifest_a) | set(manifest_b)):
        if manifest_a.get(key) != manifest_b.get(key):
            found.append(f"manifest.json: {key!r} differs")
    return found


def main() -> int:
    if len(sys.argv) != 3:
        print(__doc__)
        return 2
    found = differences(Path(sys.argv[1]), Path(sys.argv[2]))
    for line in found:
        print(line)
    if not found:
        print("identical")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
