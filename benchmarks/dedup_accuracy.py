"""Near-dup accuracy on a labelled set planted into real Alpaca rows, against datasketch as its
docs show it (word 5-grams, MinHashLSH threshold 0.8, 128 permutations) in the same run.

Recall: planted variants that end up in their original's group. False grouping: rows outside
every planted pair that end up in any group (Alpaca's own near-duplicates count against us).

    .venv/bin/python benchmarks/dedup_accuracy.py                  # all 52,002 rows, 5% planted
    .venv/bin/python benchmarks/dedup_accuracy.py --rows 5000 --set threshold=0.6 --set shingle=2
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "dedup"))

from datasketch_documented import signatures_and_index  # noqa: E402
from dedup_plants import ALPACA, Planted, load_alpaca, plant, write_jsonl  # noqa: E402

from curate.core.config import load_config  # noqa: E402
from curate.core.context import BuildContext  # noqa: E402
from curate.core.frame import text_expr  # noqa: E402
from curate.ingest.inputs import InputSpec, ingest  # noqa: E402
from curate.stages.dedup import exact as exact_dedup  # noqa: E402
from curate.stages.dedup import near as near_dedup  # noqa: E402


def run_stage(planted: Planted, dedup: dict[str, object]) -> tuple[pl.DataFrame, float, BuildContext]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "planted.jsonl"
        write_jsonl(planted.records, path)
        frame, _ = ingest([InputSpec(str(path), "input")], 16_000_000)
        # Inside: ingest leaves the example text in the file, and the stages read it back.
        ctx = BuildContext(config=load_config(None, {"dedup": dedup}))
        frame = exact_dedup.run(frame, ctx)
        started = time.perf_counter()
        frame = near_dedup.run(frame, ctx)
        return frame, time.perf_counter() - started, ctx


def score(planted: Planted, groups: np.ndarray) -> dict[str, object]:
    """``groups``: a group label per record, -1 where ungrouped (records are in file order)."""
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for variant, original, kind in planted.pairs:
        total[kind] += 1
        caught[kind] += int(groups[variant] >= 0 and groups[variant] == groups[original])
    unplanted = np.ones(len(groups), dtype=bool)
    unplanted[list(planted.planted)] = False
    grouped = int((groups[unplanted] >= 0).sum())
    return {
        "recall": sum(caught.values()) / max(1, sum(total.values())),
        "by_kind": {k: f"{caught[k]}/{total[k]}" for k in sorted(total)},
        "unplanted_grouped": grouped,
        "unplanted_grouped_rate": grouped / max(1, int(unplanted.sum())),
    }


def datasketch_groups(frame: pl.DataFrame, lower: bool) -> tuple[np.ndarray, float]:
    """The documented datasketch recipe; groups are the LSH query hits, joined by union-find.
    ``lower``: lower-case the text first (the docs do not; it is the fairer comparison)."""
    text = text_expr("all").fill_null("")
    texts = frame.select(text.str.to_lowercase() if lower else text).to_series().to_list()
    started = time.perf_counter()
    hashes, lsh = signatures_and_index(texts)
    parent = list(range(len(texts)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for i, signature in enumerate(hashes):
        for hit in lsh.query(signature):
            parent[root(i)] = root(int(hit))
        lsh.insert(str(i), signature)
    elapsed = time.perf_counter() - started
    roots = np.array([root(i) for i in range(len(texts))])
    size = np.bincount(roots, minlength=len(texts))
    return np.where(size[roots] > 1, roots, -1), elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rows", type=int, default=None, help="Alpaca rows to use (default: all)")
    parser.add_argument("--fraction", type=float, default=0.05, help="share of rows copied as a variant")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a [dedup] setting")
    parser.add_argument("--no-baseline", action="store_true", help="skip the datasketch baseline")
    args = parser.parse_args()
    if not ALPACA.is_file():
        print(f"skipped: {ALPACA} is absent (the shared data folder)")
        return 0
    dedup: dict[str, object] = {}
    for item in args.set:
        key, _, value = item.partition("=")
        if value in ("true", "false"):
            dedup[key] = value == "true"
        else:
            dedup[key] = value if key == "text" else (float(value) if "." in value else int(value))
    planted = plant(load_alpaca(args.rows), args.fraction, args.seed)
    frame, elapsed, ctx = run_stage(planted, dedup)
    ours = score(planted, (frame["cluster_id"].rank("dense").cast(pl.Int64).fill_null(0) - 1).to_numpy())
    print(
        f"rows {len(planted.records):,}  planted pairs {len(planted.pairs):,}  settings {dedup or 'defaults'}"
    )
    print(f"chatcurate near_dedup: {ours}  stage {elapsed:.2f}s")
    print(
        f"  findings: { {k: v for k, v in ctx.findings['near_dedup'].items() if k != 'conflicting_answers'} }"
    )
    if not args.no_baseline:
        for lower in (False, True):
            groups, baseline = datasketch_groups(frame, lower)
            label = "datasketch on lower-cased text" if lower else "datasketch as documented"
            print(f"{label} (5-grams, 0.8, 128): {score(planted, groups)}  {baseline:.2f}s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
