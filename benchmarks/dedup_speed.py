"""Near-dup stage speed on Alpaca-52k against datasketch as documented, measured in one run.

Baseline (named ``datasketch``): word 5-gram shingles of all turns, ``MinHash.bulk`` with 128
permutations, ``MinHashLSH(threshold=0.8, num_perm=128)``, query then insert per record. Both
start from the same frame (text decoded from the example column), so the ratio compares the
whole work of finding near-duplicates. Timings on a shared machine are noisy: each side runs
``--repeat`` times, alternating, and the best of each is compared. Both wall time and CPU time
are printed: the stage runs its batches on worker threads (one per core, at most four), so on
several cores its wall time is below its CPU time, while datasketch uses one core. The first
run of the stage in a process also loads numba's cached machine code (a few tenths of a second).

    .venv/bin/python benchmarks/dedup_speed.py
    .venv/bin/python benchmarks/dedup_speed.py --scale 20     # ~1.04 M rows: time and memory only
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import threading
import time
from pathlib import Path

import polars as pl

ROOT = Path(__file__).resolve().parents[1]
ALPACA = ROOT / ".." / "shared" / "data" / "alpaca.jsonl"
sys.path.insert(0, str(ROOT))

from datasketch_documented import signatures_and_index  # noqa: E402

from curate.core.config import load_config  # noqa: E402
from curate.core.context import BuildContext  # noqa: E402
from curate.core.frame import text_expr  # noqa: E402
from curate.ingest.inputs import InputSpec, ingest  # noqa: E402
from curate.stages.dedup import exact as exact_dedup  # noqa: E402
from curate.stages.dedup import near as near_dedup  # noqa: E402


def rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


class PeakRss:
    """Samples the resident set while a block runs, so the stage's own peak can be reported."""

    def __enter__(self) -> PeakRss:
        self.start = rss_mb()
        self.peak = self.start
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, rss_mb())

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())


def scaled(frame: pl.DataFrame, copies: int) -> pl.DataFrame:
    """``copies`` copies of the frame, each copy's prompt edited (a number prepended to the
    first user turn's text in the example JSON) so rows differ, as in the foundation benchmark."""
    parts = [frame]
    for copy in range(1, copies):
        edited = pl.col("example").str.replace('"content":"', f'"content":"({copy}) ', literal=True)
        parts.append(frame.with_columns(example=edited, dedup_key=pl.col("dedup_key") + copy))
    return pl.concat(parts)


def run_ours(frame: pl.DataFrame) -> tuple[float, float, pl.DataFrame, BuildContext]:
    ctx = BuildContext(config=load_config(None))
    started, cpu = time.perf_counter(), time.process_time()
    out = near_dedup.run(frame, ctx)
    return time.perf_counter() - started, time.process_time() - cpu, out, ctx


def run_datasketch(frame: pl.DataFrame) -> tuple[float, float, int]:
    started, cpu = time.perf_counter(), time.process_time()
    usable = frame.filter(pl.col("status") == "ok")
    texts = usable.select(text_expr("all").fill_null("")).to_series().to_list()
    signatures, lsh = signatures_and_index(texts)
    duplicates = 0
    for key, signature in enumerate(signatures):
        if lsh.query(signature):
            duplicates += 1
        lsh.insert(key, signature)
    return time.perf_counter() - started, time.process_time() - cpu, duplicates


def rounded(times: list[float]) -> list[float]:
    return [round(t, 2) for t in times]


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--scale", type=int, default=1, help="copies of Alpaca (20: ~1.04 M rows, ours only)")
    args = parser.parse_args()
    if not ALPACA.is_file():
        print(f"skipped: {ALPACA} is absent (the shared data folder)")
        return 0
    frame, _ = ingest([InputSpec(str(ALPACA), "input")], 16_000_000)
    frame = scaled(frame, args.scale) if args.scale > 1 else frame
    frame = exact_dedup.run(frame, BuildContext(config=load_config(None)))
    print(f"rows {frame.height:,}  usable {frame.filter(pl.col('status') == 'ok').height:,}")
    if args.scale > 1:
        size = ALPACA.stat().st_size * args.scale / 2**20
        with PeakRss() as memory:
            elapsed, _, out, ctx = run_ours(frame)
        findings = {k: v for k, v in ctx.findings["near_dedup"].items() if k != "conflicting_answers"}
        print(f"chatcurate near_dedup: {elapsed:.1f}s  {findings}")
        print(
            f"memory: RSS before the stage {memory.start:,.0f} MB, peak during it {memory.peak:,.0f} MB "
            f"(stage working memory {memory.peak - memory.start:,.0f} MB); input ~{size:,.0f} MB; "
            f"process peak {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:,.0f} MB"
        )
        return 0
    ours: list[float] = []
    baseline: list[float] = []
    ours_cpu: list[float] = []
    baseline_cpu: list[float] = []
    for _ in range(args.repeat):
        elapsed, cpu, out, ctx = run_ours(frame)
        ours.append(elapsed)
        ours_cpu.append(cpu)
        elapsed, cpu, duplicates = run_datasketch(frame)
        baseline.append(elapsed)
        baseline_cpu.append(cpu)
    rejected = ctx.findings["near_dedup"]["rejected_near"]
    print(f"chatcurate near_dedup: wall {rounded(ours)} s, CPU {rounded(ours_cpu)} s; rejected {rejected}")
    print(
        f"datasketch (baseline): wall {rounded(baseline)} s, CPU {rounded(baseline_cpu)} s; hits {duplicates}"
    )
    print(f"speed-up vs datasketch (best of each): wall {min(baseline) / min(ours):.1f}x", end="")
    print(f", CPU time {min(baseline_cpu) / min(ours_cpu):.1f}x (our CPU time counts every polars thread)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
