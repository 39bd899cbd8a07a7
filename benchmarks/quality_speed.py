"""Quality stage speed on real data (Alpaca, 52,002 records, or any chat JSONL given).

Baseline, measured in the same run on the same frame: decoding every example's text with
curate.core.frame.text_expr("all"), the floor any stage that reads message text pays. Prints the
quality stage's time as a ratio to it, best of --repeat runs each, interleaved so machine load
hits both alike. The examples are read into the frame first (ingest leaves them in the input
files), so both sides time the work on text, not reading it back.

Usage: python benchmarks/quality_speed.py [--data PATH] [--repeat 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT = ROOT.parent / "shared" / "data" / "alpaca.jsonl"


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DEFAULT)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    if not args.data.exists():
        print(f"skipped: {args.data} is absent (the shared real datasets are not on this machine)")
        return 0
    sys.path.insert(0, str(ROOT))
    from curate.core.config import load_config
    from curate.core.context import BuildContext
    from curate.core.frame import text_expr
    from curate.ingest.inputs import InputSpec, ingest
    from curate.ingest.store import with_examples
    from curate.stages.quality import stage as quality

    frame, _ = ingest([InputSpec(str(args.data), "input", None)], 16_000_000)
    frame = with_examples(frame)
    decode, stage = [], []
    findings: dict[str, object] = {}
    for _ in range(args.repeat):
        started = time.perf_counter()
        frame.select(text_expr("all"))
        decode.append(time.perf_counter() - started)
        ctx = BuildContext(load_config(None))
        started = time.perf_counter()
        quality.run(frame, ctx)
        stage.append(time.perf_counter() - started)
        findings = ctx.findings["quality"]
    base, ours = min(decode), min(stage)
    print(f"data: {args.data} ({frame.height:,} records)")
    print(f"baseline  decode text_expr('all'): {base:6.2f} s")
    print(f"quality   stage (12 signals, score, flags): {ours:6.2f} s  = {ours / base:.1f}x baseline")
    print(f"          {frame.height / ours:,.0f} records/s")
    flags = findings["flags"]
    assert isinstance(flags, dict)
    print("flags:", ", ".join(f"{code.removeprefix('quality.')} {v['count']}" for code, v in flags.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
